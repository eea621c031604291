import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { getActivator } from './context.js';

/**
 * A durable timer: resolves after `ms` of workflow time, even across worker restarts (a
 * StartTimer command; the engine fires it). Durations as numbers (ms) or strings ('5s',
 * '2 hours'). `sleep(0)` and negative durations sleep 1 ms, as in Temporal. Rejects with a
 * `CancelledFailure` when the workflow's cancellation is requested while it sleeps.
 *
 * @example
 * await sleep('1 day');
 */
export function sleep(ms: Duration): Promise<void> {
  const activator = getActivator('sleep()');
  const durationMs = Math.max(1, parseDuration(ms, 'ms'));
  return activator.startTimer(durationMs).promise;
}
