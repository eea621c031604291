import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgEngine } from '../../engine/pg-engine.js';
import { ActivityFailure, ApplicationFailure, CancelledFailure, WorkflowFailedError } from '../../sdk/client/index.js';
import { TerminatedFailure } from '../../sdk/workflow/index.js';
import { Worker } from '../../sdk/worker/index.js';
import { clientFor, startWorker, testEngine } from '../helpers/chronicle.js';
import { createTestDatabase, waitUntil, type TestDatabase } from '../helpers/database.js';
import * as activities from './fixtures/activities.js';
import type * as wf from './fixtures/workflows.js';

const workflowsPath = fileURLToPath(new URL('./fixtures/workflows.ts', import.meta.url));
const reorderedPath = fileURLToPath(new URL('./fixtures/workflows-reordered.ts', import.meta.url));

let t: TestDatabase;
let engine: PgEngine;
beforeAll(async () => {
  t = await createTestDatabase();
  engine = await testEngine(t.url);
});
afterAll(async () => {
  await engine?.close();
  await t?.drop();
});

let n = 0;
const id = (p: string) => `${p}-${++n}`;

describe('Worker + Client', () => {
  it('retries a failing activity: one completion with attempt 3, attempts spaced by the jittered backoff', async () => {
    const taskQueue = id('retry');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const client = clientFor(engine);
      const handle = await client.workflow.start<typeof wf.flakyThrice>('flakyThrice', { workflowId: id('flaky'), taskQueue, args: ['k1'] });
      expect(await handle.result()).toBe('ok after 3');
      const { events } = await handle.fetchHistory();
      const completions = events.filter((e) => e.eventType === 'ActivityTaskCompleted');
      expect(completions).toHaveLength(1);
      expect(completions[0]!.attributes).toMatchObject({ attempt: 3, lastFailure: { message: 'transient failure 2', type: 'Error' } });
      expect(events.some((e) => e.eventType === 'ActivityTaskFailed')).toBe(false);
      // Policy: initial 100 ms, coefficient 2, jitter ±25 %: gaps of [75, 125] and [150, 250] ms.
      // Never early (the engine schedules by its clock); late only by claim latency.
      const starts = activities.attempts.get('k1')!;
      const gaps = [starts[1]! - starts[0]!, starts[2]! - starts[1]!];
      console.log('retry gaps (ms):', gaps);
      expect(gaps[0]).toBeGreaterThanOrEqual(75 - 5);
      expect(gaps[1]).toBeGreaterThanOrEqual(150 - 5);
      expect(gaps[0]).toBeLessThan(125 + 1500);
      expect(gaps[1]).toBeLessThan(250 + 1500);
    } finally {
      await w.stop();
    }
  });

  it('fails at once on a non-retryable error, with the cause chain', async () => {
    const taskQueue = id('nonretry');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const handle = await clientFor(engine).workflow.start('nonRetryable', { workflowId: id('decline'), taskQueue });
      const err = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause).toBeInstanceOf(ActivityFailure);
      expect(err.cause).toMatchObject({ activityType: 'declineCard', retryState: 'NON_RETRYABLE_FAILURE' });
      expect(err.cause.cause).toBeInstanceOf(ApplicationFailure);
      expect(err.cause.cause).toMatchObject({ type: 'CardDeclined', message: 'card declined', nonRetryable: true });
      expect(err.cause.cause.cause).toMatchObject({ message: 'issuer said no' });
      const { events } = await handle.fetchHistory();
      expect(events.find((e) => e.eventType === 'ActivityTaskFailed')!.attributes).toMatchObject({ attempt: 1 });
      expect((await handle.describe()).status.name).toBe('FAILED');
    } finally {
      await w.stop();
    }
  });

  it('stops at maximumAttempts with the last failure', async () => {
    const taskQueue = id('maxattempts');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const handle = await clientFor(engine).workflow.start('limitedAttempts', { workflowId: id('limited'), taskQueue, args: ['k2'] });
      const err = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause).toMatchObject({ retryState: 'MAXIMUM_ATTEMPTS_REACHED' });
      expect(err.cause.cause).toMatchObject({ message: 'transient failure 2' });
      expect(activities.attempts.get('k2')).toHaveLength(2);
    } finally {
      await w.stop();
    }
  });

  it('fails the workflow when it throws an ApplicationFailure', async () => {
    const taskQueue = id('appfail');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const err = await clientFor(engine)
        .workflow.execute('throwsApplicationFailure', { workflowId: id('appfail'), taskQueue })
        .catch((e) => e);
      expect(err.cause).toBeInstanceOf(ApplicationFailure);
      expect(err.cause).toMatchObject({ type: 'InvalidOrder', message: 'bad order' });
    } finally {
      await w.stop();
    }
  });

  it('runs a later high-priority activity before the remaining low-priority ones (one activity slot)', async () => {
    const taskQueue = id('prio');
    activities.recorded.length = 0;
    activities.closeRecordGate();
    const client = clientFor(engine);
    const wfWorker = await startWorker(engine, { taskQueue, workflowsPath });
    const actWorker = await startWorker(engine, { taskQueue, activities, maxConcurrentActivityTaskExecutions: 1 });
    try {
      const low = await client.workflow.start('prioritized', { workflowId: id('low'), taskQueue, args: ['low', 5] });
      // The one slot is taken by the first low-priority activity, held at the gate.
      await waitUntil(() => activities.recorded.length === 1, { message: 'no low-priority activity started' });
      const high = await client.workflow.start('prioritized', { workflowId: id('high'), taskQueue, args: ['high', 1] });
      await waitUntil(async () => (await high.describe()).pendingActivityCount === 1, { message: 'high-priority activity never scheduled' });
      activities.openRecordGate();
      await Promise.all([high.result(), low.result()]);
      expect(activities.recorded).toEqual(['low-0', 'high-0', 'low-1', 'low-2', 'low-3', 'low-4']);
    } finally {
      activities.openRecordGate();
      await actWorker.stop();
      await wfWorker.stop();
    }
  });

  it('gives identical Date.now(), Math.random() and uuid4() on replay in a fresh worker', async () => {
    const taskQueue = id('determinism');
    // No sticky cache: every workflow task replays the whole history in a new sandbox.
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities, maxCachedWorkflows: 0 });
    try {
      const handle = await clientFor(engine).workflow.start<typeof wf.determinism>('determinism', { workflowId: id('det'), taskQueue });
      const result = await handle.result();
      const { events } = await handle.fetchHistory();
      const scheduled = events.find((e) => e.eventType === 'ActivityTaskScheduled')!;
      const recordedValues = (scheduled.attributes as { readonly args: readonly unknown[] }).args[0];
      // The values returned come from the last replay; the ones in history from the first execution.
      expect({ now: result.now, random: result.random, uuid: result.uuid }).toEqual(recordedValues);
      expect(result.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const firstTask = events.find((e) => e.eventType === 'WorkflowTaskCompleted')!;
      expect(result.now).toBe((firstTask.attributes as { workflowTime: number }).workflowTime);
      expect(result.later).toBeGreaterThanOrEqual(result.now + 50);
      expect(w.worker.stats.replays).toBeGreaterThanOrEqual(2);
    } finally {
      await w.stop();
    }
  });

  it('raises NonDeterminismError naming both sides when activities are reordered, and keeps the run open', async () => {
    const taskQueue = id('nde');
    const client = clientFor(engine);
    // v1 schedules stepA; no activity worker yet.
    const v1 = await startWorker(engine, { taskQueue, workflowsPath });
    const handle = await client.workflow.start('twoSteps', { workflowId: id('nde'), taskQueue });
    await waitUntil(async () => (await handle.describe()).pendingActivityCount === 1, { message: 'stepA never scheduled' });
    await v1.stop();
    // v2 swaps the calls; when stepA completes, replaying the history must fail the task.
    const v2 = await startWorker(engine, { taskQueue, workflowsPath: reorderedPath, activities });
    try {
      const failed = await waitUntil(
        async () => (await handle.fetchHistory()).events.find((e) => e.eventType === 'WorkflowTaskFailed'),
        { message: 'no WorkflowTaskFailed recorded' },
      );
      const attrs = failed.attributes as { cause: string; failure: { message: string } };
      expect(attrs.cause).toBe('NON_DETERMINISM');
      expect(attrs.failure.message).toMatch(/event 2/);
      expect(attrs.failure.message).toContain('stepA');
      expect(attrs.failure.message).toContain('stepB');
      const d = await handle.describe();
      expect(d.status.name).toBe('RUNNING');
      expect(d.workflowTaskFailure).toMatchObject({ cause: 'NON_DETERMINISM' });
    } finally {
      await v2.stop();
      await handle.terminate('test done');
    }
  });

  it('refuses a workflow file that imports a Node built-in, at bundle time', async () => {
    const bad = fileURLToPath(new URL('./fixtures/imports-fs.ts', import.meta.url));
    await expect(Worker.create({ connection: { engine }, taskQueue: 'never', workflowsPath: bad })).rejects.toMatchObject({
      code: 'CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT',
      message: expect.stringMatching(/node:fs.*activity/s),
    });
  });

  it('records an activity result and the workflow task it unblocks in one commit when the run is cached here', async () => {
    const taskQueue = id('speculate');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const before = w.worker.stats.speculationsApplied;
      const handle = await clientFor(engine).workflow.start('twoSteps', { workflowId: id('speculate'), taskQueue });
      expect(await handle.result()).toEqual(['a', 'b']);
      expect(w.worker.stats.speculationsApplied - before).toBe(2);
      // The same history as the two-commit path: each result opens the batch that acts on it.
      expect((await handle.fetchHistory()).events.map((e) => e.eventType)).toEqual([
        'WorkflowExecutionStarted',
        'ActivityTaskScheduled',
        'WorkflowTaskCompleted',
        'ActivityTaskCompleted',
        'ActivityTaskScheduled',
        'WorkflowTaskCompleted',
        'ActivityTaskCompleted',
        'WorkflowExecutionCompleted',
        'WorkflowTaskCompleted',
      ]);
    } finally {
      await w.stop();
    }
  });

  it('gives workflow code the same activity results on the one-commit path as on replay (null for void, jsonb key order)', async () => {
    const taskQueue = id('void');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const before = w.worker.stats.speculationsApplied;
      const live = await clientFor(engine).workflow.execute('voidResult', { workflowId: id('void'), taskQueue });
      expect(w.worker.stats.speculationsApplied - before).toBe(2);
      // What the ordinary path and every replay read back from jsonb:
      expect(live).toEqual(['null', 'a,ab,bb']);
    } finally {
      await w.stop();
    }
  });

  it('refuses workflow code whose activity options lack a timeout, at Worker.create, naming the option', async () => {
    const bad = fileURLToPath(new URL('./fixtures/bad/missing-timeout.ts', import.meta.url));
    await expect(Worker.create({ connection: { engine }, taskQueue: 'never', workflowsPath: bad })).rejects.toMatchObject({
      code: 'CHR_WORKFLOW_BUNDLE_FAILED',
      message: expect.stringContaining('startToCloseTimeout: either startToCloseTimeout or scheduleToCloseTimeout is required'),
    });
  });

  it('refuses to start an unknown workflow type once a worker registered the queue, and bad options, writing nothing', async () => {
    const taskQueue = id('types');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      await waitUntil(async () => (await t.pool.query(`SELECT 1 FROM chronicle.task_queue_workflow_types WHERE task_queue = $1`, [taskQueue])).rowCount, {
        message: 'worker never registered its types',
      });
      const client = clientFor(engine);
      await expect(client.workflow.start('noSuchWorkflow', { workflowId: id('x'), taskQueue })).rejects.toMatchObject({
        code: 'CHR_UNKNOWN_WORKFLOW_TYPE',
        field: 'workflowType',
        message: expect.stringContaining("'flakyThrice'"),
      });
      await expect(client.workflow.start('flakyThrice', { workflowId: id('x'), taskQueue, args: [() => 1] as never })).rejects.toMatchObject({
        code: 'CHR_PAYLOAD_NOT_SERIALIZABLE',
        field: 'args[0]',
      });
      const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM chronicle.executions WHERE task_queue = $1`, [taskQueue]);
      expect(rows[0].n).toBe(0);
    } finally {
      await w.stop();
    }
  });

  it('stops retrying when the next backoff would cross scheduleToCloseTimeout (retry state TIMEOUT)', async () => {
    const taskQueue = id('s2c');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const err = await clientFor(engine).workflow.execute('scheduleToCloseBound', { workflowId: id('s2c'), taskQueue, args: ['k3'] }).catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause).toMatchObject({ retryState: 'TIMEOUT' });
      // 300 ms apart within 1 s: at most 4 attempts, and more than one.
      const n = activities.attempts.get('k3')!.length;
      expect(n).toBeGreaterThan(1);
      expect(n).toBeLessThanOrEqual(4);
    } finally {
      await w.stop();
    }
  });

  it('hands the last heartbeat details to the next attempt', async () => {
    const taskQueue = id('hb');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const result = await clientFor(engine).workflow.execute('heartbeatResume', { workflowId: id('hb'), taskQueue });
      expect(result).toEqual({ attempt: 2, resumedFrom: { step: 2 } });
    } finally {
      await w.stop();
    }
  });

  it('fails the workflow task, not the worker, when workflow code never yields; the run stays open', async () => {
    const taskQueue = id('spin');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities, deadlockTimeout: '300ms' });
    try {
      const client = clientFor(engine);
      const handle = await client.workflow.start('spins', { workflowId: id('spin'), taskQueue });
      const failed = await waitUntil(async () => (await handle.fetchHistory()).events.find((e) => e.eventType === 'WorkflowTaskFailed'), {
        message: 'deadlock never reported',
      });
      expect(failed.attributes).toMatchObject({ cause: 'DEADLOCK' });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      // The worker is still healthy.
      expect(await client.workflow.execute('twoSteps', { workflowId: id('after-spin'), taskQueue })).toEqual(['a', 'b']);
      await handle.terminate('spins forever');
    } finally {
      await w.stop();
    }
  });

  it('fails only the workflow task when workflow code throws a plain Error (retried; run stays open)', async () => {
    const taskQueue = id('typeerror');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const handle = await clientFor(engine).workflow.start('throwsTypeError', { workflowId: id('typeerror'), taskQueue });
      const failed = await waitUntil(async () => (await handle.fetchHistory()).events.find((e) => e.eventType === 'WorkflowTaskFailed'), {
        message: 'task failure never recorded',
      });
      expect(failed.attributes).toMatchObject({ cause: 'WORKFLOW_ERROR', failure: { type: 'TypeError', message: 'a bug in workflow code' } });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate();
    } finally {
      await w.stop();
    }
  });

  it('cancels a run: the workflow sees CancelledFailure, rethrows, and ends CANCELLED', async () => {
    const taskQueue = id('cancel');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const handle = await clientFor(engine).workflow.start('sleepsLong', { workflowId: id('cancel'), taskQueue });
      await waitUntil(async () => (await handle.describe()).pendingTimerCount === 1, { message: 'timer never started' });
      await handle.cancel('no longer needed');
      const err = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const types = (await handle.fetchHistory()).events.map((e) => e.eventType);
      expect(types).toContain('WorkflowExecutionCancelRequested');
      expect(types).toContain('TimerCanceled');
      expect(types.at(-2)).toBe('WorkflowExecutionCanceled');
    } finally {
      await w.stop();
    }
  });

  it('terminates a run from the client: result() throws with a TerminatedFailure cause', async () => {
    const taskQueue = id('terminate');
    const w = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      const handle = await clientFor(engine).workflow.start('sleepsLong', { workflowId: id('terminate'), taskQueue });
      await waitUntil(async () => (await handle.describe()).pendingTimerCount === 1, { message: 'timer never started' });
      await handle.terminate('operator');
      const err = await handle.result().catch((e) => e);
      expect(err.cause).toBeInstanceOf(TerminatedFailure);
      expect((await handle.describe()).status.name).toBe('TERMINATED');
      expect((await handle.describe()).pendingTimerCount).toBe(0);
    } finally {
      await w.stop();
    }
  });

  it('shutdown hands running activities back: aborted after the grace time, retried by the next worker, nothing lost', async () => {
    const taskQueue = id('shutdown');
    const client = clientFor(engine);
    const first = await startWorker(engine, { taskQueue, workflowsPath, activities, shutdownGraceTime: '200ms' });
    const handle = await client.workflow.start('longActivity', { workflowId: id('shutdown'), taskQueue });
    await waitUntil(async () => {
      const { rows } = await t.pool.query(`SELECT 1 FROM chronicle.activity_tasks WHERE workflow_id = $1 AND status = 'running'`, [handle.workflowId]);
      return rows.length > 0;
    }, { message: 'activity never started' });
    await first.stop();
    expect(first.worker.state).toBe('STOPPED');
    const second = await startWorker(engine, { taskQueue, workflowsPath, activities });
    try {
      expect(await handle.result()).toBe('finished on attempt 2');
      const done = (await handle.fetchHistory()).events.find((e) => e.eventType === 'ActivityTaskCompleted')!;
      expect(done.attributes).toMatchObject({ attempt: 2, lastFailure: { type: 'WorkerShutdown', cause: { failureType: 'cancelled' } } });
    } finally {
      await second.stop();
    }
  });
});
