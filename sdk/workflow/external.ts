import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator } from './context.js';
import type { SignalDefinition } from './definitions.js';

/** A handle on another workflow execution (Temporal's `ExternalWorkflowHandle`). */
export interface ExternalWorkflowHandle {
  readonly workflowId: string;
  /** Undefined: whichever run of `workflowId` is open when the request is delivered. */
  readonly runId?: string;
  /**
   * Signals the workflow (SignalExternalWorkflow command; the engine delivers it in the same
   * transaction). Resolves once delivered; rejects with an ApplicationFailure of type
   * `ExternalWorkflowExecutionNotFound` when no such open run exists.
   */
  signal<Args extends any[] = [], Name extends string = string>(def: SignalDefinition<Args, Name> | string, ...args: Args): Promise<void>;
  /**
   * Requests the workflow's cancellation (RequestCancelExternalWorkflow command). Resolves
   * once the request was delivered (the target decides what to do with it); rejects when no
   * such open run exists.
   */
  cancel(): Promise<void>;
}

/**
 * A handle to signal or cancel another workflow from this one. Making the handle does
 * nothing; each call issues a command and belongs to the current CancellationScope.
 *
 * @example
 * await getExternalWorkflowHandle(`order-${orderId}`).signal(paymentReceived, amount);
 */
export function getExternalWorkflowHandle(workflowId: string, runId?: string): ExternalWorkflowHandle {
  getActivator('getExternalWorkflowHandle()');
  if (typeof workflowId !== 'string' || workflowId === '') throw new InvalidArgumentError('workflowId', `expected a non-empty string, got ${JSON.stringify(workflowId)}`);
  if (runId !== undefined && (typeof runId !== 'string' || runId === '')) throw new InvalidArgumentError('runId', `expected a non-empty string or undefined, got ${JSON.stringify(runId)}`);
  const target = { workflowId, ...(runId !== undefined ? { runId } : {}), childWorkflowOnly: false };
  return Object.freeze({
    workflowId,
    runId,
    signal: (def: SignalDefinition<any[]> | string, ...args: unknown[]) =>
      getActivator('ExternalWorkflowHandle.signal()').external.signal(target, typeof def === 'string' ? def : def.name, args, CancellationScope.current()),
    cancel: () => getActivator('ExternalWorkflowHandle.cancel()').external.requestCancel(target, CancellationScope.current()),
  }) as ExternalWorkflowHandle;
}
