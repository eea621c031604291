/**
 * Workflow fixtures for the sandbox, replay and WorkflowRun tests. Module top-level code
 * here runs in plain Node too (the plain-Node test imports this file).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  proxyActivities,
  sleep,
  uuid4,
  workflowInfo,
} from '../../workflow/index.js';
import type * as activities from './activities.js';
import { formatOrder } from './helpers/format.js';

// Top-level proxies: must work outside a workflow (only calling them needs one).
export const acts = proxyActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});
const priorityActs = proxyActivities<typeof activities>({ scheduleToCloseTimeout: '10m', priority: 90, taskQueue: 'payments' });

// Module-level randomness: deterministic per run, because the sandbox seeds it before this module runs.
const moduleRandom = Math.random();

/** Three activities, one after another. */
export async function sequential(orderId: string): Promise<string> {
  const reserved = await acts.reserveStock(orderId);
  const charge = await acts.chargeCard(orderId, 100);
  const shipped = await acts.ship(orderId);
  return formatOrder(orderId, [reserved, charge.chargeId, shipped]);
}

/** Two activities: reserve, then charge. `reordered.ts` swaps them. */
export async function twoSteps(orderId: string): Promise<string> {
  await acts.reserveStock(orderId);
  await acts.chargeCard(orderId, 100);
  return 'done';
}

/** Parallel fan-out: one activity per item, all scheduled in the same activation. */
export async function fanOut(items: string[]): Promise<string[]> {
  return Promise.all(items.map((item) => acts.reserveStock(item)));
}

/** A durable timer; returns how much workflow time passed. */
export async function sleeper(duration: string | number): Promise<number> {
  const before = Date.now();
  await sleep(duration);
  return Date.now() - before;
}

/** Every deterministic source, sampled in two activations. */
export async function randomness(): Promise<unknown> {
  const sample = () => ({
    now: Date.now(),
    date: new Date().toISOString(),
    dateString: typeof Date(),
    random: Math.random(),
    uuid: uuid4(),
    cryptoUuid: crypto.randomUUID(),
    bytes: Array.from(crypto.getRandomValues(new Uint8Array(4))),
  });
  const first = sample();
  await sleep('1s');
  const second = sample();
  return { first, second, moduleRandom, fixedDate: new Date(0).toISOString() };
}

export async function infiniteLoop(): Promise<void> {
  for (;;) {
    // never yields
  }
}

export async function throwsPlainError(): Promise<void> {
  await Promise.resolve();
  throw new TypeError('a bug in workflow code');
}

export async function throwsApplicationFailure(): Promise<void> {
  throw ApplicationFailure.nonRetryable('order rejected', 'OrderRejected', { orderId: 'o-1' });
}

/** Reports how an activity failure looks from inside the workflow. */
export async function catchesActivityFailure(): Promise<unknown> {
  try {
    await acts.chargeCard('o-1', 5);
    return 'no failure';
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause;
    return {
      name: err.name,
      activityType: err.activityType,
      activityId: err.activityId,
      retryState: err.retryState,
      causeIsApplicationFailure: cause instanceof ApplicationFailure,
      causeType: cause instanceof ApplicationFailure ? cause.type : undefined,
      causeMessage: cause instanceof Error ? cause.message : undefined,
    };
  }
}

/** Waits on an activity and a timer; cancellation propagates, so the run ends cancelled. */
export async function cancellable(): Promise<string> {
  await Promise.all([acts.reserveStock('o-1'), sleep('1h')]);
  return 'finished';
}

/** Catches the cancellation and returns, so the run completes. */
export async function cancellationCaught(): Promise<unknown> {
  try {
    await acts.reserveStock('o-1');
    return 'finished';
  } catch (err) {
    return { cancelled: isCancellation(err), name: (err as Error).name, causeName: ((err as Error).cause as Error | undefined)?.name };
  }
}

/** setTimeout is a durable timer; clearTimeout cancels one. */
export async function timeouts(): Promise<string[]> {
  const fired: string[] = [];
  const cancelled = setTimeout(() => fired.push('cancelled'), 5000);
  setTimeout((label: string) => fired.push(label), 1000, 'kept');
  clearTimeout(cancelled);
  await sleep(2000);
  return fired;
}

export async function usesWeakRef(): Promise<void> {
  new WeakRef({});
}

export async function logs(): Promise<string> {
  console.log('hello from', workflowInfo().workflowType, { n: 1 });
  await sleep(10);
  log.warn('after the timer', { step: 2 });
  return 'logged';
}

export async function info(): Promise<unknown> {
  const i = workflowInfo();
  await sleep(1);
  const j = workflowInfo();
  return { first: { ...i, startTime: i.startTime.getTime() }, second: { historyLength: j.historyLength } };
}

export async function withOptions(): Promise<string> {
  return priorityActs.ship('o-9');
}

export async function badArgs(): Promise<string> {
  return acts.reserveStock((() => 1) as unknown as string);
}

export async function badResult(): Promise<unknown> {
  return new Map([[1, 2]]);
}

/** Leaves an activity promise unawaited; cancelling during the sleep must not upset the worker. */
export async function unawaitedActivity(): Promise<string> {
  const pending = acts.reserveStock('o-1');
  await sleep('1m');
  return pending;
}

/** A rejection nobody handles, made by user code: logged by the worker, not fatal. */
export async function unhandledUserRejection(): Promise<string> {
  void Promise.reject(new Error('nobody handles me'));
  await sleep(1);
  return 'still fine';
}

/** What the sandbox realm offers: Node's globals must be absent, the deterministic ones present. */
export async function sandboxGlobals(): Promise<Record<string, string>> {
  const g = globalThis as Record<string, unknown>;
  const names = ['process', 'require', 'Buffer', 'setImmediate', 'fetch', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'crypto', 'console', '__chronicleScopeStorage'];
  const order: string[] = [];
  queueMicrotask(() => order.push('microtask'));
  order.push('sync');
  await Promise.resolve();
  return { ...Object.fromEntries(names.map((n) => [n, typeof g[n]])), order: order.join(',') };
}

/** Not a workflow: only exported functions are workflow types. */
export const notAWorkflow = 42;
