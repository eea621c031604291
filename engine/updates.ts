/**
 * Updates from clients: admission and waiting (plan §3, client side).
 *
 * `updateWorkflow` admits an update in one transaction: a chronicle.workflow_updates row at
 * stage ADMITTED and the inbox event WorkflowExecutionUpdateAdmitted (inbox-only: the
 * workflow task that sees it either accepts the update, which records
 * WorkflowExecutionUpdateAccepted, or rejects it, which records nothing). The workflow-task
 * completion moves the row to ACCEPTED and COMPLETED (engine/workflow-tasks.ts) and NOTIFYs
 * chronicle_update `<runId>/<updateId>`; a run that closes completes its unfinished updates
 * with a failure. Callers wait here for the stage they asked for.
 *
 * Idempotent by update id: a request whose id the workflow already has (in any of its
 * runs, the latest first) gets that update's status instead of a second update.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import { retryOnDeadlock } from './deadlock-retry.js';
import type {
  StartWorkflowRequest,
  UpdateRequest,
  UpdateStage,
  UpdateStatus,
  UpdateWithStartRequest,
  WorkflowRef,
} from './engine.js';
import {
  InvalidArgumentError,
  UpdateNotFoundError,
  UpdateWaitTimeoutError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotRunningError,
} from './errors.js';
import { lockOpenRun, type ExecutionRow } from './executions.js';
import { KeyedDoorbells, pollUntil } from './keyed-doorbells.js';
import type { Notification } from './notifier.js';
import type { Payload, UpdateOutcome } from './protocol/index.js';
import {
  deliverToRun,
  lockOpenRunById,
  startInTransaction,
  validateIdentity,
  validateMessageArgs,
  type MessageContext,
  type RunTarget,
} from './signals.js';
import { payloadJson, validateName } from './validation.js';

const STAGE_RANK: Readonly<Record<UpdateStage, number>> = { ADMITTED: 1, ACCEPTED: 2, COMPLETED: 3 };
const FIRST_RECHECK_MS = 10;
const MAX_START_ROUNDS = 5;

export interface UpdateSettings {
  /** Fallback polling interval (engine option pollIntervalMs). */
  readonly pollIntervalMs: number;
}

interface UpdateRow {
  run_id: string;
  update_id: string;
  workflow_id: string;
  stage: UpdateStage;
  outcome: UpdateOutcome | null;
}

interface WaitOptions {
  readonly waitForStage?: UpdateStage;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** A checked update request. */
interface Admission {
  readonly updateId: string;
  readonly name: string;
  readonly args: readonly Payload[];
  readonly identity: { identity?: string };
}

function toStatus(r: UpdateRow): UpdateStatus {
  return {
    updateId: r.update_id,
    workflowId: r.workflow_id,
    runId: r.run_id,
    stage: r.stage,
    ...(r.stage === 'COMPLETED' && r.outcome ? { outcome: r.outcome } : {}),
  };
}

function validateWait(o: WaitOptions): void {
  if (o.waitForStage !== undefined && !(o.waitForStage in STAGE_RANK)) {
    throw new InvalidArgumentError('waitForStage', `must be 'ADMITTED', 'ACCEPTED' or 'COMPLETED', got ${JSON.stringify(o.waitForStage)}`);
  }
  if (o.timeoutMs !== undefined && (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1)) {
    throw new InvalidArgumentError('timeoutMs', `must be a positive integer (ms), got ${String(o.timeoutMs)}; leave it unset to wait without limit`);
  }
}

function validateUpdate(req: UpdateRequest, limits: MessageContext['limits'], field = ''): Admission {
  const updateId = req.updateId === undefined ? randomUUID() : validateName(`${field}updateId`, req.updateId);
  const name = validateName(`${field}name`, req.name);
  const args = validateMessageArgs(`${field}args`, req.args, limits);
  const identity = validateIdentity(req.identity);
  validateWait(req);
  return { updateId, name, args, identity };
}

/** The update `updateId` of a workflow id: in run `runId` if given, else in its latest run that has it. */
async function findUpdate(db: Kysely<Database> | Transaction<Database>, namespace: string, workflowId: string, updateId: string, runId?: string): Promise<UpdateRow | undefined> {
  let q = db
    .selectFrom('chronicle.workflow_updates')
    .select(['run_id', 'update_id', 'workflow_id', 'stage', 'outcome'])
    .where('namespace', '=', namespace)
    .where('workflow_id', '=', workflowId)
    .where('update_id', '=', updateId);
  if (runId) q = q.where('run_id', '=', runId);
  return (await q.orderBy('created_at', 'desc').limit(1).executeTakeFirst()) as UpdateRow | undefined;
}

/** Admits an update to a locked open run: the row and the inbox event, one transaction. */
async function admit(trx: Transaction<Database>, run: RunTarget & { workflow_id: string }, a: Admission): Promise<UpdateRow> {
  const row = (await trx
    .insertInto('chronicle.workflow_updates')
    .values({
      run_id: run.run_id,
      update_id: a.updateId,
      namespace: run.namespace,
      workflow_id: run.workflow_id,
      name: a.name,
      args: payloadJson(a.args),
      identity: a.identity.identity ?? null,
    })
    .onConflict((oc) => oc.columns(['run_id', 'update_id']).doNothing())
    .returning(['run_id', 'update_id', 'workflow_id', 'stage', 'outcome'])
    .executeTakeFirst()) as UpdateRow | undefined;
  if (!row) {
    // Unreachable while every admission holds the run's lock and looks first; kept exact anyway.
    const existing = await findUpdate(trx, run.namespace, run.workflow_id, a.updateId, run.run_id);
    if (existing) return existing;
    throw new Error(`update ${a.updateId} of run ${run.run_id} could not be admitted nor found`);
  }
  await deliverToRun(trx, run, 'WorkflowExecutionUpdateAdmitted', { updateId: a.updateId, name: a.name, args: a.args, ...a.identity });
  return row;
}

/** Updates of one engine: admission, waiting for stages, and their wake-ups. */
export class Updates {
  /** Callers waiting on an update, by `<runId>/<updateId>`. */
  private readonly bells = new KeyedDoorbells();

  private readonly db: Kysely<Database>;
  private readonly namespace: string;

  constructor(
    private readonly ctx: MessageContext,
    private readonly settings: UpdateSettings,
  ) {
    this.db = ctx.db;
    this.namespace = ctx.namespace;
  }

  /** LISTEN chronicle_update: payload `<runId>/<updateId>` (or '*'). */
  notified(payload: string): void {
    this.bells.ring(payload);
  }

  /** Wakes every waiter (they re-read and keep waiting; their own deadlines and signals end them). */
  close(): void {
    this.bells.ring('*');
  }

  /** Engine.updateWorkflow. */
  async update(ref: WorkflowRef, req: UpdateRequest): Promise<UpdateStatus> {
    validateName('workflowId', ref.workflowId);
    const a = validateUpdate(req, this.ctx.limits);
    const row =
      (await findUpdate(this.db, this.namespace, ref.workflowId, a.updateId, ref.runId)) ??
      (await retryOnDeadlock(() =>
        this.db.transaction().execute(async (trx) => {
          const ex = await lockOpenRun(trx, this.namespace, ref);
          // Under the run's lock: a concurrent request with this id has committed or will wait for us.
          return (await findUpdate(trx, this.namespace, ref.workflowId, a.updateId, ex.run_id)) ?? admit(trx, ex, a);
        }),
      ));
    return this.waitForStage(row, req);
  }

  /** Engine.pollWorkflowUpdate. */
  async poll(ref: WorkflowRef, updateId: string, options: WaitOptions = {}): Promise<UpdateStatus> {
    validateName('workflowId', ref.workflowId);
    validateName('updateId', updateId);
    validateWait(options);
    const row = await findUpdate(this.db, this.namespace, ref.workflowId, updateId, ref.runId);
    if (!row) throw new UpdateNotFoundError(ref.workflowId, updateId, ref.runId);
    return this.waitForStage(row, options);
  }

  /**
   * Engine.updateWithStart: admits the update to the open run, or starts the run and admits
   * it there, in one transaction. Concurrent callers create exactly one run: a loser's
   * insert waits for the winner's commit and finds the conflict; with USE_EXISTING it then
   * locks the winner's run and admits its update there, with FAIL it fails.
   */
  async updateWithStart(req: UpdateWithStartRequest): Promise<{ runId: string; started: boolean; update: UpdateStatus }> {
    const start = req?.start;
    if (typeof start !== 'object' || start === null) throw new InvalidArgumentError('start', 'must be a StartWorkflowRequest ({ workflowId, workflowType, taskQueue, … })');
    if (typeof req.update !== 'object' || req.update === null) throw new InvalidArgumentError('update', 'must be an UpdateRequest ({ name, args?, updateId?, … })');
    const workflowId = validateName('start.workflowId', start.workflowId);
    const policy = start.workflowIdConflictPolicy ?? 'FAIL';
    if (policy !== 'FAIL' && policy !== 'USE_EXISTING') {
      throw new InvalidArgumentError(
        'start.workflowIdConflictPolicy',
        `must be USE_EXISTING or FAIL for updateWithStart, got ${policy}; an update cannot be sent to a run that the start terminates`,
      );
    }
    if (start.workflowIdReusePolicy === 'TERMINATE_IF_RUNNING') {
      throw new InvalidArgumentError('start.workflowIdReusePolicy', 'TERMINATE_IF_RUNNING cannot be used with updateWithStart; use conflict policy USE_EXISTING or FAIL');
    }
    const a = validateUpdate(req.update, this.ctx.limits, 'update.');
    const startReq: StartWorkflowRequest = { ...start, workflowIdConflictPolicy: policy };

    const result = await retryOnDeadlock(() =>
      this.db.transaction().execute(async (trx) => {
        const none: Notification[] = [];
        for (let round = 1; round <= MAX_START_ROUNDS; round++) {
          const open: ExecutionRow | undefined = await lockOpenRunById(trx, this.namespace, workflowId);
          // A retried request (same update id) gets the first one's update, whatever the policy.
          const existing = await findUpdate(trx, this.namespace, workflowId, a.updateId, open?.run_id);
          if (existing) return { runId: existing.run_id, started: false, row: existing, notifications: none };
          if (open) {
            if (policy === 'FAIL') throw new WorkflowExecutionAlreadyStartedError(workflowId, open.workflow_type, open.run_id);
            return { runId: open.run_id, started: false, row: await admit(trx, open, a), notifications: none };
          }
          const started = await startInTransaction(this.ctx, trx, startReq);
          if (started.started) {
            const run = { run_id: started.runId, namespace: this.namespace, task_queue: start.taskQueue, workflow_id: workflowId };
            return { runId: started.runId, started: true, row: await admit(trx, run, a), notifications: started.notifications };
          }
          // USE_EXISTING and another caller's start committed between our look and our insert:
          // go round, lock that run and admit the update there.
        }
        throw new WorkflowExecutionAlreadyStartedError(workflowId, start.workflowType, 'unknown');
      }),
    );
    this.ctx.notifier.send(result.notifications);
    return { runId: result.runId, started: result.started, update: await this.waitForStage(result.row, req.update) };
  }

  /**
   * Waits until the update reaches `waitForStage` (default COMPLETED): at once on a NOTIFY
   * chronicle_update for it, else on a backing-off re-read. UpdateWaitTimeoutError after
   * `timeoutMs`; the signal's reason on abort.
   */
  private async waitForStage(first: UpdateRow, o: WaitOptions): Promise<UpdateStatus> {
    const want = o.waitForStage ?? 'COMPLETED';
    if (STAGE_RANK[first.stage] >= STAGE_RANK[want]) return toStatus(first);
    const { bell, release } = this.bells.acquire(`${first.run_id}/${first.update_id}`);
    let last = first;
    try {
      const status = await pollUntil({
        bell,
        deadline: o.timeoutMs === undefined ? Infinity : Date.now() + o.timeoutMs,
        minIntervalMs: FIRST_RECHECK_MS,
        maxIntervalMs: this.settings.pollIntervalMs,
        ...(o.signal ? { signal: o.signal } : {}),
        check: async () => {
          const { rows } = await sql<UpdateRow & { run_status: string }>`
            SELECT u.run_id, u.update_id, u.workflow_id, u.stage, u.outcome, e.status AS run_status
            FROM chronicle.workflow_updates u JOIN chronicle.executions e ON e.run_id = u.run_id
            WHERE u.run_id = ${first.run_id} AND u.update_id = ${first.update_id}`.execute(this.db);
          const row = rows[0];
          if (!row) throw new UpdateNotFoundError(first.workflow_id, first.update_id, first.run_id);
          last = row;
          if (STAGE_RANK[row.stage] >= STAGE_RANK[want]) return toStatus(row);
          // The transaction that closes a run completes its unfinished updates; read in the
          // same statement as the run's status, a closed run with an unfinished update
          // cannot be waiting for a commit still to come.
          if (row.run_status !== 'RUNNING') throw new WorkflowNotRunningError(row.workflow_id, row.run_id, row.run_status);
          return undefined;
        },
      });
      if (status) return status;
      throw new UpdateWaitTimeoutError(last.workflow_id, last.run_id, last.update_id, last.stage, want, o.timeoutMs ?? 0);
    } finally {
      release();
    }
  }
}
