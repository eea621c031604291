/** History and payload limits (plan §13, RELIABILITY F6c/F6d), with tiny limits set per engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, WorkflowNotRunningError } from '../../engine/errors.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../engine/limits.js';
import { PgEngine } from '../../engine/pg-engine.js';
import type { WorkflowCommand } from '../../engine/protocol/index.js';
import { complete, deliver, drivenEngine, Driver, identity, only, status, type Driven } from './engine-driver.js';

const timers = (from: number, n: number): WorkflowCommand[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'StartTimer' as const, seq: from + i, durationMs: 600_000 }));

describe('history length', () => {
  let d: Driven;
  let w: Driver;
  beforeAll(async () => {
    d = await drivenEngine({ limits: { historyLengthWarn: 4, historyLengthMax: 8 } });
    w = new Driver(d.engine);
  });
  afterAll(async () => d?.close());

  it('suggests continue-as-new past the warning, then terminates the run whose completion would pass the maximum', async () => {
    const { workflowId, runId, taskQueue } = await w.start();
    const t1 = await w.poll(taskQueue);
    expect(t1).toMatchObject({ historyLength: 1, continueAsNewSuggested: false });
    await w.complete(t1, timers(1, 3)); // 1 + 3 + WorkflowTaskCompleted = 5 events
    await deliver(d.t, runId, 'TimerFired', { seq: 1 });
    const t2 = await w.poll(taskQueue);
    expect(t2).toMatchObject({ historyLength: 5, continueAsNewSuggested: true });
    // TimerFired + 3 timers + WorkflowTaskCompleted would make 10 > 8.
    const r = await w.complete(t2, timers(4, 3));
    expect(r).toMatchObject({ closed: true });
    expect(await status(d.t, runId)).toBe('TERMINATED');
    const h = await w.history(workflowId);
    expect(h.map((e) => e.eventType)).toEqual([
      'WorkflowExecutionStarted',
      'TimerStarted',
      'TimerStarted',
      'TimerStarted',
      'WorkflowTaskCompleted',
      'WorkflowExecutionTerminated',
    ]);
    const terminated = only(h, 'WorkflowExecutionTerminated') as { reason: string; identity: string };
    expect(terminated.identity).toBe('chronicle-limits');
    expect(terminated.reason).toMatch(/^HISTORY_LIMIT_EXCEEDED: .*10 events.*historyLengthMax = 8/);
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'TERMINATED', reason: terminated.reason });
    // The run can still be described; a terminate finds it closed; nothing is left to run.
    expect(await d.engine.describeWorkflow({ workflowId })).toMatchObject({ status: 'TERMINATED', historyLength: 6, pendingTimerCount: 0 });
    await expect(d.engine.terminateWorkflow({ workflowId })).rejects.toBeInstanceOf(WorkflowNotRunningError);
  });

  it('applies on the one-commit path too', async () => {
    const { workflowId, taskQueue } = await w.start();
    const t1 = await w.poll(taskQueue);
    const done = await w.complete(t1, [{ kind: 'ScheduleActivity', seq: 1, activityType: 'a', args: [], options: { startToCloseTimeoutMs: 1000, priority: 50, retry: { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 100_000, maximumAttempts: 0, nonRetryableErrorTypes: [], jitter: 0 } } }], { eagerActivitySlots: 1 });
    const r = await d.engine.completeActivityAndWorkflowTask(done.eagerActivityTasks![0]!.taskToken, {
      result: null,
      identity,
      previousCompletedEventId: done.completedEventId,
      workflowTime: t1.startedAt,
      commands: timers(1, 5),
    });
    expect(r).toMatchObject({ applied: true, closed: true });
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'TERMINATED', reason: expect.stringContaining('HISTORY_LIMIT_EXCEEDED') });
  });
});

describe('history size and payloads', () => {
  let d: Driven;
  let w: Driver;
  beforeAll(async () => {
    d = await drivenEngine({ limits: { historySizeWarnBytes: 600, historySizeMaxBytes: 3000, payloadMaxBytes: 2000 } });
    w = new Driver(d.engine);
  });
  afterAll(async () => d?.close());

  it('suggests continue-as-new past the size warning and terminates past the size maximum', async () => {
    const { workflowId, runId, taskQueue } = await w.start({ args: ['x'.repeat(700)] });
    const t1 = await w.poll(taskQueue);
    expect(t1.historySizeBytes).toBeGreaterThan(700);
    expect(t1.continueAsNewSuggested).toBe(true);
    await w.complete(t1, [{ kind: 'RecordMarker', markerName: 'big', details: { blob: 'y'.repeat(1500) } }, ...timers(1, 1)]);
    await deliver(d.t, runId, 'TimerFired', { seq: 1 });
    const t2 = await w.poll(taskQueue);
    const r = await w.complete(t2, [{ kind: 'RecordMarker', markerName: 'big', details: { blob: 'z'.repeat(1500) } }, complete()]);
    expect(r.closed).toBe(true);
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({
      status: 'TERMINATED',
      reason: expect.stringMatching(/^HISTORY_SIZE_LIMIT_EXCEEDED: .*historySizeMaxBytes = 3000/),
    });
    expect((await w.history(workflowId)).filter((e) => e.eventType === 'MarkerRecorded')).toHaveLength(1);
  });

  it('refuses a command payload over payloadMaxBytes, naming the field and the limit, and writes nothing', async () => {
    const { workflowId, taskQueue } = await w.start();
    const t = await w.poll(taskQueue);
    const big = 'b'.repeat(2100);
    const cases: [WorkflowCommand, string][] = [
      [{ kind: 'ScheduleActivity', seq: 1, activityType: 'a', args: ['ok', big], options: { startToCloseTimeoutMs: 1000, priority: 50, retry: { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 100_000, maximumAttempts: 0, nonRetryableErrorTypes: [], jitter: 0 } } }, 'commands[0].args[1]'],
      [complete(big), 'commands[0].result'],
      [{ kind: 'ContinueAsNew', args: [big] }, 'commands[0].args[0]'],
      [{ kind: 'SignalExternalWorkflow', seq: 1, workflowId: 'x', signalName: 's', args: [big], childWorkflowOnly: false }, 'commands[0].args[0]'],
      [{ kind: 'CompleteUpdate', updateId: 'u', outcome: { result: big } }, 'commands[0].outcome'],
      [{ kind: 'RejectUpdate', updateId: 'u', failure: { failureType: 'application', message: big } }, 'commands[0].failure'],
    ];
    for (const [cmd, field] of cases) {
      const p = w.complete(t, [cmd]);
      await expect(p, field).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(p, field).rejects.toMatchObject({ field, message: expect.stringContaining('2000') });
    }
    expect((await w.history(workflowId)).map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted']);
    await w.complete(t, [complete('small')]);
  });

  it('refuses start arguments and memo over payloadMaxBytes', async () => {
    await expect(d.engine.startWorkflow({ workflowId: 'too-big', workflowType: 'wf', taskQueue: 'q', args: ['c'.repeat(2100)] })).rejects.toMatchObject({
      field: 'args[0]',
    });
    await expect(d.engine.startWorkflow({ workflowId: 'too-big', workflowType: 'wf', taskQueue: 'q', memo: { m: 'c'.repeat(2100) } })).rejects.toMatchObject({
      field: 'memo',
    });
  });
});

describe('resolveLimits', () => {
  it('takes the option, else the CHRONICLE_* variable, else the default', () => {
    const env = { CHRONICLE_HISTORY_LENGTH_MAX: '60000', CHRONICLE_PAYLOAD_MAX_BYTES: '1024' };
    expect(resolveLimits({}, {})).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ payloadMaxBytes: 99 }, env)).toEqual({ ...DEFAULT_LIMITS, historyLengthMax: 60_000, payloadMaxBytes: 99 });
    expect(DEFAULT_LIMITS).toEqual({
      historyLengthWarn: 10_240,
      historyLengthMax: 51_200,
      historySizeWarnBytes: 10 * 1024 * 1024,
      historySizeMaxBytes: 50 * 1024 * 1024,
      payloadMaxBytes: 2 * 1024 * 1024,
    });
  });

  it('refuses non-positive or non-integer values and a warning above its maximum, naming them', () => {
    expect(() => resolveLimits({}, { CHRONICLE_HISTORY_LENGTH_WARN: 'lots' })).toThrow(/CHRONICLE_HISTORY_LENGTH_WARN: must be a positive integer, got "lots"/);
    expect(() => resolveLimits({ historySizeMaxBytes: 0 }, {})).toThrow(InvalidArgumentError);
    expect(() => resolveLimits({ historyLengthWarn: 100, historyLengthMax: 10 }, {})).toThrow(/limits.historyLengthWarn/);
  });

  it('is what PgEngine.connect applies', async () => {
    const d = await drivenEngine({ limits: { historyLengthWarn: 3 } });
    try {
      expect(d.engine.limits).toMatchObject({ historyLengthWarn: 3, historyLengthMax: 51_200 });
      await expect(PgEngine.connect({ databaseUrl: d.t.url, migrate: false, limits: { historyLengthMax: -1 } })).rejects.toMatchObject({
        field: 'limits.historyLengthMax',
      });
    } finally {
      await d.close();
    }
  });
});
