import type { FailureInfo } from '../../../engine/protocol/failures.js';
import { onScopeCancelled, type CancellationScope } from '../cancellation-scope.js';
import { fromFailureInfo } from '../errors.js';
import { neverIssued, noop, quietly, toPayloads, type RunCore } from './core.js';

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly unsubscribe: () => void;
}

export interface ExternalTarget {
  readonly workflowId: string;
  readonly runId?: string;
  /** Deliver only if the target is a child of this run (child handles). */
  readonly childWorkflowOnly: boolean;
}

/**
 * Signals and cancel requests this run sends to other runs (SignalExternalWorkflow and
 * RequestCancelExternalWorkflow commands; their Resolve… jobs), for external handles and
 * for child handles alike (plan §8).
 */
export class ExternalRequests {
  private readonly signals = new Map<number, Pending>();
  private readonly cancels = new Map<number, Pending>();

  constructor(private readonly core: RunCore) {}

  /**
   * Sends a signal. Resolves once the engine delivered it; rejects when the target does not
   * exist (or is closed), or with the scope's CancelledFailure when the scope is cancelled
   * first (the signal may still be delivered: the engine sends it in the same transaction).
   */
  signal(target: ExternalTarget, signalName: string, rawArgs: readonly unknown[], scope: CancellationScope): Promise<void> {
    this.core.assertMayIssueCommands('signal()');
    if (scope.consideredCancelled) return quietly(scope.cancelRequested);
    const args = toPayloads(rawArgs, `signal '${signalName}' to workflow '${target.workflowId}'`);
    const seq = this.core.nextSeq('signalExternal');
    const promise = this.track(this.signals, seq, scope);
    this.core.pushCommand({ kind: 'SignalExternalWorkflow', seq, ...targetFields(target), signalName, args });
    return promise;
  }

  /**
   * Requests a run's cancellation. Resolves once the engine delivered the request; rejects
   * when the target does not exist. `scope` undefined: not cancellable (a child's own cancel).
   */
  requestCancel(target: ExternalTarget, scope: CancellationScope | undefined): Promise<void> {
    this.core.assertMayIssueCommands('cancel()');
    if (scope?.consideredCancelled) return quietly(scope.cancelRequested);
    const seq = this.core.nextSeq('cancelExternal');
    const promise = this.track(this.cancels, seq, scope);
    this.core.pushCommand({ kind: 'RequestCancelExternalWorkflow', seq, ...targetFields(target) });
    return promise;
  }

  resolveSignal(seq: number, failure: FailureInfo | undefined): void {
    this.settle(this.signals, 'External signal', 'signalExternal', seq, failure);
  }

  resolveCancel(seq: number, failure: FailureInfo | undefined): void {
    this.settle(this.cancels, 'External cancel request', 'cancelExternal', seq, failure);
  }

  private track(table: Map<number, Pending>, seq: number, scope: CancellationScope | undefined): Promise<void> {
    return quietly(
      new Promise<void>((resolve, reject) => {
        const unsubscribe =
          scope?.cancellable === true
            ? onScopeCancelled(scope, (reason) => {
                if (table.delete(seq)) reject(reason);
              })
            : noop;
        table.set(seq, { resolve, reject, unsubscribe });
      }),
    );
  }

  private settle(table: Map<number, Pending>, what: string, kind: 'signalExternal' | 'cancelExternal', seq: number, failure: FailureInfo | undefined): void {
    const pending = table.get(seq);
    if (!pending) {
      if (seq > this.core.issued(kind)) throw neverIssued(what, seq, this.core.issued(kind));
      return; // its scope was cancelled meanwhile
    }
    table.delete(seq);
    pending.unsubscribe();
    if (failure === undefined) pending.resolve();
    else pending.reject(fromFailureInfo(failure));
  }
}

function targetFields(target: ExternalTarget) {
  return { workflowId: target.workflowId, ...(target.runId !== undefined ? { runId: target.runId } : {}), childWorkflowOnly: target.childWorkflowOnly };
}
