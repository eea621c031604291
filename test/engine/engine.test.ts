import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgEngine } from '../../engine/pg-engine.js';
import {
  InvalidArgumentError,
  PayloadNotSerializableError,
  StaleTaskError,
  UnknownWorkflowTypeError,
  WorkflowExecutionAlreadyStartedError,
} from '../../engine/errors.js';
import { DEFAULT_RETRY, type ActivityScheduleOptions, type HistoryEvent, type WorkflowCommand } from '../../engine/protocol/index.js';
import { createTestDatabase, waitUntil, type TestDatabase } from '../helpers/database.js';

let t: TestDatabase;
let engine: PgEngine;
const identity = 'test-worker';
const quietLog = { debug() {}, info() {}, warn() {}, error: (m: string, meta?: unknown) => console.error(m, meta) };

beforeAll(async () => {
  t = await createTestDatabase();
  engine = await PgEngine.connect({ databaseUrl: t.url, migrate: false, workflowTaskTimeoutMs: 300, pollIntervalMs: 200, logger: quietLog });
});
afterAll(async () => {
  await engine?.close();
  await t?.drop();
});

const opts = (over: Partial<ActivityScheduleOptions> = {}): ActivityScheduleOptions => ({
  startToCloseTimeoutMs: 10_000,
  priority: 50,
  retry: { ...DEFAULT_RETRY, maximumIntervalMs: 100_000, nonRetryableErrorTypes: [], ...(over.retry ?? {}) },
  ...over,
});
const schedule = (seq: number, activityType: string, over: Partial<ActivityScheduleOptions> = {}, args: unknown[] = []): WorkflowCommand => ({
  kind: 'ScheduleActivity',
  seq,
  activityType,
  args,
  options: opts(over),
});

let counter = 0;
async function start(taskQueue = 'q-' + ++counter, workflowType = 'wf') {
  const workflowId = `wf-${++counter}`;
  const { runId } = await engine.startWorkflow({ workflowId, workflowType, taskQueue, args: [1] });
  return { workflowId, runId, taskQueue };
}
async function pollOne(taskQueue: string) {
  const tasks = await engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
  expect(tasks).toHaveLength(1);
  return tasks[0]!;
}
async function history(workflowId: string): Promise<HistoryEvent[]> {
  return [...(await engine.getHistory({ workflowId })).events];
}
const types = (events: readonly { eventType: string }[]) => events.map((e) => e.eventType);

describe('PgEngine', () => {
  it('runs a workflow with one activity end to end and records dense, batched history', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    expect(types(t1.events)).toEqual(['WorkflowExecutionStarted']);
    expect(t1.previousCompletedEventId).toBe(0);
    // The task says how long its lease lasts (the worker budgets local activities by it).
    expect(t1.workflowTaskTimeoutMs).toBe(300);
    const c1 = await engine.completeWorkflowTask(t1.taskToken, { commands: [schedule(1, 'greet', {}, ['Ada'])], workflowTime: t1.startedAt, identity });
    expect(c1).toMatchObject({ completedEventId: 3, closed: false, continueAsNewSuggested: false });
    expect(c1.rejected).toBeUndefined();

    const [a] = await engine.pollActivityTasks({ taskQueue, maxTasks: 5, identity, waitMs: 5000 });
    expect(a).toMatchObject({ activityType: 'greet', args: ['Ada'], attempt: 1, workflowId });
    await engine.completeActivityTask(a!.taskToken, { result: 'Hello, Ada', identity });

    const t2 = await pollOne(taskQueue);
    expect(t2.previousCompletedEventId).toBe(3);
    expect(t2.events).toEqual([{ eventType: 'ActivityTaskCompleted', attributes: { seq: 1, result: 'Hello, Ada', attempt: 1, identity } }]);
    await engine.completeWorkflowTask(t2.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: 'Hello, Ada' }], workflowTime: t2.startedAt, identity });

    expect(await engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED', result: 'Hello, Ada' });
    const h = await history(workflowId);
    expect(types(h)).toEqual([
      'WorkflowExecutionStarted',
      'ActivityTaskScheduled',
      'WorkflowTaskCompleted',
      'ActivityTaskCompleted',
      'WorkflowExecutionCompleted',
      'WorkflowTaskCompleted',
    ]);
    expect(h.map((e) => e.eventId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((h[2]!.attributes as { workflowTime: number }).workflowTime).toBe(t1.startedAt);
    const d = await engine.describeWorkflow({ workflowId });
    expect(d).toMatchObject({ status: 'COMPLETED', historyLength: 6, pendingActivityCount: 0, pendingTimerCount: 0, pendingEventCount: 0 });
    // A late second completion of the activity is rejected, not applied twice.
    await expect(engine.completeActivityTask(a!.taskToken, { result: 'again', identity })).rejects.toBeInstanceOf(StaleTaskError);
  });

  it('orders an event that arrives while a workflow task is in flight after that task, and wakes a new task for it', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.requestCancelWorkflow({ workflowId }, { reason: 'mid-flight' });
    await engine.completeWorkflowTask(t1.taskToken, { commands: [{ kind: 'StartTimer', seq: 1, durationMs: 60_000 }], workflowTime: t1.startedAt, identity });
    expect(types(await history(workflowId))).toEqual(['WorkflowExecutionStarted', 'TimerStarted', 'WorkflowTaskCompleted']);
    expect(types(await engine.getPendingEvents({ workflowId }))).toEqual(['WorkflowExecutionCancelRequested']);

    const t2 = await pollOne(taskQueue);
    expect(types(t2.events)).toEqual(['WorkflowExecutionCancelRequested']);
    await engine.completeWorkflowTask(t2.taskToken, { commands: [{ kind: 'CancelWorkflow' }], workflowTime: t2.startedAt, identity });
    expect(types(await history(workflowId))).toEqual([
      'WorkflowExecutionStarted',
      'TimerStarted',
      'WorkflowTaskCompleted',
      'WorkflowExecutionCancelRequested',
      'WorkflowExecutionCanceled',
      'WorkflowTaskCompleted',
    ]);
    expect((await engine.describeWorkflow({ workflowId })).pendingTimerCount).toBe(0);
  });

  it('rejects a completion whose lease expired and was re-claimed; the new holder completes', async () => {
    const { workflowId, taskQueue } = await start();
    const stale = await pollOne(taskQueue);
    await waitUntil(async () => (await engine.reapExpiredLeases()).workflowTasks > 0, { timeoutMs: 10_000, message: 'lease never expired' });
    const fresh = await pollOne(taskQueue);
    expect(fresh.attempt).toBe(2);
    await expect(
      engine.completeWorkflowTask(stale.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: 'stale' }], workflowTime: 0, identity }),
    ).rejects.toBeInstanceOf(StaleTaskError);
    await engine.completeWorkflowTask(fresh.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: 'fresh' }], workflowTime: fresh.startedAt, identity });
    expect(await engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED', result: 'fresh' });
    expect((await history(workflowId)).map((e) => e.eventId)).toEqual([1, 2, 3]);
  });

  it('claims activities by priority, then age', async () => {
    const { taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.completeWorkflowTask(t1.taskToken, {
      commands: [schedule(1, 'low', { priority: 10 }), schedule(2, 'low', { priority: 10 }), schedule(3, 'mid', { priority: 50 }), schedule(4, 'high', { priority: 90 })],
      workflowTime: t1.startedAt,
      identity,
    });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [a] = await engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 1000 });
      order.push(`${a!.activityType}#${a!.activityId}`);
    }
    expect(order).toEqual(['high#4', 'mid#3', 'low#1', 'low#2']);
  });

  it('times out an attempt whose lease expired and retries it after the backoff; the result carries the attempt and the timeout', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.completeWorkflowTask(t1.taskToken, {
      commands: [schedule(1, 'slow', { startToCloseTimeoutMs: 200, retry: { ...DEFAULT_RETRY, initialIntervalMs: 100, maximumIntervalMs: 1000, jitter: 0, nonRetryableErrorTypes: [] } })],
      workflowTime: t1.startedAt,
      identity,
    });
    const [first] = await engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 1000 });
    expect(first!.attempt).toBe(1);
    await waitUntil(async () => (await engine.reapExpiredLeases()).activityAttempts > 0, { timeoutMs: 10_000, message: 'activity lease never expired' });
    const [second] = await engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
    expect(second!.attempt).toBe(2);
    await expect(engine.completeActivityTask(first!.taskToken, { result: 'late', identity })).rejects.toBeInstanceOf(StaleTaskError);
    await engine.completeActivityTask(second!.taskToken, { result: 'ok', identity });
    const t2 = await pollOne(taskQueue);
    expect(t2.events[0]).toMatchObject({
      eventType: 'ActivityTaskCompleted',
      attributes: { seq: 1, result: 'ok', attempt: 2, lastFailure: { failureType: 'timeout', timeoutType: 'START_TO_CLOSE' } },
    });
    await engine.terminateWorkflow({ workflowId });
  });

  it('fails an activity once on a non-retryable error, with the retry state', async () => {
    const { taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.completeWorkflowTask(t1.taskToken, { commands: [schedule(1, 'charge')], workflowTime: t1.startedAt, identity });
    const [a] = await engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 1000 });
    await engine.failActivityTask(a!.taskToken, { failure: { failureType: 'application', type: 'CardDeclined', message: 'declined', nonRetryable: true }, identity });
    const t2 = await pollOne(taskQueue);
    expect(t2.events[0]).toMatchObject({
      eventType: 'ActivityTaskFailed',
      attributes: { seq: 1, attempt: 1, retryState: 'NON_RETRYABLE_FAILURE', failure: { type: 'CardDeclined' } },
    });
  });

  it('fires a durable timer once, not before its time by the database clock', async () => {
    engine.startBackgroundLoops();
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.completeWorkflowTask(t1.taskToken, { commands: [{ kind: 'StartTimer', seq: 1, durationMs: 300 }], workflowTime: t1.startedAt, identity });
    const t2 = await pollOne(taskQueue);
    expect(t2.events).toEqual([{ eventType: 'TimerFired', attributes: { seq: 1 } }]);
    const started = (await history(workflowId))[1]!;
    expect(started.eventType).toBe('TimerStarted');
    expect(t2.startedAt).toBeGreaterThanOrEqual((started.attributes as { fireAt: number }).fireAt);
    await engine.completeWorkflowTask(t2.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: null }], workflowTime: t2.startedAt, identity });
    expect(types(await history(workflowId)).filter((x) => x === 'TimerFired')).toHaveLength(1);
    await engine.stopBackgroundLoops();
  });

  it('creates exactly one run when the same workflow id is started concurrently', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => engine.startWorkflow({ workflowId: 'same-id', workflowType: 'wf', taskQueue: 'concurrent', args: [] })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    }
    const { rows } = await t.pool.query(`SELECT count(*)::int n FROM chronicle.executions WHERE workflow_id = 'same-id'`);
    expect(rows[0].n).toBe(1);
  });

  it('terminates a run: the in-flight task becomes stale and nothing is left to run', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.terminateWorkflow({ workflowId }, { reason: 'operator' });
    await expect(engine.completeWorkflowTask(t1.taskToken, { commands: [], workflowTime: 0, identity })).rejects.toBeInstanceOf(StaleTaskError);
    expect(await engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'TERMINATED', reason: 'operator' });
    expect(types(await history(workflowId))).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionTerminated']);
  });

  it('refuses bad input with the field named, and writes nothing', async () => {
    const count = async () => (await t.pool.query(`SELECT count(*)::int n FROM chronicle.executions`)).rows[0].n as number;
    const before = await count();
    await expect(engine.startWorkflow({ workflowId: 'x'.repeat(1001), workflowType: 'wf', taskQueue: 'q' })).rejects.toMatchObject({
      code: 'CHR_INVALID_ARGUMENT',
      field: 'workflowId',
    });
    const bad = engine.startWorkflow({ workflowId: 'ok', workflowType: 'wf', taskQueue: 'q', args: [{ when: 1n }] });
    await expect(bad).rejects.toBeInstanceOf(PayloadNotSerializableError);
    await expect(bad).rejects.toMatchObject({ field: 'args[0]', message: expect.stringContaining('args[0].when is a bigint') });
    await engine.pollWorkflowTasks({ taskQueue: 'typed-q', maxTasks: 1, identity, waitMs: 0, workflowTypes: ['known'] });
    await expect(engine.startWorkflow({ workflowId: 'u', workflowType: 'unknown', taskQueue: 'typed-q' })).rejects.toBeInstanceOf(UnknownWorkflowTypeError);
    await expect(engine.getHistory({ workflowId: 'x' }, { pageSize: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await count()).toBe(before);
  });

  it('pages history', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.completeWorkflowTask(t1.taskToken, {
      commands: Array.from({ length: 5 }, (_, i) => ({ kind: 'StartTimer' as const, seq: i + 1, durationMs: 600_000 })),
      workflowTime: t1.startedAt,
      identity,
    });
    const p1 = await engine.getHistory({ workflowId }, { pageSize: 4 });
    expect(p1.events.map((e) => e.eventId)).toEqual([1, 2, 3, 4]);
    expect(p1.nextEventId).toBe(5);
    const p2 = await engine.getHistory({ workflowId }, { pageSize: 4, fromEventId: p1.nextEventId! });
    expect(p2.events.map((e) => e.eventId)).toEqual([5, 6, 7]);
    expect(p2.nextEventId).toBeUndefined();
    await engine.terminateWorkflow({ workflowId });
  });
});

describe('eager activity dispatch', () => {
  it('leases activities scheduled on the workflow queue to the completing worker, up to its free slots', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    const done = await engine.completeWorkflowTask(t1.taskToken, {
      commands: [schedule(1, 'a'), schedule(2, 'b'), schedule(3, 'c')],
      workflowTime: t1.startedAt,
      identity,
      eagerActivitySlots: 2,
    });
    expect(done.eagerActivityTasks?.map((a) => a.activityType)).toEqual(['a', 'b']);
    // The third is left for the queue; the eager ones are not claimable again.
    const polled = await engine.pollActivityTasks({ taskQueue, maxTasks: 5, identity, waitMs: 1000 });
    expect(polled.map((a) => a.activityType)).toEqual(['c']);
    for (const a of [...done.eagerActivityTasks!, ...polled]) await engine.completeActivityTask(a.taskToken, { result: a.activityType, identity });
    const t2 = await pollOne(taskQueue);
    expect(t2.events.map((e) => (e.attributes as { result: string }).result).sort()).toEqual(['a', 'b', 'c']);
    await engine.terminateWorkflow({ workflowId });
  });
});

describe('eager workflow task on activity completion', () => {
  it('leases the run’s next workflow task to the worker that completed the activity', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    const done = await engine.completeWorkflowTask(t1.taskToken, { commands: [schedule(1, 'a')], workflowTime: t1.startedAt, identity, eagerActivitySlots: 1 });
    const [a] = done.eagerActivityTasks!;
    const res = await engine.completeActivityTask(a!.taskToken, { result: 'A', identity, eagerWorkflowTaskQueue: taskQueue });
    expect(res.eagerWorkflowTask).toMatchObject({ runId: t1.runId, previousCompletedEventId: 3 });
    expect(res.eagerWorkflowTask!.events).toEqual([{ eventType: 'ActivityTaskCompleted', attributes: { seq: 1, result: 'A', attempt: 1, identity } }]);
    expect(await engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 0 })).toEqual([]);
    await engine.completeWorkflowTask(res.eagerWorkflowTask!.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: 'A' }], workflowTime: 0, identity });
    expect(await engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED', result: 'A' });
  });

  it('does not take a task of another queue', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    const done = await engine.completeWorkflowTask(t1.taskToken, { commands: [schedule(1, 'a')], workflowTime: t1.startedAt, identity, eagerActivitySlots: 1 });
    const res = await engine.completeActivityTask(done.eagerActivityTasks![0]!.taskToken, { result: 'A', identity, eagerWorkflowTaskQueue: 'elsewhere' });
    expect(res.eagerWorkflowTask).toBeUndefined();
    expect(await pollOne(taskQueue)).toMatchObject({ runId: t1.runId });
    await engine.terminateWorkflow({ workflowId });
  });
});

describe('activity result and the workflow task it unblocks in one commit', () => {
  it('records [result, commands, WorkflowTaskCompleted] as one batch when nothing else happened to the run', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    const done = await engine.completeWorkflowTask(t1.taskToken, { commands: [schedule(1, 'a')], workflowTime: t1.startedAt, identity, eagerActivitySlots: 1 });
    const [a] = done.eagerActivityTasks!;
    const res = await engine.completeActivityAndWorkflowTask(a!.taskToken, {
      result: 'A',
      identity,
      previousCompletedEventId: done.completedEventId,
      workflowTime: t1.startedAt + 5,
      commands: [{ kind: 'CompleteWorkflow', result: 'done: A' }],
    });
    expect(res).toMatchObject({ applied: true, completedEventId: 6, closed: true });
    expect(await engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED', result: 'done: A' });
    const h = await history(workflowId);
    expect(types(h)).toEqual([
      'WorkflowExecutionStarted',
      'ActivityTaskScheduled',
      'WorkflowTaskCompleted',
      'ActivityTaskCompleted',
      'WorkflowExecutionCompleted',
      'WorkflowTaskCompleted',
    ]);
    expect(h[3]!.attributes).toEqual({ seq: 1, result: 'A', attempt: 1, identity });
    expect(h[5]!.attributes).toMatchObject({ workflowTime: t1.startedAt + 5 });
    await expect(
      engine.completeActivityAndWorkflowTask(a!.taskToken, { result: 'A', identity, previousCompletedEventId: 3, workflowTime: 0, commands: [] }),
    ).rejects.toBeInstanceOf(StaleTaskError);
  });

  it('falls back to an ordinary delivery when another event is pending, and writes none of the commands', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    const done = await engine.completeWorkflowTask(t1.taskToken, {
      commands: [schedule(1, 'a'), schedule(2, 'b')],
      workflowTime: t1.startedAt,
      identity,
      eagerActivitySlots: 2,
    });
    const [a, b] = done.eagerActivityTasks!;
    await engine.completeActivityTask(b!.taskToken, { result: 'B', identity });
    const res = await engine.completeActivityAndWorkflowTask(a!.taskToken, {
      result: 'A',
      identity,
      previousCompletedEventId: done.completedEventId,
      workflowTime: t1.startedAt,
      commands: [{ kind: 'CompleteWorkflow', result: 'too early' }],
    });
    expect(res.applied).toBe(false);
    expect(types(await history(workflowId))).toEqual(['WorkflowExecutionStarted', 'ActivityTaskScheduled', 'ActivityTaskScheduled', 'WorkflowTaskCompleted']);
    const t2 = await pollOne(taskQueue);
    expect(t2.events.map((e) => (e.attributes as { result: string }).result)).toEqual(['B', 'A']);
    await engine.terminateWorkflow({ workflowId });
  });
});

describe('timers', () => {
  it('never records a timer as both fired and cancelled when it fires while the cancelling task is in flight', async () => {
    engine.startBackgroundLoops();
    try {
      const { workflowId, taskQueue } = await start();
      const t1 = await pollOne(taskQueue);
      await engine.completeWorkflowTask(t1.taskToken, {
        commands: [{ kind: 'StartTimer', seq: 1, durationMs: 300 }, schedule(1, 'a')],
        workflowTime: t1.startedAt,
        identity,
      });
      const [a] = await engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 1000 });
      await engine.completeActivityTask(a!.taskToken, { result: 'A', identity });
      const t2 = await pollOne(taskQueue);
      // The timer fires while t2 is in flight…
      await waitUntil(async () => (await engine.getPendingEvents({ workflowId })).some((e) => e.eventType === 'TimerFired'), {
        message: 'timer never fired',
      });
      // …and t2, which has not seen it, cancels it.
      await engine.completeWorkflowTask(t2.taskToken, { commands: [{ kind: 'CancelTimer', seq: 1 }], workflowTime: t2.startedAt, identity });
      const t3 = await pollOne(taskQueue);
      expect(t3.events).toEqual([]);
      await engine.completeWorkflowTask(t3.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: null }], workflowTime: t3.startedAt, identity });
      const h = types(await history(workflowId));
      expect(h.filter((x) => x === 'TimerCanceled')).toHaveLength(1);
      expect(h.filter((x) => x === 'TimerFired')).toHaveLength(0);
    } finally {
      await engine.stopBackgroundLoops();
    }
  });
});
