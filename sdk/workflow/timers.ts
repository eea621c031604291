import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { CancellationScope } from './cancellation-scope.js';
import { getActivator } from './context.js';

/**
 * A durable timer: resolves after `ms` of workflow time, even across worker restarts (a
 * StartTimer command; the engine fires it). Durations as numbers (ms) or strings ('5s',
 * '2 hours'). `sleep(0)` and negative durations sleep 1 ms, as in Temporal.
 *
 * The timer belongs to the current CancellationScope: when that scope is cancelled (the
 * workflow's cancellation included) the timer is cancelled (CancelTimer) and the promise
 * rejects with a `CancelledFailure`; in a scope that is already cancelled it rejects at once.
 *
 * @example
 * await sleep('1 day');
 */
export function sleep(ms: Duration): Promise<void> {
  const activator = getActivator('sleep()');
  const durationMs = Math.max(1, parseDuration(ms, 'ms'));
  return activator.timers.start(durationMs, CancellationScope.current()).promise;
}
