import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import type { ExecutionRow } from './executions.js';
import { StaleTaskError } from './errors.js';
import { appendEvents } from './history.js';
import { retryOnDeadlock } from './deadlock-retry.js';
import { continueAsNewSuggested, defaultLimits, historyLimitsJson, type LimitSettings } from './limits.js';
import { STALE_LEASE_SQLSTATE, toActivityTask, toWorkflowTasks, type EagerActivityRow, type WorkflowTaskClaimRow } from './task-rows.js';
import type { Logger } from './logger.js';
import type { Notification, Notifier } from './notifier.js';
import {
  type WorkflowTask,
  type WorkflowTaskCompletion,
  type WorkflowTaskCompletionResult,
  type WorkflowTaskFailure,
} from './protocol/index.js';
import { decodeWorkflowTaskToken } from './task-token.js';
import { prepareCompletionCommands } from './workflow-commands.js';
import { CHANNELS } from './wakeups.js';

export interface WorkflowTaskSettings {
  /** How long a worker may hold a workflow task before another may take it. */
  readonly workflowTaskTimeoutMs: number;
  /** For `continueAsNewSuggested`; default: defaultLimits(). */
  readonly limits?: LimitSettings;
}

/**
 * Claims up to `max` pending workflow tasks of a queue, one round trip: see
 * chronicle.claim_workflow_tasks (migrations/0002) for the locking and snapshot argument.
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
  const { rows } = await sql<WorkflowTaskClaimRow>`
    SELECT * FROM chronicle.claim_workflow_tasks(${namespace}, ${taskQueue}, ${max}, ${identity}, ${settings.workflowTaskTimeoutMs})`.execute(db);
  return toWorkflowTasks(db, log, rows, settings.limits, settings.workflowTaskTimeoutMs);
}


interface LockedTask {
  ex: ExecutionRow;
  task: { dirty: boolean; claimed_inbox_ids: string[] | null; attempt: number; namespace: string; task_queue: string; last_failure: unknown };
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
    SELECT status, lease_id, dirty, claimed_inbox_ids, attempt, namespace, task_queue, last_failure
    FROM chronicle.workflow_tasks WHERE run_id = ${runId} FOR UPDATE`.execute(trx);
  const task = rows[0];
  if (ex.status !== 'RUNNING') throw new StaleTaskError(taskToken, `the run is ${ex.status}`);
  if (!task || task.status !== 'running' || task.lease_id !== leaseId) {
    throw new StaleTaskError(taskToken, 'the lease expired or the task was already completed');
  }
  return { ex, task, nowMs: Number(ex.now_ms) };
}


/** What a completion needs besides the token and the commands. */
export interface CompletionSettings {
  /** The engine's namespace: whose search attribute declarations commands are checked against. */
  readonly namespace: string;
  readonly limits: LimitSettings;
}

/**
 * Completes a workflow task atomically, in one round trip (chronicle.complete_workflow_task,
 * migrations/0004): the inbox events the task saw, one event per command, one
 * WorkflowTaskCompleted, and every effect of the commands (activities, timers, children,
 * external signals and cancels, updates, search attributes, the run's close or its
 * continuation). Commands are validated here first, so bad input changes nothing.
 *
 * A completion that would close the run while a signal or update it did not see waits is
 * not recorded: the result says `rejected: 'UNHANDLED_EVENTS'` and the task is pending again
 * (RELIABILITY F8b). A completion that would take the history past a limit terminates the
 * run instead (engine/limits.ts).
 */
export async function completeWorkflowTask(
  db: Kysely<Database>,
  taskToken: string,
  completion: WorkflowTaskCompletion,
  notifier: Notifier,
  settings: CompletionSettings = { namespace: 'default', limits: defaultLimits() },
): Promise<WorkflowTaskCompletionResult> {
  const { runId, leaseId } = decodeWorkflowTaskToken(taskToken);
  const c = await prepareCompletionCommands(db, settings.namespace, completion.commands, {
    limits: settings.limits,
    taskInfo: { historySizeBytes: completion.historySizeBytes, continueAsNewSuggested: completion.continueAsNewSuggested },
  });
  try {
    const { rows } = await retryOnDeadlock(() =>
      sql<RecordedTaskRow>`
        SELECT * FROM chronicle.complete_workflow_task(
          ${runId}::uuid, ${leaseId}::uuid, ${completion.identity}, ${completion.workflowTime}::bigint,
          ${c.commandEvents}::jsonb, ${c.activities}::jsonb, ${c.timers}::jsonb, ${c.canceledTimers}::int[], ${c.close}::jsonb,
          ${completion.eagerActivitySlots ?? 0}, ${c.effects}::jsonb, ${historyLimitsJson(settings.limits)}::jsonb)`.execute(db),
    );
    return recordedTask(rows[0]!, notifier, {
      limits: settings.limits,
      sizeBefore: completion.historySizeBytes ?? 0,
      appendedBytes: Buffer.byteLength(c.commandEvents),
    });
  } catch (err) {
    if ((err as { code?: string }).code === STALE_LEASE_SQLSTATE) throw new StaleTaskError(taskToken, (err as Error).message);
    throw err;
  }
}

/** What chronicle.record_workflow_task returns, through its callers. */
export interface RecordedTaskRow {
  completed_event_id: number;
  closed: boolean;
  eager: EagerActivityRow[];
  notifications: Notification[];
  /** Only from chronicle.complete_workflow_task: 'UNHANDLED_EVENTS' when nothing was recorded (F8b). */
  rejected?: string | null;
}

/** What the caller knows to estimate the history after a completion (see WorkflowTaskCompletionResult). */
export interface HistoryGrowth {
  readonly limits: LimitSettings;
  /** The history size the task saw. */
  readonly sizeBefore: number;
  /** JSON bytes of what the completion appended that the caller knows of (its command events, a result). */
  readonly appendedBytes: number;
}

export function recordedTask(r: RecordedTaskRow, notifier: Notifier, growth?: HistoryGrowth): WorkflowTaskCompletionResult {
  notifier.send(r.notifications);
  const after = growth && !r.closed && !r.rejected ? estimatedHistory(r.completed_event_id, growth) : {};
  if (r.rejected === 'UNHANDLED_EVENTS') return { completedEventId: 0, closed: false, rejected: 'UNHANDLED_EVENTS' };
  return {
    completedEventId: r.completed_event_id,
    closed: r.closed,
    ...(r.eager.length ? { eagerActivityTasks: r.eager.map(toActivityTask) } : {}),
    ...after,
  };
}

/** The history facts after a recorded batch ending at `completedEventId` (its length is exact). */
function estimatedHistory(completedEventId: number, g: HistoryGrowth): { historySizeBytes: number; continueAsNewSuggested: boolean } {
  const historySizeBytes = g.sizeBefore + g.appendedBytes;
  return { historySizeBytes, continueAsNewSuggested: continueAsNewSuggested(g.limits, completedEventId, historySizeBytes) };
}

/** Longest wait before a failing workflow task is retried. */
const MAX_WORKFLOW_TASK_BACKOFF_MS = 60_000;

/**
 * Fails a workflow task: the run stays open and the task is retried after a capped
 * exponential backoff (so a fixed deployment picks it up, and a broken one does not spin).
 * Only the first failure of a streak (no failure recorded since the last completion; a
 * lost lease does not count) is recorded in history, as Temporal does, so a run stuck on a
 * bug does not grow its history by one event per retry.
 */
export async function failWorkflowTask(db: Kysely<Database>, taskToken: string, failure: WorkflowTaskFailure): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const { ex, task } = await lockClaimedTask(trx, taskToken);
    if (task.last_failure === null) {
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
