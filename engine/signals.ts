/**
 * Signals from clients: `signalWorkflow` and `signalWithStart`, plus the two steps every
 * client message to a run shares with updates (engine/updates.ts): lock the open run a ref
 * names, and deliver an event to its inbox.
 *
 * A signal is an inbox event (WorkflowExecutionSignaled). The run's next workflow task
 * hands it to the workflow and its completion appends it to history, so a signal that
 * arrives while a task is in flight is ordered after that task (engine/inbox.ts). It is
 * never dropped: a completion that would close the run while a signal waits unseen is
 * rejected and the task runs again with it (RELIABILITY F8b).
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db/database.js';
import { retryOnDeadlock } from './deadlock-retry.js';
import type { SignalRequest, SignalWithStartRequest, StartWorkflowRequest, StartWorkflowResponse, WorkflowRef } from './engine.js';
import { InvalidArgumentError, WorkflowExecutionAlreadyStartedError, WorkflowNotRunningError } from './errors.js';
import { lockOpenRun, resolveRun, startExecution, type ExecutionRow, type StartExecutionResult } from './executions.js';
import { deliverTail } from './inbox.js';
import type { LimitSettings } from './limits.js';
import type { Notifier } from './notifier.js';
import type { EventAttributes, Payload } from './protocol/index.js';
import { payloadJson, validateName, validatePayloads, validatePayloadSize } from './validation.js';

/** What the message operations of one engine share. */
export interface MessageContext {
  readonly db: Kysely<Database>;
  readonly namespace: string;
  /** The engine's limits: payloadMaxBytes for message arguments, all of them for starts. */
  readonly limits: LimitSettings;
  /** Sends a start's wake-ups after the commit. */
  readonly notifier: Notifier;
}

/** The run facts delivering an event needs. */
export type RunTarget = Pick<ExecutionRow, 'run_id' | 'namespace' | 'task_queue'>;

// A run that closes while a message waits for its lock is usually replaced at once (a
// continue-as-new); a few rounds cover back-to-back closes without looping forever.
const MAX_RESOLVE_ROUNDS = 5;

/**
 * The open run of a workflow id, locked, or undefined. A run that closes while we wait for
 * its lock no longer matches `status = 'RUNNING'` when the row is re-checked after the wait,
 * so it is skipped rather than returned closed.
 */
export async function lockOpenRunById(trx: Transaction<Database>, namespace: string, workflowId: string): Promise<ExecutionRow | undefined> {
  return (await trx
    .selectFrom('chronicle.executions')
    .selectAll()
    .where('namespace', '=', namespace)
    .where('workflow_id', '=', workflowId)
    .where('status', '=', 'RUNNING')
    .forNoKeyUpdate()
    .executeTakeFirst()) as ExecutionRow | undefined;
}

/** Delivers one event to a locked open run's inbox (the rules of engine/inbox.ts). */
export async function deliverToRun<T extends 'WorkflowExecutionSignaled' | 'WorkflowExecutionUpdateAdmitted'>(
  trx: Transaction<Database>,
  run: RunTarget,
  eventType: T,
  attributes: EventAttributes[T],
): Promise<void> {
  await sql`
    WITH delivered AS (
      SELECT ${run.run_id}::uuid AS run_id, ${run.namespace}::text AS namespace, ${run.task_queue}::text AS task_queue,
             ${eventType}::text AS event_type, ${payloadJson(attributes)}::jsonb AS attributes, 1 AS ord
    ) ${deliverTail()}`.execute(trx);
}

/** Checks a message's arguments: JSON values, each within the payload size limit. Returns them (default []). */
export function validateMessageArgs(field: string, args: readonly Payload[] | undefined, limits: Pick<LimitSettings, 'payloadMaxBytes'>): readonly Payload[] {
  const value = args ?? [];
  validatePayloads(field, value);
  value.forEach((a, i) => validatePayloadSize(`${field}[${i}]`, a, limits.payloadMaxBytes));
  return value;
}

export function validateIdentity(identity: string | undefined): { identity?: string } {
  return identity === undefined ? {} : { identity: validateName('identity', identity) };
}

/** Engine.signalWorkflow: one transaction; nothing is written when the run is not open. */
export async function signalWorkflow(ctx: MessageContext, ref: WorkflowRef, req: SignalRequest): Promise<void> {
  validateName('workflowId', ref.workflowId);
  const signalName = validateName('signalName', req.signalName);
  const args = validateMessageArgs('args', req.args, ctx.limits);
  const identity = validateIdentity(req.identity);
  await retryOnDeadlock(() =>
    ctx.db.transaction().execute(async (trx) => {
      const ex = await lockOpenRun(trx, ctx.namespace, ref);
      await deliverToRun(trx, ex, 'WorkflowExecutionSignaled', { signalName, args, ...identity });
    }),
  );
}

/**
 * Engine.signalWithStart: signals the open run of the workflow id or, when none is open,
 * starts one and signals it, in one transaction. Conflict policy as Temporal's: unset or
 * USE_EXISTING signal the open run; TERMINATE_EXISTING ends it and starts a new one; FAIL
 * is refused (a signal-with-start that fails on an open run would be a plain start).
 *
 * Concurrent callers: the partial unique index on open workflow ids lets one start win; a
 * loser's insert waits for the winner's commit, finds the conflict, and the loop then
 * locks the winner's run and signals it. Every signal is delivered, to exactly one run.
 */
export async function signalWithStart(ctx: MessageContext, req: SignalWithStartRequest): Promise<StartWorkflowResponse> {
  const { namespace } = ctx;
  const workflowId = validateName('workflowId', req.workflowId);
  const signalName = validateName('signalName', req.signalName);
  const signalArgs = validateMessageArgs('signalArgs', req.signalArgs, ctx.limits);
  const identity = validateIdentity(req.identity);
  if (req.workflowIdConflictPolicy === 'FAIL') {
    throw new InvalidArgumentError(
      'workflowIdConflictPolicy',
      "FAIL is not supported by signalWithStart, which signals the open run when there is one; leave it unset (or USE_EXISTING), use TERMINATE_EXISTING to replace the open run, or call startWorkflow then signalWorkflow",
    );
  }
  const terminate = req.workflowIdConflictPolicy === 'TERMINATE_EXISTING';
  const start: StartWorkflowRequest = {
    workflowId: req.workflowId,
    workflowType: req.workflowType,
    taskQueue: req.taskQueue,
    ...(req.args !== undefined ? { args: req.args } : {}),
    ...(req.identity !== undefined ? { identity: req.identity } : {}),
    ...(req.workflowIdReusePolicy !== undefined ? { workflowIdReusePolicy: req.workflowIdReusePolicy } : {}),
    ...(req.searchAttributes !== undefined ? { searchAttributes: req.searchAttributes } : {}),
    ...(req.memo !== undefined ? { memo: req.memo } : {}),
    ...(req.workflowExecutionTimeoutMs !== undefined ? { workflowExecutionTimeoutMs: req.workflowExecutionTimeoutMs } : {}),
    ...(req.workflowRunTimeoutMs !== undefined ? { workflowRunTimeoutMs: req.workflowRunTimeoutMs } : {}),
    workflowIdConflictPolicy: terminate ? 'TERMINATE_EXISTING' : 'USE_EXISTING',
  };
  const attributes = { signalName, args: signalArgs, ...identity };

  // Deadlock retry: TERMINATE_EXISTING closes a run, which also locks its parent's run.
  const { response, notifications } = await retryOnDeadlock(() =>
    ctx.db.transaction().execute(async (trx) => {
      for (let round = 1; round <= MAX_RESOLVE_ROUNDS; round++) {
        if (!terminate) {
          const open = await lockOpenRunById(trx, namespace, workflowId);
          if (open) {
            await deliverToRun(trx, open, 'WorkflowExecutionSignaled', attributes);
            return { response: { runId: open.run_id, started: false }, notifications: [] };
          }
        }
        const started = await startInTransaction(ctx, trx, start);
        if (started.started) {
          // The new run's first task is pending: it will carry WorkflowExecutionStarted and the signal.
          await deliverToRun(trx, { run_id: started.runId, namespace, task_queue: start.taskQueue }, 'WorkflowExecutionSignaled', attributes);
          return { response: { runId: started.runId, started: true }, notifications: started.notifications };
        }
        // Another caller's start committed between our look and our insert: signal that run.
      }
      throw new WorkflowExecutionAlreadyStartedError(workflowId, req.workflowType, 'unknown');
    }),
  );
  ctx.notifier.send(notifications);
  return response;
}

/**
 * Starts a run inside the caller's transaction (engine/executions.ts). With conflict policy
 * USE_EXISTING an open run is not an error: `started` is false and the caller locks and
 * uses that run. The caller sends `notifications` after its commit.
 */
export function startInTransaction(ctx: MessageContext, trx: Transaction<Database>, req: StartWorkflowRequest): Promise<StartExecutionResult> {
  return startExecution(trx, ctx.namespace, req, { limits: ctx.limits });
}
