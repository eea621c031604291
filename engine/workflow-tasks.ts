import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import type { ExecutionRow } from './executions.js';
import { deleteRunWork } from './executions.js';
import { InvalidArgumentError, StaleTaskError } from './errors.js';
import { appendEvents, readUnseenHistory, type NewEvent } from './history.js';
import type { Logger } from './logger.js';
import {
  assertNever,
  type EventType,
  type PendingEvent,
  type WorkflowCommand,
  type WorkflowTask,
  type WorkflowTaskCompletion,
  type WorkflowTaskCompletionResult,
  type WorkflowTaskFailure,
} from './protocol/index.js';
import { decodeWorkflowTaskToken, encodeWorkflowTaskToken } from './task-token.js';
import { payloadJson, validatePayload } from './validation.js';
import { CHANNELS } from './wakeups.js';

export interface WorkflowTaskSettings {
  /** How long a worker may hold a workflow task before another may take it. */
  readonly workflowTaskTimeoutMs: number;
}

/**
 * Claims up to `max` pending workflow tasks of a queue.
 *
 * Two statements in one transaction, on purpose. The first locks and leases the task rows
 * (SKIP LOCKED, so concurrent pollers never wait on each other or take the same task). The
 * second reads the runs' inboxes with a fresh snapshot taken after those locks were
 * granted, so it sees every event whose producer committed before the lease; any producer
 * that commits later finds the row running and marks it dirty. Reading the inbox in the
 * first statement would use a snapshot from before the lock wait and could miss an event
 * while also clearing `dirty`: a lost wake-up.
 */
export async function claimWorkflowTasks(
  db: Kysely<Database>,
  log: Logger,
  settings: WorkflowTaskSettings,
  namespace: string,
  taskQueue: string,
  max: number,
  identity: string,
): Promise<WorkflowTask[]> {
  return db.transaction().execute(async (trx) => {
    const { rows: claimed } = await sql<{ run_id: string; lease_id: string; attempt: number; now_ms: string }>`
      WITH c AS MATERIALIZED (
        SELECT run_id FROM chronicle.workflow_tasks
        WHERE namespace = ${namespace} AND task_queue = ${taskQueue} AND status = 'pending' AND visible_at <= now()
        ORDER BY visible_at
        LIMIT ${max}
        FOR UPDATE SKIP LOCKED
      )
      UPDATE chronicle.workflow_tasks t
      SET status = 'running', lease_id = gen_random_uuid(), dirty = false, identity = ${identity},
          lease_expires_at = now() + make_interval(secs => ${settings.workflowTaskTimeoutMs / 1000})
      FROM c WHERE t.run_id = c.run_id
      RETURNING t.run_id, t.lease_id, t.attempt, (extract(epoch FROM now()) * 1000)::bigint AS now_ms`.execute(trx);
    if (claimed.length === 0) return [];
    const runIds = claimed.map((c) => c.run_id);

    const { rows: inbox } = await sql<{ id: string; run_id: string; event_type: EventType; attributes: unknown }>`
      WITH ib AS (
        SELECT id, run_id, event_type, attributes FROM chronicle.workflow_inbox WHERE run_id = ANY(${runIds}::uuid[])
      ), mark AS (
        UPDATE chronicle.workflow_tasks t
        SET claimed_inbox_ids = coalesce((SELECT array_agg(ib.id ORDER BY ib.id) FROM ib WHERE ib.run_id = t.run_id), '{}')
        WHERE t.run_id = ANY(${runIds}::uuid[])
      )
      SELECT * FROM ib ORDER BY id`.execute(trx);

    const execs = (await trx.selectFrom('chronicle.executions').selectAll().where('run_id', 'in', runIds).execute()) as ExecutionRow[];
    const byRun = new Map(execs.map((e) => [e.run_id, e]));
    const unseen = await readUnseenHistory(trx, runIds);

    const tasks: WorkflowTask[] = [];
    for (const c of claimed) {
      const ex = byRun.get(c.run_id);
      if (!ex || ex.status !== 'RUNNING') {
        // Closing a run deletes its task in the same transaction, so this means a bug
        // elsewhere; drop the orphan rather than hand a closed run to a worker.
        log.error('dropping workflow task of a run that is not running', { runId: c.run_id, status: ex?.status });
        await deleteRunWork(trx, c.run_id);
        continue;
      }
      const pending: PendingEvent[] = inbox
        .filter((i) => i.run_id === c.run_id)
        .map((i) => ({ eventType: i.event_type, attributes: i.attributes }) as PendingEvent);
      tasks.push({
        taskToken: encodeWorkflowTaskToken({ runId: c.run_id, leaseId: c.lease_id }),
        namespace: ex.namespace,
        workflowId: ex.workflow_id,
        runId: ex.run_id,
        workflowType: ex.workflow_type,
        taskQueue: ex.task_queue,
        attempt: c.attempt,
        startedAt: Number(c.now_ms),
        previousCompletedEventId: ex.last_completed_event_id,
        historyLength: ex.next_event_id - 1,
        events: [...(unseen.get(c.run_id) ?? []), ...pending],
      });
    }
    return tasks;
  });
}

interface LockedTask {
  ex: ExecutionRow;
  task: { dirty: boolean; claimed_inbox_ids: string[] | null; attempt: number; namespace: string; task_queue: string };
  nowMs: number;
}

/** Locks the run, then its task (the global lock order), and checks the token's lease. */
async function lockClaimedTask(trx: Transaction<Database>, taskToken: string): Promise<LockedTask> {
  const { runId, leaseId } = decodeWorkflowTaskToken(taskToken);
  const { rows: exRows } = await sql<ExecutionRow & { now_ms: string }>`
    SELECT *, (extract(epoch FROM now()) * 1000)::bigint AS now_ms
    FROM chronicle.executions WHERE run_id = ${runId} FOR NO KEY UPDATE`.execute(trx);
  const ex = exRows[0];
  if (!ex) throw new StaleTaskError(taskToken, 'the run does not exist');
  const { rows } = await sql<LockedTask['task'] & { lease_id: string | null; status: string }>`
    SELECT status, lease_id, dirty, claimed_inbox_ids, attempt, namespace, task_queue
    FROM chronicle.workflow_tasks WHERE run_id = ${runId} FOR UPDATE`.execute(trx);
  const task = rows[0];
  if (ex.status !== 'RUNNING') throw new StaleTaskError(taskToken, `the run is ${ex.status}`);
  if (!task || task.status !== 'running' || task.lease_id !== leaseId) {
    throw new StaleTaskError(taskToken, 'the lease expired or the task was already completed');
  }
  return { ex, task, nowMs: Number(ex.now_ms) };
}

/**
 * Completes a workflow task in one transaction: the inbox events the task saw, then one
 * event per command, then WorkflowTaskCompleted, all appended at the run's next_event_id
 * under its row lock; plus the activity tasks and timers the commands ask for, and the
 * run's close when a command ends it. Either all of it is written or none.
 */
export async function completeWorkflowTask(
  db: Kysely<Database>,
  taskToken: string,
  completion: WorkflowTaskCompletion,
): Promise<WorkflowTaskCompletionResult> {
  return db.transaction().execute(async (trx) => {
    const { ex, task, nowMs } = await lockClaimedTask(trx, taskToken);
    const runId = ex.run_id;

    const inboxIds = task.claimed_inbox_ids ?? [];
    const { rows: seen } = inboxIds.length
      ? await sql<{ id: string; event_type: EventType; attributes: unknown }>`
          DELETE FROM chronicle.workflow_inbox WHERE id = ANY(${inboxIds}::bigint[])
          RETURNING id, event_type, attributes`.execute(trx)
      : { rows: [] };
    seen.sort((a, b) => Number(a.id) - Number(b.id));

    const events: NewEvent[] = seen.map((r) => ({ eventType: r.event_type, attributes: r.attributes }) as NewEvent);
    const activities: ActivityRow[] = [];
    const timers: { seq: number; fireAtMs: number }[] = [];
    const canceledTimers: number[] = [];
    let close: { status: string; result?: unknown; failure?: unknown } | undefined;

    for (const [i, cmd] of completion.commands.entries()) {
      if (close) throw new InvalidArgumentError(`commands[${i}]`, `follows a command that closes the run (${close.status}); a workflow ends with its last command`);
      const event = commandToEvent(cmd, i, nowMs, ex);
      events.push(event);
      switch (cmd.kind) {
        case 'ScheduleActivity':
          activities.push({ cmd, taskQueue: cmd.taskQueue ?? ex.task_queue });
          break;
        case 'StartTimer':
          timers.push({ seq: cmd.seq, fireAtMs: (event.attributes as { fireAt: number }).fireAt });
          break;
        case 'CancelTimer':
          canceledTimers.push(cmd.seq);
          break;
        case 'CompleteWorkflow':
          close = { status: 'COMPLETED', result: cmd.result };
          break;
        case 'FailWorkflow':
          close = { status: 'FAILED', failure: cmd.failure };
          break;
        case 'CancelWorkflow':
          close = { status: 'CANCELLED', result: cmd.details };
          break;
        default:
          assertNever(cmd, 'workflow command');
      }
    }
    events.push({
      eventType: 'WorkflowTaskCompleted',
      attributes: { workflowTime: completion.workflowTime, identity: completion.identity, attempt: task.attempt },
    });

    const first = ex.next_event_id;
    const completedEventId = first + events.length - 1;
    await appendEvents(trx, runId, first, events);

    if (close) {
      await sql`
        UPDATE chronicle.executions
        SET next_event_id = ${completedEventId + 1}, last_completed_event_id = ${completedEventId},
            status = ${close.status}, result = ${close.result === undefined ? null : payloadJson(close.result)}::jsonb,
            failure = ${close.failure === undefined ? null : JSON.stringify(close.failure)}::jsonb, closed_at = now()
        WHERE run_id = ${runId}`.execute(trx);
      await deleteRunWork(trx, runId);
      await sql`SELECT pg_notify(${CHANNELS.runClosed}, ${runId})`.execute(trx);
      return { completedEventId, closed: true };
    }

    await insertActivities(trx, ex, activities);
    if (timers.length) {
      await sql`
        INSERT INTO chronicle.timers (run_id, seq, namespace, workflow_task_queue, fire_at)
        SELECT ${runId}, s, ${ex.namespace}, ${ex.task_queue}, to_timestamp(f / 1000.0)
        FROM unnest(${timers.map((t) => t.seq)}::int[], ${timers.map((t) => t.fireAtMs)}::float8[]) AS x(s, f)`.execute(trx);
      const soonest = Math.min(...timers.map((t) => t.fireAtMs));
      await sql`SELECT pg_notify(${CHANNELS.timer}, ${String(soonest)})`.execute(trx);
    }
    if (canceledTimers.length) {
      await sql`DELETE FROM chronicle.timers WHERE run_id = ${runId} AND seq = ANY(${canceledTimers}::int[])`.execute(trx);
    }
    // A producer that delivered while this task was in flight marked it dirty: leave a new
    // task behind for what it delivered. Otherwise the run waits with no task.
    await sql`
      WITH upd AS (
        UPDATE chronicle.executions SET next_event_id = ${completedEventId + 1}, last_completed_event_id = ${completedEventId}
        WHERE run_id = ${runId}
      ), del AS (
        DELETE FROM chronicle.workflow_tasks WHERE run_id = ${runId} AND NOT ${task.dirty}
      ), again AS (
        UPDATE chronicle.workflow_tasks
        SET status = 'pending', visible_at = now(), attempt = 1, lease_id = NULL, lease_expires_at = NULL,
            dirty = false, claimed_inbox_ids = NULL, last_failure = NULL
        WHERE run_id = ${runId} AND ${task.dirty}
        RETURNING namespace, task_queue
      )
      SELECT count(pg_notify(${CHANNELS.workflowTask}, namespace || '/' || task_queue)) FROM again`.execute(trx);
    return { completedEventId, closed: false };
  });
}

interface ActivityRow {
  cmd: Extract<WorkflowCommand, { kind: 'ScheduleActivity' }>;
  taskQueue: string;
}

async function insertActivities(trx: Transaction<Database>, ex: ExecutionRow, activities: readonly ActivityRow[]): Promise<void> {
  if (activities.length === 0) return;
  const rows = activities.map(({ cmd, taskQueue }) => ({
    seq: cmd.seq,
    activity_type: cmd.activityType,
    task_queue: taskQueue,
    args: cmd.args,
    priority: cmd.options.priority,
    start_to_close_ms: cmd.options.startToCloseTimeoutMs,
    heartbeat_timeout_ms: cmd.options.heartbeatTimeoutMs ?? null,
    schedule_to_close_ms: cmd.options.scheduleToCloseTimeoutMs ?? null,
    retry_policy: cmd.options.retry,
  }));
  // One INSERT for the whole fan-out, from a JSON array: a Promise.all of 50 activities
  // costs one round trip, not 50.
  await sql`
    INSERT INTO chronicle.activity_tasks
      (namespace, run_id, seq, workflow_id, workflow_type, workflow_task_queue, activity_type, task_queue, args,
       priority, start_to_close_ms, heartbeat_timeout_ms, schedule_to_close_deadline, retry_policy)
    SELECT ${ex.namespace}, ${ex.run_id}, r.seq, ${ex.workflow_id}, ${ex.workflow_type}, ${ex.task_queue}, r.activity_type,
           r.task_queue, r.args, r.priority, r.start_to_close_ms, r.heartbeat_timeout_ms,
           now() + make_interval(secs => r.schedule_to_close_ms / 1000.0), r.retry_policy
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
      seq int, activity_type text, task_queue text, args jsonb, priority smallint, start_to_close_ms int,
      heartbeat_timeout_ms int, schedule_to_close_ms float8, retry_policy jsonb)`.execute(trx);
  const queues = [...new Set(activities.map((a) => `${ex.namespace}/${a.taskQueue}`))];
  await sql`SELECT count(pg_notify(${CHANNELS.activityTask}, q)) FROM unnest(${queues}::text[]) q`.execute(trx);
}

/** The history event a command is recorded as. Validates what the engine must not trust. */
function commandToEvent(cmd: WorkflowCommand, index: number, nowMs: number, ex: ExecutionRow): NewEvent {
  const field = `commands[${index}]`;
  switch (cmd.kind) {
    case 'ScheduleActivity': {
      validatePayload(`${field}.args`, cmd.args);
      const o = cmd.options;
      if (!(o.startToCloseTimeoutMs > 0)) throw new InvalidArgumentError(`${field}.options.startToCloseTimeoutMs`, 'must be a positive number of milliseconds');
      if (!Number.isInteger(o.priority) || o.priority < 0 || o.priority > 100) {
        throw new InvalidArgumentError(`${field}.options.priority`, `must be an integer from 0 to 100, got ${o.priority}`);
      }
      return {
        eventType: 'ActivityTaskScheduled',
        attributes: { seq: cmd.seq, activityType: cmd.activityType, taskQueue: cmd.taskQueue ?? ex.task_queue, args: cmd.args, options: cmd.options },
      };
    }
    case 'StartTimer': {
      const durationMs = Math.max(1, Math.round(cmd.durationMs));
      if (!Number.isFinite(durationMs)) throw new InvalidArgumentError(`${field}.durationMs`, 'must be a finite number');
      // Fire time from the database clock (this transaction's now()), never a worker's.
      return { eventType: 'TimerStarted', attributes: { seq: cmd.seq, durationMs, fireAt: nowMs + durationMs } };
    }
    case 'CancelTimer':
      return { eventType: 'TimerCanceled', attributes: { seq: cmd.seq } };
    case 'CompleteWorkflow':
      validatePayload(`${field}.result`, cmd.result);
      return { eventType: 'WorkflowExecutionCompleted', attributes: { result: cmd.result === undefined ? null : cmd.result } };
    case 'FailWorkflow':
      return { eventType: 'WorkflowExecutionFailed', attributes: { failure: cmd.failure } };
    case 'CancelWorkflow':
      return { eventType: 'WorkflowExecutionCanceled', attributes: cmd.details === undefined ? {} : { details: cmd.details } };
    default:
      return assertNever(cmd, 'workflow command');
  }
}

/** Longest wait before a failing workflow task is retried. */
const MAX_WORKFLOW_TASK_BACKOFF_MS = 60_000;

/**
 * Fails a workflow task: the run stays open and the task is retried after a capped
 * exponential backoff (so a fixed deployment picks it up, and a broken one does not spin).
 * Only the first failure of a streak is recorded in history, as Temporal does, so a run
 * stuck on a bug does not grow its history by one event per retry.
 */
export async function failWorkflowTask(db: Kysely<Database>, taskToken: string, failure: WorkflowTaskFailure): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const { ex, task } = await lockClaimedTask(trx, taskToken);
    if (task.attempt === 1) {
      await appendEvents(trx, ex.run_id, ex.next_event_id, [
        {
          eventType: 'WorkflowTaskFailed',
          attributes: { cause: failure.cause, failure: failure.failure, identity: failure.identity, attempt: task.attempt },
        },
      ]);
      await sql`UPDATE chronicle.executions SET next_event_id = next_event_id + 1 WHERE run_id = ${ex.run_id}`.execute(trx);
    }
    const backoffMs = Math.min(MAX_WORKFLOW_TASK_BACKOFF_MS, 1000 * 2 ** Math.min(task.attempt - 1, 16));
    await sql`
      UPDATE chronicle.workflow_tasks
      SET status = 'pending', attempt = attempt + 1, visible_at = now() + make_interval(secs => ${backoffMs / 1000}),
          lease_id = NULL, lease_expires_at = NULL, dirty = false, claimed_inbox_ids = NULL,
          last_failure = ${JSON.stringify({ cause: failure.cause, message: failure.failure.message })}::jsonb
      WHERE run_id = ${ex.run_id}`.execute(trx);
  });
}

/**
 * Returns workflow tasks whose lease ran out (the worker died or stalled) to the queue as
 * a new attempt. Touches only workflow_tasks rows, so it cannot deadlock with completions,
 * which lock the run first; a completion that arrives after this is rejected as stale.
 */
export async function requeueExpiredWorkflowTasks(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    WITH expired AS (
      UPDATE chronicle.workflow_tasks
      SET status = 'pending', attempt = attempt + 1, visible_at = now(), lease_id = NULL, lease_expires_at = NULL,
          dirty = false, claimed_inbox_ids = NULL
      WHERE run_id IN (
        SELECT run_id FROM chronicle.workflow_tasks
        WHERE status = 'running' AND lease_expires_at < now()
        LIMIT 500 FOR UPDATE SKIP LOCKED)
      RETURNING namespace, task_queue
    )
    SELECT count(*)::int AS n,
           (SELECT count(pg_notify(${CHANNELS.workflowTask}, ns || '/' || q))
              FROM (SELECT DISTINCT namespace ns, task_queue q FROM expired) d) AS notified
    FROM expired`.execute(db);
  return rows[0]?.n ?? 0;
}
