// Module top-level code that never finishes: evaluating the bundle must time out.
import { proxyActivities } from '../../workflow/index.js';

proxyActivities({ startToCloseTimeout: '1s' });
const started = Date.now();
let spins = 0;
while (globalThis.Number.isFinite(started)) spins++;

export async function neverReached(): Promise<number> {
  return spins;
}
