/**
 * Workflow fixtures for the semantics review (sdk/worker/workflow-run.review.test.ts): each
 * one isolates a case where the sandbox could differ from Temporal's behaviour.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '../../workflow/index.js';

interface Activities {
  slow(x: string): Promise<string>;
  lookup(x: string): Promise<string>;
}

const acts = proxyActivities<Activities>({ startToCloseTimeout: '1 minute' });
const abandoning = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', cancellationType: 'ABANDON' });
const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '5s' });

export const go = defineSignal('go');
export const randomQuery = defineQuery<number>('random');
export const stateQuery = defineQuery<unknown>('state');
export const bump = defineUpdate<number, []>('bump');

function describeError(err: unknown): Record<string, unknown> {
  const e = err as Error & { cause?: Error };
  return { name: e.name, message: e.message, cancellation: isCancellation(err), ...(e.cause ? { cause: e.cause.name } : {}) };
}

/** A query that draws random numbers; the workflow draws its own after a signal. */
export async function randomAfterQuery(): Promise<string> {
  let going = false;
  setHandler(go, () => void (going = true));
  setHandler(randomQuery, () => Math.random());
  await condition(() => going);
  return uuid4();
}

/** Work left running in a cancellable scope after its function returned still belongs to that scope. */
export async function detachedScopeWork(): Promise<unknown> {
  let work: Promise<unknown> | undefined;
  await CancellationScope.cancellable(async () => {
    work = (async () => {
      await sleep(10);
      return acts.slow('after the scope function returned');
    })();
  });
  try {
    return { result: await work };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return describeError(err);
  }
}

/** A child whose scope is cancelled in the activation that starts it (the start command never leaves). */
export async function childCancelledBeforeSent(): Promise<unknown> {
  const outcome = await CancellationScope.cancellable(async () => {
    const started = startChild('childWorkflow', {
      workflowId: 'never-started',
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    CancellationScope.current().cancel();
    return started.then(
      () => 'started',
      (err: unknown) => describeError(err),
    );
  });
  await sleep(1);
  return outcome;
}

/** An ABANDON activity whose scope is cancelled in the activation that schedules it. */
export async function abandonedBeforeSent(): Promise<unknown> {
  const outcome = await CancellationScope.cancellable(async () => {
    const call = abandoning.slow('never scheduled');
    CancellationScope.current().cancel();
    return call.then(
      (r) => r,
      (err: unknown) => describeError(err),
    );
  });
  await sleep(1);
  return outcome;
}

/** patched() first called after the run went live: true, even though it replayed before. */
export async function lateFirstPatch(): Promise<boolean[]> {
  await sleep(1);
  await sleep(1);
  return [patched('late')];
}

/** A local activity that failed (after retries) replays from its marker with the same failure. */
export async function localFailure(): Promise<unknown> {
  try {
    return await local.lookup('x');
  } catch (err) {
    await sleep(1);
    return describeError(err);
  }
}

/** Continue-as-new from an update handler. */
export async function continuesFromUpdate(n: number): Promise<number> {
  setHandler(bump, async () => {
    await continueAsNew<typeof continuesFromUpdate>(n + 1);
    return n;
  });
  await condition(() => false);
  return n;
}

/** Upserts, then reports workflowInfo().searchAttributes through a query (live and replayed). */
export async function upserts(): Promise<unknown> {
  setHandler(stateQuery, () => workflowInfo().searchAttributes);
  upsertSearchAttributes({ CustomKeywordField: ['a'], CustomIntField: [1] });
  await sleep(1);
  upsertSearchAttributes({ CustomIntField: [], CustomBoolField: [true] });
  await sleep(1);
  return workflowInfo().searchAttributes;
}

/** nonCancellable inside a cancelled scope still runs its timer; the cancellable sleep after it does not. */
export async function shieldedInsideCancelled(): Promise<unknown> {
  return CancellationScope.cancellable(async () => {
    CancellationScope.current().cancel();
    await CancellationScope.nonCancellable(() => sleep(5));
    try {
      await sleep(5);
      return 'slept';
    } catch (err) {
      return describeError(err);
    }
  });
}

/** condition(fn, timeout) inside a scope cancelled from outside: the wait and its timer are cancelled. */
export async function conditionInCancelledScope(): Promise<unknown> {
  const scope = new CancellationScope();
  const waiting = scope.run(() => condition(() => false, '1 hour'));
  await sleep(1);
  scope.cancel();
  return waiting.then(
    (v) => ({ value: v }),
    (err: unknown) => describeError(err),
  );
}
