/**
 * Workflows of the fault tests. Each result is a deterministic function of the input (see
 * oracle.ts), so a test knows the right answer whatever was killed along the way.
 *
 * Timeouts are short so that recovery after a kill is quick: a dead worker's plain activity
 * is retried once its 2 s start-to-close lease expires; a heartbeating one 2 s after its last
 * heartbeat (the SDK heartbeats at 0.8 × the timeout, leaving 400 ms of slack for the round
 * trip on a loaded 2-core box). Retries start after 200 ms and never wait more than 1 s.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from 'chronicle/workflow';
import type * as activities from './activities.js';
import { combineMixes, GENERATION_BATCH, GENERATIONS_START_VALUE } from './oracle.js';

const retry = { initialInterval: '200ms', maximumInterval: '1s' } as const;

const { step } = proxyActivities<typeof activities>({ startToCloseTimeout: '2s', retry });
const { slowStep } = proxyActivities<typeof activities>({ startToCloseTimeout: '20s', heartbeatTimeout: '2s', retry });
const { mix } = proxyActivities<typeof activities>({ startToCloseTimeout: '2s', retry });

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

// ---- F6b: continue-as-new under kills (continue-as-new.test.ts, worker processes) ----------

/** What a `generations` chain carries from run to run, and returns at the end. */
export interface GenerationsState {
  /** 1 for the first run of the chain. */
  readonly generation: number;
  /** Items done by the whole chain so far (a multiple of GENERATION_BATCH). */
  readonly items: number;
  /** The oracle's `generationsValue(items)` if nothing was lost or repeated. */
  readonly value: number;
  /** Items done by each finished run, in chain order. */
  readonly perRun: readonly number[];
}

/**
 * A loop that continues as new whenever the engine suggests it (its history passed the
 * warning threshold), for `generations` runs, and returns its state from the last one. Each
 * iteration runs GENERATION_BATCH `mix` activities and one durable timer in parallel, so
 * every run has activities and timers in flight when a worker is killed. Item and timer
 * durations are functions of the item number (deterministic on replay). Result: items and
 * value as in `generationsValue` (oracle.ts); `perRun` has one entry per run.
 */
export async function generations(target: number, state?: GenerationsState): Promise<GenerationsState> {
  const s = state ?? { generation: 1, items: 0, value: GENERATIONS_START_VALUE, perRun: [] };
  let { items, value } = s;
  while (!workflowInfo().continueAsNewSuggested) {
    const batch = Array.from({ length: GENERATION_BATCH }, (_, j) => items + j);
    const [results] = await Promise.all([Promise.all(batch.map((item) => mix(item, value, 10 + (item % 4) * 15))), sleep(10 + ((items * 7) % 40))]);
    value = combineMixes(value, results);
    items += batch.length;
  }
  const next: GenerationsState = { generation: s.generation, items, value, perRun: [...s.perRun, items - s.items] };
  if (s.generation >= target) return next;
  return continueAsNew<typeof generations>(target, { ...next, generation: s.generation + 1 });
}

// ---- in-process workers (history-limits.test.ts, late-events.test.ts) ----------------------
// These run on workers inside the test process, whose activities are closures of the test
// file (they need its pool and its maps), typed here by InProcessActivities.

/** The activities history-limits.test.ts and late-events.test.ts register on their workers. */
export interface InProcessActivities {
  /** n + 1. */
  tick(n: number): Promise<number>;
  /** The length of `s`. */
  measure(s: string): Promise<number>;
  /** Ledgers its execution, stashes its task token for the test, sleeps `ms` (no heartbeat), returns 'late-done'. */
  lateStep(ms: number): Promise<string>;
}

const inProcess = proxyActivities<InProcessActivities>({ startToCloseTimeout: '10s', retry });

export const recordSignal = defineSignal<[number]>('record');
export const finishSignal = defineSignal('finish');

/** F6c: records every `record` signal and never finishes (the history limit ends it). */
export async function signalRecorder(): Promise<number[]> {
  const seen: number[] = [];
  setHandler(recordSignal, (n) => void seen.push(n));
  await condition(() => false);
  return seen;
}

/** F6c: one activity after another, forever. */
export async function activityLoop(): Promise<number> {
  let n = 0;
  for (;;) n = await inProcess.tick(n);
}

/**
 * F6c: the documented pattern (docs/programming-model.md#continue-as-new) with activities
 * only: one activity after another until the engine suggests continuing as new; returns
 * the history length it saw then and how many activities it ran.
 */
export async function activitiesUntilSuggested(): Promise<{ historyLength: number; steps: number }> {
  let n = 0;
  while (!workflowInfo().continueAsNewSuggested) n = await inProcess.tick(n);
  return { historyLength: workflowInfo().historyLength, steps: n };
}

/** F6c: one short durable timer after another, forever. */
export async function timerLoop(): Promise<number> {
  for (;;) await sleep(5);
}

/** F6d: an activity argument of `bytes` characters (over a small payloadMaxBytes). */
export async function oversizedActivityArgument(bytes: number): Promise<number> {
  return await inProcess.measure('a'.repeat(bytes));
}

/** F6d: a workflow result of `bytes` characters. */
export async function oversizedResult(bytes: number): Promise<string> {
  return 'r'.repeat(bytes);
}

/** F6d: one workflow task scheduling `count` activities whose arguments are `bytes` characters each (each under the payload limit, together over the history size limit). */
export async function oversizedBatch(count: number, bytes: number): Promise<number[]> {
  return await Promise.all(Array.from({ length: count }, (_, i) => inProcess.measure(`${i}:${'b'.repeat(bytes)}`)));
}

/** F8c: when each racing thing is due, in ms after the run's first workflow task. */
export interface LateRacePlan {
  readonly activityMs: number;
  readonly timerMs: number;
  readonly childMs: number;
}

export interface LateRaceResult {
  /** The `record` signals the run saw, in order. */
  readonly values: number[];
  /** 'completed' or the failure type of the child's cause (TerminatedFailure, …). */
  readonly child: string;
  /** 'fired' or 'cancelled'. */
  readonly timer: string;
}

/** F8c: a child that sleeps `ms`, then returns. */
export async function lateChild(ms: number): Promise<string> {
  await sleep(ms);
  return 'child-done';
}

/**
 * F8c: in its first workflow task, starts an activity (never awaited), a timer (in a scope
 * it cancels before returning) and a child (TERMINATE parent close policy), all due at about
 * the same moment; records `record` signals; returns once it got `finish` and its child
 * closed. The test closes it (terminate, finish, or a run timeout) while they come due.
 */
export async function lateRacer(plan: LateRacePlan): Promise<LateRaceResult> {
  const values: number[] = [];
  let finished = false;
  setHandler(recordSignal, (n) => void values.push(n));
  setHandler(finishSignal, () => void (finished = true));
  const { workflowId } = workflowInfo();
  const childStarted = startChild(lateChild, { workflowId: `${workflowId}-child`, args: [plan.childMs] });
  inProcess.lateStep(plan.activityMs).catch(() => undefined);
  let timer: string | undefined;
  const timerScope = new CancellationScope();
  timerScope
    .run(() => sleep(plan.timerMs))
    .then(
      () => void (timer = 'fired'),
      (err: unknown) => {
        if (!isCancellation(err)) throw err;
        timer = 'cancelled';
      },
    );
  let child: string | undefined;
  const handle = await childStarted;
  handle.result().then(
    () => void (child = 'completed'),
    (err: unknown) => void (child = String((err as { cause?: { name?: string } }).cause?.name ?? (err as Error).name)),
  );
  await condition(() => finished && child !== undefined);
  timerScope.cancel();
  return { values, child: child!, timer: timer ?? 'cancelled' };
}
