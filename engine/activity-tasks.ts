import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import { StaleTaskError } from './errors.js';
import { deliverTail } from './inbox.js';
import { defaultLimits, type LimitSettings } from './limits.js';
import type { Logger } from './logger.js';
import type { Notification, Notifier } from './notifier.js';
import { STALE_LEASE_SQLSTATE } from './task-rows.js';
import type { ActivityTask, FailureInfo, HeartbeatResponse, TimeoutType, WorkflowTask } from './protocol/index.js';
import { decideRetry } from './retry.js';
import { decodeActivityTaskToken } from './task-token.js';
import { toActivityTask, toWorkflowTasks, type ActivityTaskRow, type EagerActivityRow, type WorkflowTaskClaimRow } from './task-rows.js';
import { payloadJson, validatePayload, validatePayloadSize } from './validation.js';
import { CHANNELS } from './wakeups.js';


const MS = (col: string) => sql.raw(`(extract(epoch FROM ${col}) * 1000)::bigint`);

/**
 * Claims up to `max` visible activity tasks of a queue in one round trip: highest priority
 * first, then the longest-visible, then oldest (chronicle.claim_activity_tasks, migrations/0002).
 */
export async function claimActivityTasks(
  db: Kysely<Database>,
  namespace: string,
  taskQueue: string,
  max: number,
  identity: string,
): Promise<ActivityTask[]> {
  const { rows } = await sql<EagerActivityRow>`
    SELECT * FROM chronicle.claim_activity_tasks(${namespace}, ${taskQueue}, ${max}, ${identity})`.execute(db);
  rows.sort((a, b) => b.priority - a.priority || Number(a.id) - Number(b.id));
  return rows.map(toActivityTask);
}

/** Milliseconds until the next pending task of the queue becomes visible, if any (for the poller's sleep). */
export async function msUntilNextVisibleActivity(db: Kysely<Database>, namespace: string, taskQueue: string): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    SELECT (extract(epoch FROM min(visible_at) - now()) * 1000)::float8 AS ms
    FROM chronicle.activity_tasks WHERE namespace = ${namespace} AND task_queue = ${taskQueue} AND status = 'pending'`.execute(db);
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}

/**
 * Records an activity's result in one round trip (chronicle.complete_activity_task): the
 * attempt's row is deleted only if this token still holds its lease, the result goes to the
 * run's inbox, and the run gets a workflow task. With `eager`, that workflow task is leased
 * to the completing worker in the same transaction and returned.
 */
export async function completeActivityTask(
  db: Kysely<Database>,
  log: Logger,
  taskToken: string,
  result: unknown,
  identity: string,
  eager: { workflowTaskQueue: string; leaseMs: number } | undefined,
  notifier: Notifier,
  limits: LimitSettings = defaultLimits(),
): Promise<WorkflowTask | undefined> {
  const t = decodeActivityTaskToken(taskToken);
  validatePayload('result', result);
  validatePayloadSize('result', result, limits.payloadMaxBytes);
  try {
    const { rows } = await sql<{ eager: WorkflowTaskClaimRow | null; notifications: Notification[] }>`
      SELECT * FROM chronicle.complete_activity_task(${t.taskId}::bigint, ${t.runId}::uuid, ${t.leaseId}::uuid,
        ${payloadJson(result)}::jsonb, ${identity}, ${eager?.workflowTaskQueue ?? null}, ${eager?.leaseMs ?? 0})`.execute(db);
    const r = rows[0]!;
    notifier.send(r.notifications);
    return r.eager ? (await toWorkflowTasks(db, log, [r.eager], limits, eager?.leaseMs))[0] : undefined;
  } catch (err) {
    if ((err as { code?: string }).code === STALE_LEASE_SQLSTATE) throw new StaleTaskError(taskToken, (err as Error).message);
    throw err;
  }
}

interface LockedAttempt {
  row: Omit<ActivityTaskRow, 'scheduled_ms' | 'started_ms' | 'lease_ms'> & { last_heartbeat_ms: string | null; cancel_requested: boolean };
  nowMs: number;
}

async function lockAttempt(trx: Transaction<Database>, runId: string, where: ReturnType<typeof sql>): Promise<LockedAttempt | undefined> {
  const { rows } = await sql<LockedAttempt['row'] & { now_ms: string }>`
    WITH ex AS (SELECT run_id FROM chronicle.executions WHERE run_id = ${runId} FOR NO KEY UPDATE)
    SELECT a.*, ${MS('a.schedule_to_close_deadline')} AS deadline_ms, ${MS('a.last_heartbeat_at')} AS last_heartbeat_ms,
           (extract(epoch FROM now()) * 1000)::bigint AS now_ms
    FROM chronicle.activity_tasks a JOIN ex ON ex.run_id = a.run_id
    WHERE ${where}
    FOR UPDATE OF a`.execute(trx);
  const row = rows[0];
  return row ? { row, nowMs: Number(row.now_ms) } : undefined;
}

/**
 * A failed attempt (thrown error or timed-out lease). The retry policy decides: another
 * attempt after a jittered backoff (same row, attempt + 1, invisible until then), or the
 * final failure, which goes to the workflow with the attempt count and retry state.
 *
 * An attempt the workflow asked to cancel (`cancel_requested`, set by RequestCancelActivity
 * while it ran) is not retried: however it ended short of success (the worker aborted it,
 * it threw, its lease ran out), the workflow gets ActivityTaskCanceled.
 */
async function applyAttemptFailure(
  trx: Transaction<Database>,
  locked: LockedAttempt,
  failure: FailureInfo,
  random: () => number,
  timeoutType?: TimeoutType,
  identity?: string,
): Promise<void> {
  const { row, nowMs } = locked;
  if (row.cancel_requested) {
    const canceled = {
      seq: row.seq,
      attempt: row.attempt,
      ...(identity ? { identity } : {}),
      ...(failure.failureType === 'cancelled' && failure.details !== undefined ? { details: failure.details } : {}),
    };
    await deliverFinal(trx, row, 'ActivityTaskCanceled', canceled);
    return;
  }
  const decision = decideRetry({
    policy: row.retry_policy,
    attempt: row.attempt,
    failure,
    now: nowMs,
    ...(row.deadline_ms !== null ? { scheduleToCloseDeadline: Number(row.deadline_ms) } : {}),
    random,
  });
  if (decision.retry) {
    await sql`
      UPDATE chronicle.activity_tasks
      SET status = 'pending', attempt = ${decision.nextAttempt}, visible_at = now() + make_interval(secs => ${decision.delayMs / 1000}),
          lease_id = NULL, lease_expires_at = NULL, started_at = NULL, last_failure = ${JSON.stringify(failure)}::jsonb
      WHERE id = ${row.id}`.execute(trx);
    // Wake pollers so they re-arm their sleep for the new visibility time.
    await sql`SELECT pg_notify(${CHANNELS.activityTask}, ${row.namespace + '/' + row.task_queue})`.execute(trx);
    return;
  }
  const attributes = timeoutType
    ? { seq: row.seq, failure, attempt: row.attempt, timeoutType, retryState: decision.retryState }
    : { seq: row.seq, failure, attempt: row.attempt, retryState: decision.retryState };
  await deliverFinal(trx, row, timeoutType ? 'ActivityTaskTimedOut' : 'ActivityTaskFailed', attributes);
}

/** Deletes the activity's row and delivers its final outcome to the run (engine/inbox.ts rules). */
async function deliverFinal(trx: Transaction<Database>, row: LockedAttempt['row'], eventType: string, attributes: object): Promise<void> {
  await sql`
    WITH done AS (DELETE FROM chronicle.activity_tasks WHERE id = ${row.id}),
    delivered AS (
      SELECT ${row.run_id}::uuid AS run_id, ${row.namespace}::text AS namespace, ${row.workflow_task_queue}::text AS task_queue,
             ${eventType}::text AS event_type, ${JSON.stringify(attributes)}::jsonb AS attributes, 1 AS ord
    ) ${deliverTail()}`.execute(trx);
}

export async function failActivityTask(
  db: Kysely<Database>,
  taskToken: string,
  failure: FailureInfo,
  random: () => number,
  identity?: string,
): Promise<void> {
  const t = decodeActivityTaskToken(taskToken);
  await db.transaction().execute(async (trx) => {
    const locked = await lockAttempt(trx, t.runId, sql`a.id = ${t.taskId} AND a.lease_id = ${t.leaseId} AND a.status = 'running'`);
    if (!locked) throw new StaleTaskError(taskToken, 'the lease expired, the activity was already completed, or its run closed');
    await applyAttemptFailure(trx, locked, failure, random, undefined, identity);
  });
}

/**
 * Stores heartbeat details and, when a heartbeat timeout is set, pushes the lease to
 * now + heartbeatTimeout (never past start + startToClose or the scheduleToClose deadline).
 * Autocommit, one round trip. Zero rows means the lease is gone: the caller must stop.
 */
export async function heartbeatActivityTask(
  db: Kysely<Database>,
  taskToken: string,
  details: unknown,
  limits: LimitSettings = defaultLimits(),
): Promise<HeartbeatResponse> {
  const t = decodeActivityTaskToken(taskToken);
  if (details !== undefined) {
    validatePayload('details', details);
    validatePayloadSize('details', details, limits.payloadMaxBytes);
  }
  const { rows } = await sql<{ cancel_requested: boolean }>`
    UPDATE chronicle.activity_tasks
    SET last_heartbeat_at = now(),
        heartbeat_details = coalesce(${details === undefined ? null : payloadJson(details)}::jsonb, heartbeat_details),
        lease_expires_at = CASE WHEN heartbeat_timeout_ms IS NULL THEN lease_expires_at ELSE least(
          started_at + make_interval(secs => start_to_close_ms / 1000.0),
          now() + make_interval(secs => heartbeat_timeout_ms / 1000.0),
          coalesce(schedule_to_close_deadline, 'infinity')) END
    WHERE id = ${t.taskId} AND lease_id = ${t.leaseId} AND status = 'running'
    RETURNING cancel_requested`.execute(db);
  if (!rows[0]) throw new StaleTaskError(taskToken, 'the lease expired, the activity was already completed, or its run closed');
  return { cancelRequested: rows[0].cancel_requested };
}

/**
 * Turns expired leases into timed-out attempts (the worker died, stalled or lost its
 * connection) and pending tasks past their scheduleToClose deadline into final timeouts.
 * Candidates are found without locks; each is then re-checked under the run lock and
 * handled in its own transaction, so one bad row cannot stall the rest. Returns how many
 * attempts were timed out.
 */
export async function timeOutExpiredActivities(db: Kysely<Database>, random: () => number, limit = 200): Promise<number> {
  const { rows: candidates } = await sql<{ id: string; run_id: string }>`
    (SELECT id, run_id FROM chronicle.activity_tasks WHERE status = 'running' AND lease_expires_at < now() LIMIT ${limit})
    UNION ALL
    (SELECT id, run_id FROM chronicle.activity_tasks WHERE status = 'pending' AND schedule_to_close_deadline < now() LIMIT ${limit})`.execute(db);
  let n = 0;
  for (const c of candidates) {
    const handled = await db.transaction().execute(async (trx) => {
      const locked = await lockAttempt(
        trx,
        c.run_id,
        sql`a.id = ${c.id} AND ((a.status = 'running' AND a.lease_expires_at < now()) OR (a.status = 'pending' AND a.schedule_to_close_deadline < now()))`,
      );
      if (!locked) return false;
      const timeoutType = classifyTimeout(locked);
      const failure: FailureInfo = {
        failureType: 'timeout',
        message: `activity ${timeoutType} timeout (attempt ${locked.row.attempt})`,
        timeoutType,
        ...(locked.row.last_failure && timeoutType === 'SCHEDULE_TO_CLOSE' ? { cause: locked.row.last_failure } : {}),
      };
      await applyAttemptFailure(trx, locked, failure, random, timeoutType);
      return true;
    });
    if (handled) n++;
  }
  return n;
}

function classifyTimeout({ row, nowMs }: LockedAttempt): TimeoutType {
  const r = row as LockedAttempt['row'] & { status: string; started_at: Date | null };
  if (r.deadline_ms !== null && Number(r.deadline_ms) <= nowMs) return 'SCHEDULE_TO_CLOSE';
  if (r.status === 'running' && r.heartbeat_timeout_ms !== null && r.started_at) {
    const startToCloseEnd = r.started_at.getTime() + r.start_to_close_ms;
    if (nowMs < startToCloseEnd) return 'HEARTBEAT';
  }
  return 'START_TO_CLOSE';
}
