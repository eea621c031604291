import { proxyActivities } from 'chronicle/workflow';
import type * as activities from './activities.js';

const { step } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

/** Three sequential activities: the unit the benchmark counts. */
export async function threeSteps(input: number): Promise<number> {
  const a = await step(input);
  const b = await step(a);
  return await step(b);
}
