import { activityInfo } from 'chronicle/activity';

/** schedule→start latencies (ms) of first attempts, read by the benchmark. */
export const scheduleToStart: number[] = [];

export async function step(x: number): Promise<number> {
  const info = activityInfo();
  if (info.attempt === 1) scheduleToStart.push(Date.now() - info.scheduledTimestampMs);
  return x + 1;
}
