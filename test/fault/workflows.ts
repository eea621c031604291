/**
 * Workflows of the fault tests. Each result is a deterministic function of the input (see
 * oracle.ts), so a test knows the right answer whatever was killed along the way.
 *
 * Timeouts are short so that recovery after a kill is quick: a dead worker's plain activity
 * is retried once its 2 s start-to-close lease expires; a heartbeating one 2 s after its last
 * heartbeat (the SDK heartbeats at 0.8 × the timeout, leaving 400 ms of slack for the round
 * trip on a loaded 2-core box). Retries start after 200 ms and never wait more than 1 s.
 */
import { proxyActivities, sleep } from 'chronicle/workflow';
import type * as activities from './activities.js';

const retry = { initialInterval: '200ms', maximumInterval: '1s' } as const;

const { step } = proxyActivities<typeof activities>({ startToCloseTimeout: '2s', retry });
const { slowStep } = proxyActivities<typeof activities>({ startToCloseTimeout: '20s', heartbeatTimeout: '2s', retry });

/** Three sequential steps, each `workMs` long: result `threeStepsResult(n)`. */
export async function threeSteps(n: number, workMs = 0): Promise<number> {
  let v = n;
  for (let k = 1; k <= 3; k++) v = await step(k, v, workMs);
  return v;
}

/** One heartbeating activity of `ms`: result `ms + 1`. */
export async function slowActivity(ms: number): Promise<number> {
  return await slowStep(ms, ms);
}

/** A durable sleep of `ms`, then one step: result `stepValue(1, n)`. */
export async function sleepThenStep(ms: number, n: number): Promise<number> {
  await sleep(ms);
  return await step(1, n, 0);
}
