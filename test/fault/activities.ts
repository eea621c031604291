/**
 * Activities of the fault tests. Each one first writes the ledger (the external side effect,
 * on its own pool, outside Chronicle's transactions), then does its "work", then returns the
 * oracle's value. A SIGKILL anywhere after the ledger insert leaves a visible execution that
 * never completed: the duplicate that I8 must be able to explain.
 */
import { activityInfo, heartbeat, sleep } from 'chronicle/activity';
import { ledgerPoolFromEnv, recordExecution } from './harness/ledger.js';
import { mixValue, stepValue } from './oracle.js';

async function recordThisAttempt(): Promise<void> {
  const info = activityInfo();
  await recordExecution(ledgerPoolFromEnv(), {
    workflowId: info.workflowId,
    runId: info.runId,
    activitySeq: info.activityId,
    activityType: info.activityType,
    attempt: info.attempt,
  });
}

/** Step k of a pipeline: `workMs` of work (a window for kills), then 2v + k. */
export async function step(k: number, value: number, workMs: number): Promise<number> {
  await recordThisAttempt();
  if (workMs > 0) await sleep(workMs);
  return stepValue(k, value);
}

/** Heartbeats every 100 ms while it works for `ms`; returns `value + 1`. Killed mid-flight by test (a). */
export async function slowStep(ms: number, value: number): Promise<number> {
  await recordThisAttempt();
  const end = Date.now() + ms;
  for (let left = ms; left > 0; left = end - Date.now()) {
    heartbeat({ leftMs: left });
    await sleep(Math.min(100, left));
  }
  return value + 1;
}

/** One item of `generations` (F6b): `workMs` of work (a window for kills), then mixValue(item, value). */
export async function mix(item: number, value: number, workMs: number): Promise<number> {
  await recordThisAttempt();
  if (workMs > 0) await sleep(workMs);
  return mixValue(item, value);
}
