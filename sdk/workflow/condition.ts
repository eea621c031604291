import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator } from './context.js';

/**
 * Waits until `fn` returns true. `fn` must be synchronous and deterministic (read workflow
 * state only); it is checked at once, after every job of each activation, and again whenever
 * workflow code ran, until it holds.
 *
 * With a `timeout`, resolves `true` when `fn` held first and `false` when the timeout (a
 * durable timer) fired first; the timer is cancelled (CancelTimer) when `fn` wins. The timer
 * runs in its own cancellable scope, as in Temporal; `condition(fn, 0)` waits 1 ms (Temporal's
 * behaviour since 1.5; Chronicle has no pre-1.5 histories to keep). A timer started and
 * cancelled in the same activation is recorded (Temporal Core would elide the pair). Belongs
 * to the current CancellationScope: cancelling it rejects with a `CancelledFailure`.
 *
 * @example
 * setHandler(approve, () => void (approved = true));
 * if (!(await condition(() => approved, '7 days'))) throw ApplicationFailure.nonRetryable('not approved in time');
 */
export function condition(fn: () => boolean, timeout: Duration): Promise<boolean>;
export function condition(fn: () => boolean): Promise<void>;
export function condition(fn: () => boolean, timeout?: Duration): Promise<void | boolean> {
  const activator = getActivator('condition()');
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', `condition(fn) needs a function returning a boolean, got ${typeof fn}`);
  if (timeout === undefined) return activator.conditions.wait(fn, CancellationScope.current());
  const ms = Math.max(1, parseDuration(timeout, 'timeout'));
  return CancellationScope.cancellable(async () => {
    try {
      return await Promise.race([
        activator.timers.start(ms, CancellationScope.current(), 'condition()').promise.then(() => false),
        activator.conditions.wait(fn, CancellationScope.current()).then(() => true),
      ]);
    } finally {
      CancellationScope.current().cancel(); // cancels the timer when fn won, the wait when the timer did
    }
  });
}
