/**
 * Queries: a client asks a worker of the run's task queue to run a query handler against
 * the run's state as of its last completed workflow task. Nothing about a query is ever
 * written to history.
 *
 * The life of a query (chronicle.query_tasks):
 *   1. `queryWorkflow` inserts a pending row (expires_at = now + timeout) and wakes the
 *      queue's query pollers (NOTIFY chronicle_query_task `<namespace>/<queue>`).
 *   2. `pollQueryTasks` claims pending rows with SKIP LOCKED, but only for runs that have
 *      completed a workflow task (the handlers are registered then; SEMANTICS 21) or are
 *      closed, and leases them for QUERY_LEASE_MS.
 *   3. `respondQueryTask` stores the outcome (status answered) and NOTIFYs chronicle_query
 *      with the query id.
 *   4. The caller, waiting on that id (LISTEN + a backing-off re-read), reads the outcome
 *      and deletes the row. On timeout or abort it deletes the row itself.
 *   A lost worker's lease runs out and `reapQueryTasks` makes the row pending again; rows
 *   whose caller vanished are deleted by the same reaper once expired.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from './db/database.js';
import type { PollRequest, QueryRequest, WorkflowRef } from './engine.js';
import { ChronicleError, InvalidArgumentError, QueryFailedError, QueryTimeoutError } from './errors.js';
import { resolveRun } from './executions.js';
import { KeyedDoorbells, pollUntil } from './keyed-doorbells.js';
import type { Logger } from './logger.js';
import type { Notifier } from './notifier.js';
import type { FailureInfo, Payload, QueryOutcome, QueryTask } from './protocol/index.js';
import type { LimitSettings } from './limits.js';
import { validateMessageArgs } from './signals.js';
import { payloadJson, validateName, validatePayload, validatePayloadSize } from './validation.js';
import { CHANNELS } from './wakeups.js';

/** Default time a caller waits for an answer (Temporal's RPC default). */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;
/** Longest timeout accepted. */
export const MAX_QUERY_TIMEOUT_MS = 10 * 60_000;
/** How long a worker holds a claimed query before another may take it. */
export const QUERY_LEASE_MS = 10_000;
/** An expired row is kept this long for a caller that is just about to read it. */
const EXPIRED_ROW_GRACE = '10 seconds';
const DEFAULT_POLL_WAIT_MS = 10_000;
/** First fallback re-read of a waiting caller; backs off to the engine's poll interval. */
const FIRST_RECHECK_MS = 10;

const TOKEN = /^q1\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function encodeQueryTaskToken(queryId: string): string {
  return `q1.${queryId}`;
}

export function decodeQueryTaskToken(token: string): string {
  const m = TOKEN.exec(String(token));
  if (!m) {
    throw new InvalidArgumentError('taskToken', `'${String(token).slice(0, 100)}' is not a query task token; pass the taskToken of a task returned by pollQueryTasks`);
  }
  return m[1]!;
}

export interface QuerySettings {
  /** Fallback polling interval (engine option pollIntervalMs). */
  readonly pollIntervalMs: number;
  readonly limits: Pick<LimitSettings, 'payloadMaxBytes'>;
}

/** Queries of one engine: the caller side, the worker side, and their wake-ups. */
export class Queries {
  /** Callers waiting for an answer, by query id. */
  private readonly answers = new KeyedDoorbells();
  /** Pollers waiting for work, by `<namespace>/<queue>`. */
  private readonly queues = new KeyedDoorbells();
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly namespace: string,
    private readonly notifier: Notifier,
    private readonly log: Logger,
    private readonly settings: QuerySettings,
  ) {}

  /** LISTEN chronicle_query: a query was answered (payload: its id, or '*'). */
  answered(payload: string): void {
    this.answers.ring(payload);
  }

  /** LISTEN chronicle_query_task: a queue may have claimable queries (payload `<namespace>/<queue>`, or '*'). */
  queueNotified(payload: string): void {
    this.queues.ring(payload);
  }

  /** Wakes every waiter; pollers return empty from then on. */
  close(): void {
    this.closed = true;
    this.answers.ring('*');
    this.queues.ring('*');
  }

  /** Engine.queryWorkflow. */
  async query(ref: WorkflowRef, req: QueryRequest): Promise<Payload> {
    const queryType = validateName('queryType', req.queryType);
    const args = validateMessageArgs('args', req.args, this.settings.limits);
    const timeoutMs = req.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_QUERY_TIMEOUT_MS) {
      throw new InvalidArgumentError('timeoutMs', `must be an integer from 1 to ${MAX_QUERY_TIMEOUT_MS} (ms), got ${String(timeoutMs)}`);
    }
    if (req.signal?.aborted) throw req.signal.reason ?? new DOMException('aborted', 'AbortError');
    const ex = await resolveRun(this.db, this.namespace, ref);
    const id = randomUUID();
    const queueKey = `${this.namespace}/${ex.task_queue}`;
    const deadline = Date.now() + timeoutMs;
    const { bell, release } = this.answers.acquire(id);
    let stored = false;
    try {
      await this.db
        .insertInto('chronicle.query_tasks')
        .values({
          id,
          namespace: this.namespace,
          task_queue: ex.task_queue,
          run_id: ex.run_id,
          query_type: queryType,
          args: payloadJson(args),
          expires_at: sql<Date>`now() + make_interval(secs => ${timeoutMs / 1000})`,
        })
        .execute();
      stored = true;
      // Claimable at once if the run has completed a task (or is closed); otherwise the wait
      // below wakes the pollers again when it sees the first task complete, since nothing
      // else would (a completion notifies workflow-task pollers only).
      let claimable = ex.last_completed_event_id > 0 || ex.status !== 'RUNNING';
      if (claimable) this.notifier.send([[CHANNELS.queryTask, queueKey]]);
      let firstTaskDone = claimable;
      const outcome = await pollUntil<{ outcome: QueryOutcome | Record<string, never> } | { gone: true }>({
        bell,
        deadline,
        minIntervalMs: FIRST_RECHECK_MS,
        maxIntervalMs: this.settings.pollIntervalMs,
        ...(req.signal ? { signal: req.signal } : {}),
        check: async () => {
          const { rows } = await sql<{ status: string; outcome: QueryOutcome | null; last_completed_event_id: number; run_status: string }>`
            SELECT q.status, q.outcome, e.last_completed_event_id, e.status AS run_status
            FROM chronicle.query_tasks q JOIN chronicle.executions e ON e.run_id = q.run_id
            WHERE q.id = ${id}`.execute(this.db);
          const row = rows[0];
          if (!row) return { gone: true } as const;
          if (row.status === 'answered') return { outcome: row.outcome ?? {} };
          firstTaskDone = row.last_completed_event_id > 0 || row.run_status !== 'RUNNING';
          if (!claimable && firstTaskDone) {
            claimable = true;
            this.notifier.send([[CHANNELS.queryTask, queueKey]]);
          }
          return undefined;
        },
      });
      if (!outcome || 'gone' in outcome) {
        const detail = firstTaskDone
          ? ''
          : `The run has not completed its first workflow task yet, so its query handlers are not registered: check that a worker polls task queue '${ex.task_queue}' and runs workflow type '${ex.workflow_type}'.`;
        throw new QueryTimeoutError(ex.workflow_id, ex.run_id, queryType, ex.task_queue, timeoutMs, detail);
      }
      const o = outcome.outcome as Partial<{ result: Payload; failure: FailureInfo }>;
      if (o.failure) throw new QueryFailedError(ex.workflow_id, ex.run_id, queryType, o.failure);
      return o.result;
    } finally {
      release();
      // The answer has been read (or will never be): the row has no further use.
      if (stored) {
        await this.db
          .deleteFrom('chronicle.query_tasks')
          .where('id', '=', id)
          .execute()
          .catch((err) => this.log.warn('could not delete a finished query; the query reaper will', { queryId: id, error: err }));
      }
    }
  }

  /**
   * Engine.pollQueryTasks. Long poll: claim; if nothing, sleep until a NOTIFY for this
   * queue, the fallback interval or the end of `waitMs`; repeat. The bell is armed before
   * each claim so a notification landing in between is not lost.
   */
  async poll(req: PollRequest): Promise<QueryTask[]> {
    const taskQueue = validateName('taskQueue', req.taskQueue);
    if (!Number.isInteger(req.maxTasks) || req.maxTasks < 1) throw new InvalidArgumentError('maxTasks', `must be a positive integer, got ${req.maxTasks}`);
    const deadline = Date.now() + (req.waitMs ?? DEFAULT_POLL_WAIT_MS);
    const { bell, release } = this.queues.acquire(`${this.namespace}/${taskQueue}`);
    try {
      for (;;) {
        if (req.signal?.aborted || this.closed) return [];
        const armed = bell.arm();
        const tasks = await claimQueryTasks(this.db, this.namespace, taskQueue, req.maxTasks);
        if (tasks.length) return tasks;
        const left = deadline - Date.now();
        if (left <= 0) return [];
        await bell.wait(armed, Math.min(left, this.settings.pollIntervalMs), req.signal);
      }
    } finally {
      release();
    }
  }

  /**
   * Engine.respondQueryTask. The first answer wins; an answer for a query that is gone
   * (its caller gave up) or already answered is ignored. A result that cannot be stored
   * (not JSON, over the payload limit) is answered as a failure, so the caller learns why
   * at once instead of timing out, and the error is also thrown to the worker.
   */
  async respond(taskToken: string, outcome: QueryOutcome): Promise<void> {
    const id = decodeQueryTaskToken(taskToken);
    let stored: QueryOutcome;
    let problem: ChronicleError | undefined;
    if (outcome && typeof outcome === 'object' && 'failure' in outcome && outcome.failure) {
      const f = outcome.failure;
      if (typeof f !== 'object' || typeof f.message !== 'string') {
        throw new InvalidArgumentError('outcome.failure', 'must be a FailureInfo ({ failureType, message, … }); build it with toFailureInfo(err)');
      }
      stored = { failure: f };
    } else if (outcome && typeof outcome === 'object' && 'result' in outcome) {
      stored = outcome;
      try {
        validatePayload('outcome.result', outcome.result);
        validatePayloadSize('outcome.result', outcome.result, this.settings.limits.payloadMaxBytes);
      } catch (err) {
        problem = err as ChronicleError;
        stored = { failure: { failureType: 'application', type: problem.code, message: `the query handler's result cannot be returned: ${problem.message}`, nonRetryable: true } };
      }
    } else {
      throw new InvalidArgumentError('outcome', 'must be { result } or { failure }');
    }
    const updated = await this.db
      .updateTable('chronicle.query_tasks')
      .set({ status: 'answered', outcome: payloadJson(stored), lease_expires_at: null })
      .where('id', '=', id)
      .where('status', '!=', 'answered')
      .returning('id')
      .executeTakeFirst();
    if (updated) this.notifier.send([[CHANNELS.query, id]]);
    if (problem) throw problem;
  }
}

interface QueryClaimRow {
  id: string;
  namespace: string;
  task_queue: string;
  run_id: string;
  query_type: string;
  args: Payload[];
  workflow_id: string;
  workflow_type: string;
}

/**
 * Claims up to `max` pending queries of a queue, oldest first, in one statement. SKIP
 * LOCKED lets concurrent pollers take disjoint rows without waiting for each other. A query
 * is claimable only once its run has completed a workflow task or has closed: before that
 * the workflow has not registered its query handlers (SEMANTICS 21), and answering "no
 * such query" would be wrong. Expired queries (their caller gave up) are left for the reaper.
 */
export async function claimQueryTasks(db: Kysely<Database>, namespace: string, taskQueue: string, max: number): Promise<QueryTask[]> {
  const { rows } = await sql<QueryClaimRow>`
    WITH c AS (
      SELECT q.id FROM chronicle.query_tasks q
      WHERE q.namespace = ${namespace} AND q.task_queue = ${taskQueue} AND q.status = 'pending' AND q.expires_at > now()
        AND EXISTS (SELECT 1 FROM chronicle.executions e
                    WHERE e.run_id = q.run_id AND (e.last_completed_event_id > 0 OR e.status <> 'RUNNING'))
      ORDER BY q.created_at
      LIMIT ${max}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE chronicle.query_tasks q
    SET status = 'running', lease_expires_at = now() + make_interval(secs => ${QUERY_LEASE_MS / 1000})
    FROM c, chronicle.executions e
    WHERE q.id = c.id AND e.run_id = q.run_id
    RETURNING q.id, q.namespace, q.task_queue, q.run_id, q.query_type, q.args, e.workflow_id, e.workflow_type`.execute(db);
  return rows.map((r) => ({
    taskToken: encodeQueryTaskToken(r.id),
    namespace: r.namespace,
    workflowId: r.workflow_id,
    runId: r.run_id,
    workflowType: r.workflow_type,
    taskQueue: r.task_queue,
    queryType: r.query_type,
    args: r.args,
  }));
}

/**
 * The query part of the lease reaper: a claimed query whose worker did not answer within
 * its lease goes back to pending (and its queue's pollers are woken), and rows expired for
 * longer than a short grace (their caller is gone: it deletes its own row otherwise) are
 * deleted. Safe in any number of processes at once: each row is changed by one statement.
 */
export async function reapQueryTasks(db: Kysely<Database>, notifier: Notifier): Promise<{ requeued: number; deleted: number }> {
  const { rows } = await sql<{ deleted: number; requeued: number; queues: string[] | null }>`
    WITH d AS (
      DELETE FROM chronicle.query_tasks WHERE expires_at < now() - ${EXPIRED_ROW_GRACE}::interval RETURNING 1
    ), r AS (
      UPDATE chronicle.query_tasks SET status = 'pending', lease_expires_at = NULL
      WHERE status = 'running' AND lease_expires_at < now() AND expires_at > now()
      RETURNING namespace, task_queue
    )
    SELECT (SELECT count(*) FROM d)::int AS deleted, (SELECT count(*) FROM r)::int AS requeued,
           (SELECT array_agg(DISTINCT namespace || '/' || task_queue) FROM r) AS queues`.execute(db);
  const row = rows[0]!;
  if (row.queues?.length) notifier.send(row.queues.map((q) => [CHANNELS.queryTask, q] as const));
  return { requeued: row.requeued, deleted: row.deleted };
}
