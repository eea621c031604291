import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import type {
  StartWorkflowRequest,
  WorkflowDescription,
  WorkflowExecutionInfo,
  WorkflowExecutionStatus,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowOutcome,
  WorkflowRef,
} from './engine.js';
import { validateMemo, validateTimeoutMs } from './children.js';
import { retryOnDeadlock } from './deadlock-retry.js';
import {
  InvalidArgumentError,
  UnknownWorkflowTypeError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
} from './errors.js';
import { deliverTail } from './inbox.js';
import { defaultLimits, type LimitSettings } from './limits.js';
import type { Notification } from './notifier.js';
import type { FailureInfo, ParentClosePolicy, Payload, SearchAttributes } from './protocol/index.js';
import { getSearchAttributeTypes, hasSearchAttributes, validateSearchAttributes } from './search-attributes.js';
import { payloadJson, validateName, validatePayloads, validatePayloadSize } from './validation.js';
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
  search_attributes: SearchAttributes;
  memo: Record<string, Payload> | null;
  parent_namespace: string | null;
  parent_workflow_id: string | null;
  parent_run_id: string | null;
  parent_seq: number | null;
  parent_close_policy: ParentClosePolicy | null;
  first_execution_run_id: string | null;
  continued_from_run_id: string | null;
  /** bigint → decimal string */
  history_size_bytes: string;
  execution_deadline: Date | null;
  run_deadline: Date | null;
}

export interface StartExecutionResult {
  readonly runId: string;
  /** False when conflict policy USE_EXISTING returned the open run instead of starting one. */
  readonly started: boolean;
  /**
   * Wake-ups to send once the transaction has committed (the new run's task queue; the close
   * of a run that TERMINATE_EXISTING ended): pass them to the engine's Notifier.
   */
  readonly notifications: readonly Notification[];
}

const CONFLICT_POLICIES: readonly WorkflowIdConflictPolicy[] = ['FAIL', 'USE_EXISTING', 'TERMINATE_EXISTING'];
const REUSE_POLICIES: readonly WorkflowIdReusePolicy[] = ['ALLOW_DUPLICATE', 'ALLOW_DUPLICATE_FAILED_ONLY', 'REJECT_DUPLICATE', 'TERMINATE_IF_RUNNING'];

/**
 * Key class of the transaction-level advisory lock that serializes the starts that must
 * look at a workflow id's runs before inserting (reuse policies, TERMINATE_EXISTING). The
 * two-int4 key space of advisory locks does not overlap the bigint one migrate() uses.
 */
const START_LOCK_CLASS = 0x63687273; // 'chrs'

/** A start request, checked. */
interface CheckedStart {
  readonly workflowId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly args: readonly Payload[];
  readonly identity: string | null;
  readonly conflict: WorkflowIdConflictPolicy;
  readonly reuse: WorkflowIdReusePolicy;
  readonly searchAttributes: SearchAttributes | null;
  readonly memo: Readonly<Record<string, Payload>> | null;
  readonly executionTimeoutMs: number | null;
  readonly runTimeoutMs: number | null;
}

/**
 * Starts a run, or returns the open one (conflict policy USE_EXISTING). `db` may be the
 * caller's transaction (signal-with-start, update-with-start), so that the start and what
 * follows commit together; the caller then sends `notifications` after its commit.
 *
 * Policies (Temporal's): when a run of the workflow id is open, workflowIdConflictPolicy
 * FAIL (default: WorkflowExecutionAlreadyStartedError), USE_EXISTING or TERMINATE_EXISTING;
 * when none is open, workflowIdReusePolicy ALLOW_DUPLICATE (default),
 * ALLOW_DUPLICATE_FAILED_ONLY (refused after a COMPLETED run), REJECT_DUPLICATE (refused if
 * any run ever had the id); TERMINATE_IF_RUNNING is the legacy spelling of TERMINATE_EXISTING.
 *
 * The default policies cost one statement (chronicle.insert_run, migrations/0004): the
 * partial unique index on open workflow ids makes concurrent starts of one id produce
 * exactly one run, and the losers read the winner. The others run in a transaction under an
 * advisory lock on the workflow id, so that the check of earlier runs and the insert cannot
 * interleave with another such start.
 */
export async function startExecution(
  db: Db,
  namespace: string,
  req: StartWorkflowRequest,
  opts: { readonly limits?: LimitSettings } = {},
): Promise<StartExecutionResult> {
  const v = await checkStart(db, namespace, req, opts.limits ?? defaultLimits());
  if (v.conflict !== 'TERMINATE_EXISTING' && v.reuse === 'ALLOW_DUPLICATE') return startUnserialized(db, namespace, v);
  if (db.isTransaction) return startSerialized(db as Transaction<Database>, namespace, v);
  return retryOnDeadlock(() => (db as Kysely<Database>).transaction().execute((trx) => startSerialized(trx, namespace, v)));
}

async function checkStart(db: Db, namespace: string, req: StartWorkflowRequest, limits: LimitSettings): Promise<CheckedStart> {
  const workflowId = validateName('workflowId', req.workflowId);
  const workflowType = validateName('workflowType', req.workflowType);
  const taskQueue = validateName('taskQueue', req.taskQueue);
  const args = req.args ?? [];
  validatePayloads('args', args);
  args.forEach((a, i) => validatePayloadSize(`args[${i}]`, a, limits.payloadMaxBytes));
  if (req.identity !== undefined && typeof req.identity !== 'string') throw new InvalidArgumentError('identity', 'must be a string');
  const reuse = req.workflowIdReusePolicy ?? 'ALLOW_DUPLICATE';
  if (!REUSE_POLICIES.includes(reuse)) throw new InvalidArgumentError('workflowIdReusePolicy', `must be one of ${REUSE_POLICIES.join(', ')}, got ${JSON.stringify(reuse)}`);
  const givenConflict = req.workflowIdConflictPolicy;
  if (givenConflict !== undefined && !CONFLICT_POLICIES.includes(givenConflict)) {
    throw new InvalidArgumentError('workflowIdConflictPolicy', `must be one of ${CONFLICT_POLICIES.join(', ')}, got ${JSON.stringify(givenConflict)}`);
  }
  if (reuse === 'TERMINATE_IF_RUNNING' && givenConflict !== undefined && givenConflict !== 'TERMINATE_EXISTING') {
    throw new InvalidArgumentError(
      'workflowIdReusePolicy',
      `TERMINATE_IF_RUNNING contradicts workflowIdConflictPolicy ${givenConflict}; use workflowIdConflictPolicy TERMINATE_EXISTING alone`,
    );
  }
  const conflict = givenConflict ?? (reuse === 'TERMINATE_IF_RUNNING' ? 'TERMINATE_EXISTING' : 'FAIL');
  let searchAttributes: SearchAttributes | null = null;
  if (hasSearchAttributes(req.searchAttributes)) {
    const checked = validateSearchAttributes('searchAttributes', req.searchAttributes, await getSearchAttributeTypes(db, namespace));
    if (Object.keys(checked).length) searchAttributes = checked;
  } else if (req.searchAttributes !== undefined && (typeof req.searchAttributes !== 'object' || Array.isArray(req.searchAttributes))) {
    validateSearchAttributes('searchAttributes', req.searchAttributes, new Map());
  }
  const memo = validateMemo('memo', req.memo) ?? null;
  if (memo) validatePayloadSize('memo', memo, limits.payloadMaxBytes);
  const executionTimeoutMs = validateTimeoutMs('workflowExecutionTimeoutMs', req.workflowExecutionTimeoutMs) ?? null;
  const runTimeoutMs = validateTimeoutMs('workflowRunTimeoutMs', req.workflowRunTimeoutMs) ?? null;
  await checkWorkflowTypeKnown(db, namespace, taskQueue, workflowType);
  return {
    workflowId, workflowType, taskQueue, args, identity: req.identity ?? null, conflict, reuse, searchAttributes, memo,
    executionTimeoutMs, runTimeoutMs,
  };
}

/** chronicle.insert_run for a first run: false when the id has an open run. */
async function insertRun(db: Db, namespace: string, v: CheckedStart, runId: string): Promise<boolean> {
  const { rows } = await sql<{ inserted: boolean }>`
    SELECT chronicle.insert_run(${runId}::uuid, ${namespace}, ${v.workflowId}, ${v.workflowType}, ${v.taskQueue},
      ${payloadJson(v.args)}::jsonb, ${v.identity}, ${v.searchAttributes ? JSON.stringify(v.searchAttributes) : null}::jsonb,
      ${v.memo ? JSON.stringify(v.memo) : null}::jsonb, NULL, NULL, NULL, ${v.executionTimeoutMs}::float8, ${v.runTimeoutMs}::float8, NULL) AS inserted`.execute(db);
  return rows[0]!.inserted;
}

function started(namespace: string, v: CheckedStart, runId: string, before: readonly Notification[] = []): StartExecutionResult {
  return { runId, started: true, notifications: [...before, [CHANNELS.workflowTask, `${namespace}/${v.taskQueue}`]] };
}

async function openRunOf(db: Db, namespace: string, workflowId: string, lock: boolean): Promise<{ run_id: string; workflow_type: string } | undefined> {
  const q = db
    .selectFrom('chronicle.executions')
    .select(['run_id', 'workflow_type'])
    .where('namespace', '=', namespace)
    .where('workflow_id', '=', workflowId)
    .where('status', '=', 'RUNNING');
  return (lock ? q.forNoKeyUpdate() : q).executeTakeFirst();
}

/**
 * The open run of a workflow id, locked for closing it: its parent first, then the run (the
 * lock order of migrations/0004; closing a child notifies its parent, which locks the
 * parent). parent_run_id never changes, so it is read unlocked. 'closed' when the run closed
 * while we waited for its lock (the caller decides again).
 */
async function lockOpenRunToClose(trx: Transaction<Database>, namespace: string, workflowId: string): Promise<{ run_id: string; workflow_type: string } | undefined | 'closed'> {
  const seen = await trx
    .selectFrom('chronicle.executions')
    .select(['run_id', 'parent_run_id'])
    .where('namespace', '=', namespace)
    .where('workflow_id', '=', workflowId)
    .where('status', '=', 'RUNNING')
    .executeTakeFirst();
  if (!seen) return undefined;
  if (seen.parent_run_id) await sql`SELECT chronicle.lock_parent_of(${seen.run_id}::uuid)`.execute(trx);
  const locked = await trx
    .selectFrom('chronicle.executions')
    .select(['run_id', 'workflow_type'])
    .where('run_id', '=', seen.run_id)
    .where('status', '=', 'RUNNING')
    .forNoKeyUpdate()
    .executeTakeFirst();
  return locked ?? 'closed';
}

/** Default reuse policy, FAIL or USE_EXISTING: insert first, read the winner on conflict. */
async function startUnserialized(db: Db, namespace: string, v: CheckedStart): Promise<StartExecutionResult> {
  for (let i = 0; i < 3; i++) {
    const runId = randomUUID();
    if (await insertRun(db, namespace, v, runId)) return started(namespace, v, runId);
    const open = await openRunOf(db, namespace, v.workflowId, false);
    // The open run closed between the insert and the read: try again.
    if (!open) continue;
    if (v.conflict === 'USE_EXISTING') return { runId: open.run_id, started: false, notifications: [] };
    throw new WorkflowExecutionAlreadyStartedError(v.workflowId, open.workflow_type, open.run_id);
  }
  throw new WorkflowExecutionAlreadyStartedError(v.workflowId, v.workflowType, 'unknown');
}

/** Reuse policies and TERMINATE_EXISTING: decide against the id's runs under the id's advisory lock. */
async function startSerialized(trx: Transaction<Database>, namespace: string, v: CheckedStart): Promise<StartExecutionResult> {
  // Names hold no control characters (validateName), so a newline separates them unambiguously.
  await sql`SELECT pg_advisory_xact_lock(${START_LOCK_CLASS}::int, hashtext(${`${namespace}\n${v.workflowId}`}))`.execute(trx);
  const notes: Notification[] = [];
  for (let i = 0; i < 3; i++) {
    const open = v.conflict === 'TERMINATE_EXISTING' ? await lockOpenRunToClose(trx, namespace, v.workflowId) : await openRunOf(trx, namespace, v.workflowId, true);
    if (open === 'closed') continue;
    if (open) {
      if (v.conflict === 'FAIL') throw new WorkflowExecutionAlreadyStartedError(v.workflowId, open.workflow_type, open.run_id);
      if (v.conflict === 'USE_EXISTING') return { runId: open.run_id, started: false, notifications: notes };
      const { rows } = await sql<{ notes: Notification[] }>`
        SELECT chronicle.terminate_run(${open.run_id}::uuid,
          ${'terminated by a new start of the workflow id (workflowIdConflictPolicy TERMINATE_EXISTING)'}, ${v.identity}) AS notes`.execute(trx);
      notes.push(...rows[0]!.notes);
    } else if (v.reuse === 'REJECT_DUPLICATE' || v.reuse === 'ALLOW_DUPLICATE_FAILED_ONLY') {
      const last = await trx
        .selectFrom('chronicle.executions')
        .select(['run_id', 'status', 'workflow_type'])
        .where('namespace', '=', namespace)
        .where('workflow_id', '=', v.workflowId)
        .orderBy('started_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (last && (v.reuse === 'REJECT_DUPLICATE' || last.status === 'COMPLETED')) {
        throw new WorkflowExecutionAlreadyStartedError(
          v.workflowId,
          last.workflow_type,
          last.run_id,
          `its last run ${last.run_id} closed ${last.status} and workflowIdReusePolicy ${v.reuse} refuses another run; ` +
            `use another workflowId, or the reuse policy ALLOW_DUPLICATE`,
        );
      }
    }
    const runId = randomUUID();
    if (await insertRun(trx, namespace, v, runId)) return started(namespace, v, runId, notes);
    // A default-policy start (which takes no advisory lock) won the id meanwhile: decide again.
  }
  throw new WorkflowExecutionAlreadyStartedError(v.workflowId, v.workflowType, 'unknown');
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

/** The columns of a run that `executionInfo` reads (a listing selects just these). */
export type ExecutionInfoRow = Pick<
  ExecutionRow,
  | 'namespace' | 'workflow_id' | 'run_id' | 'workflow_type' | 'task_queue' | 'status' | 'started_at' | 'closed_at' | 'next_event_id'
  | 'history_size_bytes' | 'search_attributes' | 'memo' | 'parent_workflow_id' | 'parent_run_id' | 'first_execution_run_id'
>;

/** A run as `describeWorkflow` and `listWorkflows` show it. Pure. */
export function executionInfo(ex: ExecutionInfoRow): WorkflowExecutionInfo {
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
    historySizeBytes: Number(ex.history_size_bytes),
    searchAttributes: ex.search_attributes ?? {},
    ...(ex.memo ? { memo: ex.memo } : {}),
    ...(ex.parent_run_id && ex.parent_workflow_id ? { parent: { workflowId: ex.parent_workflow_id, runId: ex.parent_run_id } } : {}),
    ...(ex.first_execution_run_id ? { firstExecutionRunId: ex.first_execution_run_id } : {}),
  };
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
    ...executionInfo(ex),
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

/**
 * Ends the run at once (chronicle.terminate_run, migrations/0004): WorkflowExecutionTerminated,
 * then what every close does (apply_run_close: work rows deleted, parent told, children's
 * parent close policy applied, unfinished updates failed). Returns the notifications to send
 * after the commit. WorkflowNotRunningError when the run is closed.
 */
export async function terminateExecution(
  db: Kysely<Database>,
  namespace: string,
  ref: WorkflowRef,
  opts: { reason?: string; identity?: string },
): Promise<Notification[]> {
  return retryOnDeadlock(() =>
    db.transaction().execute(async (trx) => {
      // A child's parent is locked before the child (the lock order of migrations/0004). By
      // workflow id only, a run that closed while we waited for its lock (continued as new,
      // typically) is followed to the run now open, as messages do (engine/signals.ts).
      let ex: ExecutionRow;
      for (let round = 1; ; round++) {
        const target = await resolveRun(trx, namespace, ref);
        if (target.parent_run_id) await sql`SELECT chronicle.lock_parent_of(${target.run_id}::uuid)`.execute(trx);
        const locked = await resolveRun(trx, namespace, { workflowId: target.workflow_id, runId: target.run_id }, true);
        if (locked.status === 'RUNNING') {
          ex = locked;
          break;
        }
        if (ref.runId || target.status !== 'RUNNING' || round >= MAX_FOLLOW_ROUNDS) {
          throw new WorkflowNotRunningError(locked.workflow_id, locked.run_id, locked.status);
        }
      }
      const { rows } = await sql<{ notes: Notification[] }>`
        SELECT chronicle.terminate_run(${ex.run_id}::uuid, ${opts.reason || null}, ${opts.identity || null}) AS notes`.execute(trx);
      return rows[0]!.notes;
    }),
  );
}

/**
 * Locks the open run that `ref` names (lock order: the run's executions row first, as every
 * path that touches a run does, so they cannot deadlock with each other). For a ref by
 * workflow id only, a run that closed while we waited for its lock (continued as new,
 * typically) is followed to the run now open, so a message or request addressed to the
 * workflow id reaches the current run. Throws WorkflowNotFoundError / WorkflowNotRunningError.
 */
export async function lockOpenRun(trx: Transaction<Database>, namespace: string, ref: WorkflowRef): Promise<ExecutionRow> {
  // By workflow id only, a run that closed while we waited for its lock is followed to the
  // run now open (the next statement's snapshot has it), as engine/signals.ts does.
  for (let round = 1; ; round++) {
    const ex = await resolveRun(trx, namespace, ref, true);
    if (ex.status === 'RUNNING') return ex;
    if (ref.runId || round >= MAX_FOLLOW_ROUNDS) throw new WorkflowNotRunningError(ex.workflow_id, ex.run_id, ex.status);
    const open = await trx
      .selectFrom('chronicle.executions')
      .select('run_id')
      .where('namespace', '=', namespace)
      .where('workflow_id', '=', ref.workflowId)
      .where('status', '=', 'RUNNING')
      .executeTakeFirst();
    if (!open) throw new WorkflowNotRunningError(ex.workflow_id, ex.run_id, ex.status);
  }
}

/** Rounds of following a workflow id's closing runs to the open one (back-to-back closes). */
const MAX_FOLLOW_ROUNDS = 5;

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
