import { onScopeCancelled, type CancellationScope } from '../cancellation-scope.js';
import { neverIssued, noop, quietly, type RunCore } from './core.js';

interface PendingTimer {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly unsubscribe: () => void;
}

/** The run's durable timers (StartTimer/CancelTimer commands, FireTimer jobs). */
export class Timers {
  private readonly pending = new Map<number, PendingTimer>();

  constructor(private readonly core: RunCore) {}

  /**
   * Starts a timer in `scope`. When the scope is cancelled first, the timer is cancelled
   * (CancelTimer) and the promise rejects with the scope's CancelledFailure; in a scope that
   * is already cancelled nothing is started (`seq` 0).
   */
  start(durationMs: number, scope: CancellationScope, api = 'sleep()'): { readonly seq: number; readonly promise: Promise<void> } {
    this.core.assertMayIssueCommands(api);
    if (scope.consideredCancelled) return { seq: 0, promise: quietly(scope.cancelRequested) };
    const seq = this.core.nextSeq('timer');
    const promise = new Promise<void>((resolve, reject) => {
      const unsubscribe = scope.cancellable
        ? onScopeCancelled(scope, (reason) => {
            if (this.cancel(seq)) reject(reason);
          })
        : noop;
      this.pending.set(seq, { resolve, reject, unsubscribe });
    });
    this.core.pushCommand({ kind: 'StartTimer', seq, durationMs });
    return { seq, promise: quietly(promise) };
  }

  /**
   * Cancels a timer that has not fired (CancelTimer); its promise never settles. False when
   * it was not pending. Unlike Temporal Core, a timer started and cancelled in the same
   * activation is recorded as both commands (the engine never fires it): histories already
   * hold such pairs, and eliding them now would make those histories non-deterministic.
   */
  cancel(seq: number): boolean {
    const pending = this.pending.get(seq);
    if (!pending) return false;
    this.pending.delete(seq);
    pending.unsubscribe();
    this.core.pushCommand({ kind: 'CancelTimer', seq });
    return true;
  }

  fire(seq: number): void {
    const pending = this.pending.get(seq);
    if (!pending) {
      if (seq > this.core.issued('timer')) throw neverIssued('Timer', seq, this.core.issued('timer'));
      return; // cancelled before it fired
    }
    this.pending.delete(seq);
    pending.unsubscribe();
    pending.resolve();
  }
}
