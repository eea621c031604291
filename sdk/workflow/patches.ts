import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { getActivator } from './context.js';

/**
 * Versioning (Temporal's `patched`): returns true when this run may take the new code path.
 *
 * - A run that reaches this call live takes it: true, and a `core_patch` marker is recorded.
 * - A replayed run takes it only if its history recorded that marker at this point: replaying
 *   a history written by the old code returns false, so the old path is replayed; a history
 *   written by the new code returns true.
 * - The answer is remembered for the rest of the run.
 *
 * Once no run of the old code is left, replace the call with `deprecatePatch(id)`, and later
 * remove that too.
 *
 * @example
 * if (patched('charge-before-ship')) { await acts.charge(order); await acts.ship(order); }
 * else { await acts.ship(order); await acts.charge(order); }
 */
export function patched(patchId: string): boolean {
  return getActivator('patched()').patches.check(checkId(patchId, 'patched'), false);
}

/**
 * The second step of removing a patch: the old code path is gone, but histories recorded
 * with the patch still replay. Records a deprecated `core_patch` marker live; on replay it
 * matches the marker the history holds (or nothing). Code without the call replays histories
 * whose marker is deprecated too.
 *
 * @example
 * deprecatePatch('charge-before-ship');
 * await acts.charge(order);
 * await acts.ship(order);
 */
export function deprecatePatch(patchId: string): void {
  getActivator('deprecatePatch()').patches.check(checkId(patchId, 'deprecatePatch'), true);
}

function checkId(patchId: unknown, api: string): string {
  if (typeof patchId !== 'string' || patchId === '') throw new InvalidArgumentError('patchId', `${api}(patchId) needs a non-empty string, got ${JSON.stringify(patchId)}`);
  return patchId;
}
