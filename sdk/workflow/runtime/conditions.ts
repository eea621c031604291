import { onScopeCancelled, type CancellationScope } from '../cancellation-scope.js';
import { noop, quietly, type RunCore } from './core.js';

interface Blocked {
  readonly fn: () => boolean;
  readonly resolve: () => void;
}

/**
 * The run's blocked `condition(fn)` calls (SEMANTICS.md item 9). A predicate is checked when
 * `condition` is called, after every job of an activation, and again each time the sandbox
 * has drained its microtasks, until no condition unblocks any more (Temporal's
 * `tryUnblockConditions`).
 */
export class Conditions {
  private readonly blocked = new Map<number, Blocked>();
  private nextId = 1;

  constructor(private readonly core: RunCore) {}

  wait(fn: () => boolean, scope: CancellationScope): Promise<void> {
    if (scope.consideredCancelled) return quietly(scope.cancelRequested);
    return quietly(
      new Promise<void>((resolve, reject) => {
        if (fn()) {
          resolve();
          return;
        }
        const id = this.nextId++;
        const unsubscribe = scope.cancellable
          ? onScopeCancelled(scope, (reason) => {
              if (this.blocked.delete(id)) reject(reason);
            })
          : noop;
        this.blocked.set(id, {
          fn,
          resolve: () => {
            unsubscribe();
            resolve();
          },
        });
      }),
    );
  }

  /**
   * Resolves every blocked condition whose predicate is now true, repeating while any did
   * (a resolution cannot run code before the microtasks drain, but predicates may read state
   * another predicate's check changed). Returns how many resolved. A predicate that throws
   * fails the workflow task, as in Temporal.
   */
  unblock(): number {
    let unblocked = 0;
    for (;;) {
      const before = unblocked;
      for (const [id, blocked] of this.blocked) {
        let ready: boolean;
        try {
          ready = blocked.fn();
        } catch (err) {
          this.blocked.delete(id);
          this.core.failTask(err);
          continue;
        }
        if (ready) {
          this.blocked.delete(id);
          blocked.resolve();
          unblocked++;
        }
      }
      if (unblocked === before) return unblocked;
    }
  }

  get size(): number {
    return this.blocked.size;
  }
}
