import type { Engine, UpdateStatus } from '../../engine/engine.js';
import type { UpdateOutcome } from '../../engine/protocol/index.js';
import { fromFailureInfo } from '../workflow/errors.js';
import { updateError } from './engine-errors.js';
import { WorkflowUpdateFailedError } from './errors.js';

/**
 * A handle on one update of a workflow (Temporal's `WorkflowUpdateHandle`), from
 * `handle.startUpdate()`, `client.workflow.startUpdateWithStart()` or
 * `handle.getUpdateHandle(updateId)`.
 *
 * @example
 * ```ts
 * const update = await handle.startUpdate(depositUpdate, { args: [100], waitForStage: WorkflowUpdateStage.ACCEPTED });
 * // the workflow accepted it (its validator passed); the handler may still be running
 * const balance = await update.result();
 * ```
 */
export class WorkflowUpdateHandle<Ret> {
  /** @internal Made by the client. */
  constructor(
    private readonly engine: Engine,
    /** The update's id: its idempotency key (a second request with this id gets this update's outcome). */
    readonly updateId: string,
    /** The workflow the update was sent to. */
    readonly workflowId: string,
    /** The run that received the update, when known. */
    readonly workflowRunId: string | undefined,
    private outcome?: UpdateOutcome,
  ) {}

  /**
   * Waits for the update to complete and returns what its handler returned.
   *
   * @throws WorkflowUpdateFailedError when the validator rejected the update, the handler threw
   *   a `TemporalFailure`, or the run closed before the handler finished; `cause` says which.
   * @throws UpdateNotFoundError (a `ChronicleError`) for an update id the run never received.
   */
  async result(): Promise<Ret> {
    if (this.outcome === undefined) {
      const ref = this.workflowRunId !== undefined ? { workflowId: this.workflowId, runId: this.workflowRunId } : { workflowId: this.workflowId };
      let status: UpdateStatus;
      try {
        status = await this.engine.pollWorkflowUpdate(ref, this.updateId, { waitForStage: 'COMPLETED' });
      } catch (err) {
        throw updateError(err);
      }
      this.outcome = status.outcome;
      if (this.outcome === undefined) throw new Error(`The engine reported update '${this.updateId}' at stage ${status.stage} without an outcome after waiting for COMPLETED`);
    }
    return resultOf<Ret>(this.outcome);
  }
}

/** An update's result, or WorkflowUpdateFailedError with its failure rebuilt as the cause. */
export function resultOf<Ret>(outcome: UpdateOutcome): Ret {
  if ('failure' in outcome) throw new WorkflowUpdateFailedError('Workflow Update failed', fromFailureInfo(outcome.failure));
  return outcome.result as Ret;
}
