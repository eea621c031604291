/**
 * Workflow fixtures for the programming model (signals, queries, updates, scopes, children,
 * external handles, continue-as-new, patches, local activities, search attributes). Module
 * top-level code here runs in plain Node too (the plain-Node test imports this file).
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  WorkflowExecutionAlreadyStartedError,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  deprecatePatch,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityCancellationType as CancellationTypeName,
} from '../../workflow/index.js';

// Module-level definitions and proxies: must load outside a workflow.
export const add = defineSignal<[number]>('add');
export const stage = defineSignal<[string]>('stage');
export const finish = defineSignal('finish');
export const valuesQuery = defineQuery<number[]>('values');
export const nowQuery = defineQuery<number>('now');
export const asyncQuery = defineQuery<number>('asyncQuery');
export const sleepingQuery = defineQuery<number>('sleepingQuery');
export const throwingQuery = defineQuery<number>('throwing');
export const spinQuery = defineQuery<number>('spin');
export const setUpdate = defineUpdate<number, [number]>('set');
export const failingUpdate = defineUpdate<never, [string]>('failing');
export const asyncValidated = defineUpdate<string, [number]>('asyncValidated');
export const sleepyValidated = defineUpdate<string, []>('sleepyValidated');

interface Activities {
  slow(key: string): Promise<string>;
  cleanup(why: string): Promise<string>;
  echo(value: string): Promise<string>;
}

export const acts = proxyActivities<Activities>({ startToCloseTimeout: '1 minute' });
export const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '5s' });
export const nextLoop = makeContinueAsNewFunc<typeof loop>({ workflowType: 'loop', taskQueue: 'other-queue', memo: { reason: 'test' } });

function describeError(err: unknown): Record<string, unknown> {
  const e = err as Error & { cause?: Error & { cause?: Error } };
  return {
    name: e.name,
    message: e.message,
    cancellation: isCancellation(err),
    cause: e.cause ? { name: e.cause.name, message: e.cause.message, ...(e.cause.cause ? { cause: e.cause.cause.name } : {}) } : undefined,
  };
}

// ---- signals, conditions ------------------------------------------------------------------

/** Signals sent before any handler exists are dispatched inside the setHandler of their name. */
export async function bufferedSignals(): Promise<unknown[]> {
  const seen: unknown[] = [];
  await sleep(10);
  setHandler(add, (n) => void seen.push(['add', n]));
  seen.push('after add handler');
  setHandler(stage, (s) => void seen.push(['stage', s]));
  seen.push('after stage handler');
  return seen;
}

/** A signal handler sees the state from before its activation's timer fired. */
export async function handlersSeePreActivationState(): Promise<string[]> {
  let phase = 'sleeping';
  const seen: string[] = [];
  setHandler(stage, (label) => void seen.push(`${label} saw ${phase}`));
  await sleep(1000);
  phase = 'woke';
  await sleep(1000);
  return seen;
}

/** condition with a timeout: true when `finish` arrives first, false when the timer fires. */
export async function approval(timeout: string): Promise<boolean> {
  let approved = false;
  setHandler(finish, () => void (approved = true));
  return condition(() => approved, timeout);
}

/** An async signal handler runs a timer; the main code waits for all handlers before returning. */
export async function waitsForHandlers(): Promise<string[]> {
  let done = false;
  const log: string[] = [];
  setHandler(stage, async (label) => {
    await sleep(100);
    log.push(label);
  });
  setHandler(finish, () => void (done = true));
  await condition(() => done);
  log.push(`finished, handlers done: ${allHandlersFinished()}`);
  await condition(allHandlersFinished);
  return log;
}

// ---- updates, queries ---------------------------------------------------------------------

/** A value set by validated updates, readable by queries; returns when `finish` arrives. */
export async function counter(): Promise<number> {
  let value = 0;
  let done = false;
  setHandler(
    setUpdate,
    (n) => {
      const previous = value;
      value = n;
      return previous;
    },
    {
      validator: (n) => {
        if (n < 0) throw ApplicationFailure.nonRetryable(`negative value ${n} refused`, 'Negative');
      },
      description: 'sets the value',
    },
  );
  setHandler(failingUpdate, async (kind) => {
    await sleep(5);
    if (kind === 'application') throw ApplicationFailure.create({ message: 'the update failed', type: 'UpdateFailed' });
    throw new TypeError('a bug in the update handler');
  });
  setHandler(
    asyncValidated,
    (n) => `accepted ${n}`,
    {
      validator: (async (n: number) => {
        if (n < 0) throw new Error('an async validator cannot reject');
      }) as unknown as (n: number) => void,
    },
  );
  setHandler(sleepyValidated, () => 'never', { validator: () => void sleep(1) });
  setHandler(finish, () => void (done = true));
  setHandler(valuesQuery, () => [value]);
  setHandler(nowQuery, () => Date.now());
  setHandler(asyncQuery, (async () => value) as unknown as () => number);
  setHandler(sleepingQuery, () => {
    void sleep(1);
    return value;
  });
  setHandler(throwingQuery, () => {
    throw ApplicationFailure.create({ message: 'query refused', type: 'Refused' });
  });
  setHandler(spinQuery, () => {
    for (;;) {
      // never returns
    }
  });
  await condition(() => done);
  return value;
}

/** Registers the update handler only after an await of the first activation: buffered updates still find it. */
export async function lateUpdateHandler(): Promise<number> {
  await Promise.resolve();
  let value = 0;
  setHandler(setUpdate, (n) => {
    value = n;
    return 0;
  });
  await sleep(1);
  return value;
}

// ---- cancellation -------------------------------------------------------------------------

/** Cleanup in a non-cancellable scope runs after the cancellation; then the cancellation propagates. */
export async function cleanupAfterCancel(): Promise<string> {
  try {
    await sleep('1 hour');
    return 'slept';
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => acts.cleanup('after cancel'));
    throw err;
  }
}

/** withTimeout cancels its scope from inside: the workflow fails (not cancelled). */
export async function timesOut(what: 'sleep' | 'activity'): Promise<string> {
  await CancellationScope.withTimeout('1s', () => (what === 'sleep' ? sleep('1 hour').then(() => 'slept') : acts.slow('x')));
  return 'in time';
}

/** The scope follows the code across awaits: a timer started after an await belongs to the inner scope. */
export async function scopeAcrossAwaits(): Promise<unknown> {
  const scope = new CancellationScope();
  const inner = scope.run(async () => {
    await sleep(1);
    const same = CancellationScope.current() === scope;
    await sleep('1 hour');
    return same;
  });
  await sleep(5);
  scope.cancel();
  const outcome = await inner.then(
    (same) => ({ same }),
    (err: unknown) => describeError(err),
  );
  await sleep(2); // the root scope is not cancelled
  return { outcome, rootCancelled: CancellationScope.current().consideredCancelled, parentIsRoot: scope.parent === CancellationScope.current() };
}

/** One slow activity with the given cancellation type; reports how its call ended. */
export async function cancelActivityWith(cancellationType: CancellationTypeName): Promise<unknown> {
  const { slow } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', cancellationType });
  try {
    return { result: await slow('x') };
  } catch (err) {
    return describeError(err);
  }
}

// ---- children, external -------------------------------------------------------------------

export async function childWorkflow(x: string): Promise<string> {
  return `child ${x}`;
}

/** Starts a child, signals it, and reports its handle and result (or failure). */
export async function parent(workflowId?: string): Promise<unknown> {
  try {
    const child = await startChild(childWorkflow, {
      args: ['x'],
      ...(workflowId ? { workflowId } : {}),
      parentClosePolicy: ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON,
      memo: { who: 'parent' },
    });
    await child.signal(stage, 'hello');
    return { workflowId: child.workflowId, firstExecutionRunId: child.firstExecutionRunId, result: await child.result() };
  } catch (err) {
    return {
      ...describeError(err),
      alreadyStarted: err instanceof WorkflowExecutionAlreadyStartedError,
      childFailure: err instanceof ChildWorkflowFailure ? { workflowType: err.workflowType, execution: err.execution, retryState: err.retryState } : undefined,
    };
  }
}

/** executeChild with the default options; a cancellation of the parent propagates through the child. */
export async function executesChild(): Promise<string> {
  return executeChild('childWorkflow', { args: ['y'], workflowId: 'kid-2' });
}

/** Signals and cancels another workflow; reports how each call ended. */
export async function external(): Promise<unknown> {
  const handle = getExternalWorkflowHandle('other', 'other-run');
  const outcome = (p: Promise<void>) => p.then(() => 'ok', (err: unknown) => describeError(err));
  const signalled = await outcome(handle.signal(add, 1));
  const cancelled = await outcome(handle.cancel());
  return { signalled, cancelled };
}

// ---- continue-as-new ----------------------------------------------------------------------

/** Continues as new until n reaches 0; the state goes through JSON. */
export async function loop(n: number, _state?: unknown): Promise<number> {
  if (n <= 0) return 0;
  return continueAsNew<typeof loop>(n - 1, { seen: new Map([['a', 1]]), at: workflowInfo().historyLength });
}

/** Continues as new with options. */
export async function loopWithOptions(n: number): Promise<number> {
  await nextLoop(n - 1);
  return -1; // never reached
}

// ---- patches, local activities, search attributes, info -----------------------------------

/** patched() on a new run vs on replay of an old history; memoised. */
export async function patchedFlow(): Promise<string> {
  const first = patched('my-patch');
  await sleep(1);
  const again = patched('my-patch');
  return `${first ? 'new' : 'old'}/${again}`;
}

/** The same flow after the old path was removed: deprecatePatch. */
export async function deprecatedFlow(): Promise<string> {
  deprecatePatch('my-patch');
  await sleep(1);
  return 'new/true';
}

/** The same flow once the deprecatePatch call was removed too. */
export async function unpatchedFlow(): Promise<string> {
  await sleep(1);
  return 'new/true';
}

/** Two local activities, one after the other, then a timer. */
export async function localFlow(): Promise<unknown> {
  const a = await local.echo('one');
  let b: unknown;
  try {
    b = await local.echo('two');
  } catch (err) {
    b = describeError(err);
  }
  await sleep(1);
  return [a, b];
}

/** Search attributes: start values, upserts visible at once. */
export async function tagging(): Promise<unknown> {
  const before = workflowInfo().searchAttributes;
  upsertSearchAttributes({ CustomKeywordField: ['a', 'b'], CustomIntField: [1] });
  const mid = workflowInfo().searchAttributes;
  upsertSearchAttributes({ CustomIntField: [], CustomDatetimeField: [new Date(0)] });
  const after = workflowInfo().searchAttributes;
  await sleep(1);
  return { before, mid, after, later: workflowInfo().searchAttributes };
}

export const infoQuery = defineQuery<unknown>('info');

/** The run's facts as workflowInfo() reports them, in two activations (the latest also by query). */
export async function infoFlow(): Promise<unknown> {
  let latest: unknown;
  setHandler(infoQuery, () => latest);
  const { startTime: _s, ...first } = workflowInfo();
  latest = first;
  await sleep(1);
  const { historyLength, historySize, continueAsNewSuggested } = workflowInfo();
  latest = { historyLength, historySize, continueAsNewSuggested };
  return { first, second: latest };
}
