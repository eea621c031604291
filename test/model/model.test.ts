import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgEngine } from '../../engine/pg-engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '../../sdk/client/index.js';
import { ActivityCancellationType, CancelledFailure } from '../../sdk/workflow/index.js';
import { Worker } from '../../sdk/worker/index.js';
import { clientFor, recordingLogger, startWorker, testEngine } from '../helpers/chronicle.js';
import { createTestDatabase, waitUntil, type TestDatabase } from '../helpers/database.js';
import * as activities from './fixtures/activities.js';
import { addSignal, finishSignal, setUpdate, valuesQuery, type chain, type collector } from './fixtures/workflows.js';

// The programming model end to end (issue 3, "What must be shown"): a real worker, a real
// client, a real PostgreSQL. Engine-level and sandbox-level details are tested beside them.

const workflowsPath = fileURLToPath(new URL('./fixtures/workflows.ts', import.meta.url));
const taskQueue = 'model';

let t: TestDatabase;
let engine: PgEngine;
let stop: () => Promise<void>;
beforeAll(async () => {
  t = await createTestDatabase();
  engine = await testEngine(t.url);
  stop = (await startWorker(engine, { taskQueue, workflowsPath, activities })).stop;
});
afterAll(async () => {
  await stop?.();
  await engine?.close();
  await t?.drop();
});

let n = 0;
const id = (p: string) => `${p}-${++n}`;
const types = (events: readonly HistoryEvent[]) => events.map((e) => e.eventType);
const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('signals', () => {
  it('buffers signals sent before the handler exists, in order', async () => {
    const client = clientFor(engine);
    const handle = await client.workflow.start<typeof collector>('collector', { workflowId: id('early'), taskQueue });
    await handle.signal(addSignal, 1);
    await handle.signal(addSignal, 2);
    await handle.signal(finishSignal);
    expect(await handle.result()).toEqual([1, 2]);
  });

  it('never acknowledges and drops a signal racing the completion: every acknowledged add is in the result', async () => {
    const client = clientFor(engine);
    for (let round = 0; round < 8; round++) {
      const handle = await client.workflow.start<typeof collector>('collector', { workflowId: id('race'), taskQueue });
      await waitUntil(async () => (await handle.query(valuesQuery)).length === 0);
      const acked: number[] = [];
      const sends = [handle.signal(finishSignal)];
      for (let i = 0; i < 5; i++) {
        const value = round * 10 + i;
        // Spread the adds around the finishing task: some land while it is in flight.
        sends.push(
          new Promise((r) => setTimeout(r, i * 3)).then(() =>
            handle.signal(addSignal, value).then(
              () => void acked.push(value),
              (err: unknown) => expect((err as { code?: string }).code).toBe('CHR_WORKFLOW_NOT_RUNNING'),
            ),
          ),
        );
      }
      await Promise.all(sends);
      const result = await handle.result();
      for (const value of acked) expect(result).toContain(value);
    }
  });
});

describe('queries', () => {
  it('answers right after start and after the run closed, writing nothing', async () => {
    const client = clientFor(engine);
    const handle = await client.workflow.start<typeof collector>('collector', { workflowId: id('query'), taskQueue });
    expect(await handle.query(valuesQuery)).toEqual([]);
    await handle.signal(addSignal, 7);
    await handle.signal(finishSignal);
    await handle.result();
    const before = (await handle.fetchHistory()).events.length;
    expect(await handle.query(valuesQuery)).toEqual([7]);
    expect((await handle.fetchHistory()).events.length).toBe(before);
  });
});

describe('updates', () => {
  it('a validator rejection writes nothing; an accepted update is recorded and answered', async () => {
    const client = clientFor(engine);
    const handle = await client.workflow.start('register', { workflowId: id('update'), taskQueue });
    expect(await handle.executeUpdate(setUpdate, { args: [5] })).toBe(0);
    const before = (await handle.fetchHistory()).events;
    const err = await rejection(handle.executeUpdate(setUpdate, { args: [-4242] }));
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((err as Error & { cause?: Error }).cause?.message)).toContain('negative value -4242 refused');
    expect(await handle.executeUpdate(setUpdate, { args: [6] })).toBe(5);
    const after = (await handle.fetchHistory()).events;
    expect(JSON.stringify(after)).not.toContain('-4242');
    expect(types(after).filter((x) => x === 'WorkflowExecutionUpdateAccepted')).toHaveLength(2);
    expect(types(before).filter((x) => x === 'WorkflowExecutionUpdateCompleted')).toHaveLength(1);
    await handle.signal(finishSignal);
    expect(await handle.result()).toBe(6);
  });
});

describe('cancellation', () => {
  it.each([
    [ActivityCancellationType.TRY_CANCEL, 'cancelled'],
    [ActivityCancellationType.WAIT_CANCELLATION_COMPLETED, 'cancelled'],
    [ActivityCancellationType.ABANDON, 'finished'],
  ] as const)('activity cancellation type %s: the activity %s', async (cancellationType, activityEnding) => {
    const key = id(`cancel-${cancellationType}`);
    const handle = await clientFor(engine).workflow.start('cancelActivity', { workflowId: key, taskQueue, args: [key, cancellationType] });
    await waitUntil(async () => (await handle.describe()).raw.pendingActivityCount > 0 && activities.endings.get(key) === undefined);
    await new Promise((r) => setTimeout(r, 200)); // let it heartbeat once
    await handle.cancel();
    expect(await handle.result()).toBe('call cancelled');
    const events = (await handle.fetchHistory()).events;
    if (cancellationType === ActivityCancellationType.ABANDON) {
      expect(types(events)).not.toContain('ActivityTaskCancelRequested');
    } else {
      await waitUntil(() => activities.endings.get(key) !== undefined);
      expect(activities.endings.get(key)).toBe(activityEnding);
      expect(types(events)).toContain('ActivityTaskCancelRequested');
    }
    if (cancellationType === ActivityCancellationType.WAIT_CANCELLATION_COMPLETED) {
      // The workflow waited for the activity's acknowledgement before its call rejected.
      const canceled = types(events).indexOf('ActivityTaskCanceled');
      expect(canceled).toBeGreaterThan(-1);
      expect(canceled).toBeLessThan(types(events).indexOf('WorkflowExecutionCompleted'));
    }
  });

  it('runs cleanup in a non-cancellable scope after the cancel, then ends CANCELLED', async () => {
    const handle = await clientFor(engine).workflow.start('cleansUp', { workflowId: id('cleanup'), taskQueue });
    await waitUntil(async () => (await handle.describe()).raw.pendingTimerCount > 0);
    await handle.cancel();
    const err = await rejection(handle.result());
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const events = (await handle.fetchHistory()).events;
    expect(events.find((e) => e.eventType === 'ActivityTaskScheduled')?.attributes).toMatchObject({ activityType: 'cleanup' });
    expect(types(events).at(-2)).toBe('WorkflowExecutionCanceled');
  });
});

describe('children', () => {
  it('ABANDON survives its parent; TERMINATE is terminated with it', async () => {
    const client = clientFor(engine);
    const parentId = id('parent');
    const handle = await client.workflow.start('parentOfTwo', { workflowId: parentId, taskQueue });
    await waitUntil(async () => types((await handle.fetchHistory()).events).filter((x) => x === 'ChildWorkflowExecutionStarted').length === 2);
    await handle.terminate('test');
    expect((await client.workflow.getHandle(`${parentId}-abandoned`).describe()).status.name).toBe('RUNNING');
    await waitUntil(async () => (await client.workflow.getHandle(`${parentId}-terminated`).describe()).status.name === 'TERMINATED');
    await client.workflow.getHandle(`${parentId}-abandoned`).terminate('cleanup');
  });

  it('executeChild returns the child result; the child knows its parent', async () => {
    const workflowId = id('reporter-parent');
    expect(await clientFor(engine).workflow.execute('parentOfReporter', { workflowId, taskQueue })).toEqual({ parent: workflowId });
  });
});

describe('continue-as-new', () => {
  it('a chain of 10 runs, followed by execute()', async () => {
    const workflowId = id('chain');
    expect(await clientFor(engine).workflow.execute<typeof chain>('chain', { workflowId, taskQueue, args: [9] })).toBe(10);
    expect(activities.runs.get(`chain-${workflowId}`)).toBe(9);
  });
});

describe('patching, local activities, async completion, search attributes', () => {
  it('patched() is true on a new run and records a marker', async () => {
    const handle = await clientFor(engine).workflow.start('versioned', { workflowId: id('patch'), taskQueue });
    expect(await handle.result()).toBe('new');
    const marker = (await handle.fetchHistory()).events.find((e) => e.eventType === 'MarkerRecorded');
    expect(marker?.attributes).toMatchObject({ markerName: 'core_patch', details: { patchId: 'new-greeting', deprecated: false } });
  });

  it('a local activity is recorded as a marker and never re-run on replay', async () => {
    const key = id('local');
    const client = clientFor(engine);
    const handle = await client.workflow.start('localThenSleep', { workflowId: key, taskQueue, args: [key] });
    expect(await handle.result()).toBe(`ran ${key}`);
    const { events } = await handle.fetchHistory();
    expect(events.find((e) => e.eventType === 'MarkerRecorded')?.attributes).toMatchObject({ markerName: 'core_local_activity' });
    // A replay of the whole history (as a worker without the run in cache does) does not run it again.
    await Worker.runReplayHistory({ workflowsPath }, events);
    expect(activities.runs.get(key)).toBe(1);
  });

  it('completes an activity by its task token', async () => {
    const key = id('async');
    const client = clientFor(engine);
    const handle = await client.workflow.start('asyncCompletion', { workflowId: key, taskQueue, args: [key] });
    await waitUntil(() => activities.tokens.has(key));
    await client.activity.complete(activities.tokens.get(key)!, { done: key });
    expect(await handle.result()).toEqual({ done: key });
  });

  it('lists runs by a search attribute set mid-run', async () => {
    const client = clientFor(engine);
    const tag = id('tag');
    const handle = await client.workflow.start('tagged', { workflowId: id('tagged'), taskQueue, args: [tag] });
    await waitUntil(async () => (await client.workflow.count(`CustomKeywordField = '${tag}'`)).count === 1);
    const found = [];
    for await (const info of client.workflow.list({ query: `CustomKeywordField = '${tag}' AND ExecutionStatus = 'RUNNING'` })) found.push(info.workflowId);
    expect(found).toEqual([handle.workflowId]);
    await handle.signal(finishSignal);
    await handle.result();
  });
});

describe('with-start operations under concurrent callers', () => {
  it('signalWithStart from 5 callers creates exactly one run that gets every signal', async () => {
    const client = clientFor(engine);
    const workflowId = id('sws');
    await Promise.all(
      [1, 2, 3, 4, 5].map((v) => client.workflow.signalWithStart<typeof collector>('collector', { workflowId, taskQueue, signal: addSignal, signalArgs: [v] })),
    );
    await client.workflow.getHandle(workflowId).signal(finishSignal);
    expect((await client.workflow.getHandle(workflowId).result<number[]>()).sort()).toEqual([1, 2, 3, 4, 5]);
    expect((await client.workflow.count(`WorkflowId = '${workflowId}'`)).count).toBe(1);
  });
});

describe('history limits', () => {
  it('warns, suggests continue-as-new past the warning, and the workflow keeps its history short by continuing', async () => {
    const limited = await testEngine(t.url, { limits: { historyLengthWarn: 12, historyLengthMax: 40 } });
    const logger = recordingLogger(false);
    const w = await startWorker(limited, { taskQueue: 'limits', workflowsPath, activities, logger });
    try {
      const result = await clientFor(limited).workflow.execute('growsUntilSuggested', { workflowId: id('grows'), taskQueue: 'limits', args: [3] });
      expect(result).toMatchObject({ run: 3 });
      expect((result as { historyLength: number }).historyLength).toBeGreaterThan(12);
      expect((result as { historyLength: number }).historyLength).toBeLessThan(40);
      expect(logger.entries.filter((e) => e.level === 'warn' && e.message.includes('past the warning threshold')).length).toBeGreaterThanOrEqual(3);
    } finally {
      await w.stop();
      await limited.close();
    }
  });

  it('an activity result over the payload limit fails the attempt for good, naming the limit', async () => {
    const limited = await testEngine(t.url, { limits: { payloadMaxBytes: 1000 } });
    const w = await startWorker(limited, { taskQueue: 'payloads', workflowsPath, activities });
    try {
      const handle = await clientFor(limited).workflow.start('tooBig', { workflowId: id('big'), taskQueue: 'payloads', args: [5000] });
      expect(await handle.result()).toBe('PayloadTooLargeError');
      const failed = (await handle.fetchHistory()).events.find((e) => e.eventType === 'ActivityTaskFailed');
      expect(JSON.stringify(failed?.attributes)).toContain('limit is 1000 bytes');
      expect(failed?.attributes).toMatchObject({ attempt: 1, retryState: 'NON_RETRYABLE_FAILURE' });
    } finally {
      await w.stop();
      await limited.close();
    }
  });
});
