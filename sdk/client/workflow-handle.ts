import type { Engine, WorkflowDescription, WorkflowExecutionStatus } from '../../engine/engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { fromFailureInfo } from '../workflow/errors.js';
import { WorkflowFailedError } from './errors.js';

/** Temporal-shaped description: `status.name` is RUNNING, COMPLETED, FAILED, … */
export interface WorkflowExecutionDescription extends Omit<WorkflowDescription, 'status' | 'startTime' | 'closeTime'> {
  readonly status: { readonly name: WorkflowExecutionStatus };
  readonly type: string;
  readonly startTime: Date;
  readonly closeTime?: Date;
}

/**
 * A handle on a workflow: by id (following whichever run is open or latest) or on one run.
 * Cheap to create; every method is one call to the engine.
 */
export class WorkflowHandle<R = unknown> {
  constructor(
    private readonly engine: Engine,
    readonly workflowId: string,
    /** The run this handle is bound to; undefined means "the current run of workflowId". */
    readonly runId: string | undefined,
    /** Run id returned by start(), if this handle came from start(). */
    readonly firstExecutionRunId?: string,
    /** Recorded in history as who cancelled or terminated the run. */
    private readonly identity?: string,
  ) {}

  private get ref() {
    return this.runId ? { workflowId: this.workflowId, runId: this.runId } : { workflowId: this.workflowId };
  }

  /**
   * Waits for the run to close and returns its result. Throws WorkflowFailedError when it
   * failed, was cancelled (cause CancelledFailure), terminated (cause TerminatedFailure) or
   * timed out.
   */
  async result(options: { signal?: AbortSignal } = {}): Promise<R> {
    const outcome = await this.engine.awaitOutcome(this.ref, options);
    switch (outcome.status) {
      case 'COMPLETED':
        return outcome.result as R;
      case 'FAILED':
        throw new WorkflowFailedError('Workflow execution failed', fromFailureInfo(outcome.failure), 'NON_RETRYABLE_FAILURE');
      case 'CANCELLED':
        throw new WorkflowFailedError(
          'Workflow execution cancelled',
          fromFailureInfo({ failureType: 'cancelled', message: 'Workflow canceled', ...(outcome.details !== undefined ? { details: [outcome.details] } : {}) }),
          'CANCEL_REQUESTED',
        );
      case 'TERMINATED':
        throw new WorkflowFailedError(
          'Workflow execution terminated',
          fromFailureInfo({ failureType: 'terminated', message: outcome.reason ? `Workflow terminated: ${outcome.reason}` : 'Workflow terminated' }),
          'NON_RETRYABLE_FAILURE',
        );
      case 'TIMED_OUT':
        throw new WorkflowFailedError('Workflow execution timed out', fromFailureInfo({ failureType: 'timeout', message: 'Workflow timed out' }), 'TIMEOUT');
      case 'CONTINUED_AS_NEW':
        return new WorkflowHandle<R>(this.engine, this.workflowId, outcome.newRunId, undefined, this.identity).result(options);
    }
  }

  async describe(): Promise<WorkflowExecutionDescription> {
    const d = await this.engine.describeWorkflow(this.ref);
    const { status, startTime, closeTime, ...rest } = d;
    return {
      ...rest,
      type: d.workflowType,
      status: { name: status },
      startTime: new Date(startTime),
      ...(closeTime !== undefined ? { closeTime: new Date(closeTime) } : {}),
    };
  }

  /** The run's whole history, read page by page. */
  async fetchHistory(): Promise<{ events: HistoryEvent[] }> {
    const events: HistoryEvent[] = [];
    let from: number | undefined = 1;
    while (from !== undefined) {
      const page = await this.engine.getHistory(this.ref, { fromEventId: from, pageSize: 1000 });
      events.push(...page.events);
      from = page.nextEventId;
    }
    return { events };
  }

  /** Requests cancellation: the workflow sees it at its next task and decides how to end. */
  cancel(reason?: string): Promise<void> {
    return this.engine.requestCancelWorkflow(this.ref, { ...(reason ? { reason } : {}), ...(this.identity ? { identity: this.identity } : {}) });
  }

  /** Ends the run at once, without running workflow code. */
  terminate(reason?: string): Promise<void> {
    return this.engine.terminateWorkflow(this.ref, { ...(reason ? { reason } : {}), ...(this.identity ? { identity: this.identity } : {}) });
  }
}
