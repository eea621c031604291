import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import type {
  StartWorkflowRequest,
  WorkflowDescription,
  WorkflowExecutionStatus,
  WorkflowOutcome,
  WorkflowRef,
} from './engine.js';
import {
  UnknownWorkflowTypeError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
} from './errors.js';
import { appendEvents } from './history.js';
import { deliverTail } from './inbox.js';
import type { FailureInfo } from './protocol/index.js';
import { payloadJson, validateName, validatePayloads } from './validation.js';
import { CHANNELS } from './wakeups.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface ExecutionRow {
  run_id: string;
  namespace: string;
  workflow_id: string;
  workflow_type: string;
  task_queue: string;
  status: WorkflowExecutionStatus;
  next_event_id: number;
  last_completed_event_id: number;
  result: unknown;
  failure: unknown;
  close_reason: string | null;
  started_at: Date;
  closed_at: Date | null;
}

/**
 * Starts a run in one statement (one round trip, one commit): the executions row, history
 * event 1 and the first workflow task. The partial unique index on open workflow ids makes
 * two concurrent starts of one id produce exactly one run; the loser reads the winner.
 * The caller sends the wake-up for the task queue after the commit (engine/notifier.ts).
 */
export async function startExecution(db: Kysely<Database>, namespace: string, req: StartWorkflowRequest): Promise<string> {
  const workflowId = validateName('workflowId', req.workflowId);
  const workflowType = validateName('workflowType', req.workflowType);
  const taskQueue = validateName('taskQueue', req.taskQueue);
  const args = req.args ?? [];
  validatePayloads('args', args);
  await checkWorkflowTypeKnown(db, namespace, taskQueue, workflowType);

  const runId = randomUUID();
  const started = {
    workflowType,
    workflowId,
    runId,
    taskQueue,
    args,
    ...(req.identity ? { identity: req.identity } : {}),
  };
  const { rows } = await sql<{ run_id: string }>`
    WITH ex AS (
      INSERT INTO chronicle.executions (run_id, namespace, workflow_id, workflow_type, task_queue)
      VALUES (${runId}, ${namespace}, ${workflowId}, ${workflowType}, ${taskQueue})
      ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING
      RETURNING run_id
    ), ev AS (
      INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
      SELECT run_id, 1, 'WorkflowExecutionStarted', ${payloadJson(started)}::jsonb FROM ex
    ), wt AS (
      INSERT INTO chronicle.workflow_tasks (run_id, namespace, task_queue)
      SELECT run_id, ${namespace}, ${taskQueue} FROM ex
    )
    SELECT run_id FROM ex`.execute(db);
  if (rows.length === 0) {
    const open = await db
      .selectFrom('chronicle.executions')
      .select(['run_id', 'workflow_type'])
      .where('namespace', '=', namespace)
      .where('workflow_id', '=', workflowId)
      .where('status', '=', 'RUNNING')
      .executeTakeFirst();
    throw new WorkflowExecutionAlreadyStartedError(workflowId, open?.workflow_type ?? workflowType, open?.run_id ?? 'unknown');
  }
  return runId;
}

/**
 * Refuses a workflow type that no current worker of the queue has registered. A queue no
 * worker has ever polled is accepted: the worker may simply not be deployed yet.
 */
async function checkWorkflowTypeKnown(db: Db, namespace: string, taskQueue: string, workflowType: string): Promise<void> {
  // The current deployment's types: those seen within a few minutes of the newest
  // registration (workers re-register every minute), so a type removed from the code
  // stops being accepted once the old workers are gone.
  const { rows: known } = await sql<{ workflow_type: string }>`
    SELECT workflow_type FROM chronicle.task_queue_workflow_types
    WHERE namespace = ${namespace} AND task_queue = ${taskQueue}
      AND last_seen_at >= (SELECT max(last_seen_at) FROM chronicle.task_queue_workflow_types
                           WHERE namespace = ${namespace} AND task_queue = ${taskQueue}) - interval '5 minutes'`.execute(db);
  if (known.length > 0 && !known.some((k) => k.workflow_type === workflowType)) {
    throw new UnknownWorkflowTypeError(workflowType, taskQueue, known.map((k) => k.workflow_type).sort());
  }
}

/** Records which workflow types a queue's workers run (called by pollers, cheaply). */
export async function registerWorkflowTypes(db: Db, namespace: string, taskQueue: string, types: readonly string[]): Promise<void> {
  if (types.length === 0) return;
  await sql`
    INSERT INTO chronicle.task_queue_workflow_types (namespace, task_queue, workflow_type)
    SELECT ${namespace}, ${taskQueue}, t FROM unnest(${types}::text[]) t
    ON CONFLICT (namespace, task_queue, workflow_type) DO UPDATE SET last_seen_at = now()`.execute(db);
}

/** The run a ref names: exactly `runId`, else the open run of the id, else its latest run. */
export async function resolveRun(db: Db, namespace: string, ref: WorkflowRef, lock = false): Promise<ExecutionRow> {
  validateName('workflowId', ref.workflowId);
  let q = db.selectFrom('chronicle.executions').selectAll().where('namespace', '=', namespace).where('workflow_id', '=', ref.workflowId);
  if (ref.runId) q = q.where('run_id', '=', ref.runId);
  else q = q.orderBy(sql`(status = 'RUNNING')`, 'desc').orderBy('started_at', 'desc');
  const row = (await (lock ? q.limit(1).forNoKeyUpdate() : q.limit(1)).executeTakeFirst()) as ExecutionRow | undefined;
  if (!row) throw new WorkflowNotFoundError(ref.workflowId, ref.runId);
  return row;
}

export async function describeExecution(db: Db, namespace: string, ref: WorkflowRef): Promise<WorkflowDescription> {
  const ex = await resolveRun(db, namespace, ref);
  const { rows } = await sql<{ inbox: number; activities: number; timers: number; wft_attempt: number | null; wft_failure: { cause: string; message: string } | null }>`
    SELECT
      (SELECT count(*) FROM chronicle.workflow_inbox WHERE run_id = ${ex.run_id})::int AS inbox,
      (SELECT count(*) FROM chronicle.activity_tasks WHERE run_id = ${ex.run_id})::int AS activities,
      (SELECT count(*) FROM chronicle.timers WHERE run_id = ${ex.run_id})::int AS timers,
      (SELECT attempt FROM chronicle.workflow_tasks WHERE run_id = ${ex.run_id}) AS wft_attempt,
      (SELECT last_failure FROM chronicle.workflow_tasks WHERE run_id = ${ex.run_id}) AS wft_failure`.execute(db);
  const c = rows[0]!;
  return {
    namespace: ex.namespace,
    workflowId: ex.workflow_id,
    runId: ex.run_id,
    workflowType: ex.workflow_type,
    taskQueue: ex.task_queue,
    status: ex.status,
    startTime: ex.started_at.getTime(),
    ...(ex.closed_at ? { closeTime: ex.closed_at.getTime() } : {}),
    historyLength: ex.next_event_id - 1,
    pendingEventCount: c.inbox,
    pendingActivityCount: c.activities,
    pendingTimerCount: c.timers,
    ...(c.wft_failure && c.wft_attempt
      ? { workflowTaskFailure: { attempt: c.wft_attempt - 1, cause: c.wft_failure.cause, message: c.wft_failure.message } }
      : {}),
  };
}

/** How a closed run ended; undefined while it runs. */
export function outcomeOf(ex: ExecutionRow): WorkflowOutcome | undefined {
  switch (ex.status) {
    case 'RUNNING':
      return undefined;
    case 'COMPLETED':
      return { status: 'COMPLETED', runId: ex.run_id, result: ex.result };
    case 'FAILED':
      return { status: 'FAILED', runId: ex.run_id, failure: ex.failure as FailureInfo };
    case 'CANCELLED':
      return { status: 'CANCELLED', runId: ex.run_id, details: ex.result ?? undefined };
    case 'TERMINATED':
      return { status: 'TERMINATED', runId: ex.run_id, reason: ex.close_reason ?? undefined };
    case 'TIMED_OUT':
      return { status: 'TIMED_OUT', runId: ex.run_id };
    case 'CONTINUED_AS_NEW':
      return { status: 'CONTINUED_AS_NEW', runId: ex.run_id, newRunId: ex.close_reason ?? '' };
  }
}

/**
 * Removes everything that could still act on a closed run: its workflow task, inbox,
 * activity tasks and timers. Runs inside the transaction that closes the run, after the
 * executions row lock, so no producer can slip an event in between.
 */
export async function deleteRunWork(trx: Transaction<Database>, runId: string): Promise<void> {
  await sql`
    WITH a AS (DELETE FROM chronicle.activity_tasks WHERE run_id = ${runId}),
         t AS (DELETE FROM chronicle.timers WHERE run_id = ${runId}),
         i AS (DELETE FROM chronicle.workflow_inbox WHERE run_id = ${runId})
    DELETE FROM chronicle.workflow_tasks WHERE run_id = ${runId}`.execute(trx);
}

export async function terminateExecution(
  db: Kysely<Database>,
  namespace: string,
  ref: WorkflowRef,
  opts: { reason?: string; identity?: string },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const ex = await lockOpenRun(trx, namespace, ref);
    await appendEvents(trx, ex.run_id, ex.next_event_id, [
      {
        eventType: 'WorkflowExecutionTerminated',
        attributes: requestAttributes(opts),
      },
    ]);
    await sql`
      UPDATE chronicle.executions
      SET status = 'TERMINATED', next_event_id = next_event_id + 1, close_reason = ${opts.reason ?? null}, closed_at = now()
      WHERE run_id = ${ex.run_id}`.execute(trx);
    await deleteRunWork(trx, ex.run_id);
    await sql`SELECT pg_notify(${CHANNELS.runClosed}, ${ex.run_id})`.execute(trx);
  });
}

/**
 * Locks the run a ref names and checks it is open. Lock order: the run's executions row
 * first, always; every path that touches a run's other rows holds it, so they cannot
 * deadlock with each other.
 */
async function lockOpenRun(trx: Transaction<Database>, namespace: string, ref: WorkflowRef): Promise<ExecutionRow> {
  const ex = await resolveRun(trx, namespace, ref, true);
  if (ex.status !== 'RUNNING') throw new WorkflowNotRunningError(ex.workflow_id, ex.run_id, ex.status);
  return ex;
}

/** The who and why of an operator's request, as recorded in its event. */
function requestAttributes(opts: { reason?: string; identity?: string }): { reason?: string; identity?: string } {
  return { ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.identity ? { identity: opts.identity } : {}) };
}

/** Puts a cancel request in the run's inbox, once: a second request while one is pending or recorded is a no-op. */
export async function requestCancelExecution(
  db: Kysely<Database>,
  namespace: string,
  ref: WorkflowRef,
  opts: { reason?: string; identity?: string },
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const ex = await lockOpenRun(trx, namespace, ref);
    const { rows } = await sql<{ n: number }>`
      SELECT (SELECT count(*) FROM chronicle.workflow_inbox WHERE run_id = ${ex.run_id} AND event_type = 'WorkflowExecutionCancelRequested')
           + (SELECT count(*) FROM chronicle.history_events WHERE run_id = ${ex.run_id} AND event_type = 'WorkflowExecutionCancelRequested') AS n`.execute(trx);
    if (Number(rows[0]!.n) > 0) return;
    const attributes = requestAttributes(opts);
    await sql`
      WITH delivered AS (
        SELECT ${ex.run_id}::uuid AS run_id, ${namespace}::text AS namespace, ${ex.task_queue}::text AS task_queue,
               'WorkflowExecutionCancelRequested'::text AS event_type, ${JSON.stringify(attributes)}::jsonb AS attributes, 1 AS ord
      ) ${deliverTail()}`.execute(trx);
  });
}
