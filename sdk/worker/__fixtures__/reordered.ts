// twoSteps with its two activities swapped: incompatible with histories of workflows.ts' twoSteps.
import { proxyActivities } from '../../workflow/index.js';
import type * as activities from './activities.js';

const acts = proxyActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export async function twoSteps(orderId: string): Promise<string> {
  await acts.chargeCard(orderId, 100);
  await acts.reserveStock(orderId);
  return 'done';
}
