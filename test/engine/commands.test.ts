/**
 * Every workflow command kind, driven through the engine: its history event and its effect
 * (engine/workflow-commands.ts, migrations/0004 chronicle.record_workflow_task).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlockRetryCount } from '../../engine/deadlock-retry.js';
import { InvalidArgumentError, StaleTaskError } from '../../engine/errors.js';
import type { WorkflowCommand } from '../../engine/protocol/index.js';
import { addSearchAttributes } from '../../engine/search-attributes.js';
import {
  admitUpdate,
  complete,
  deliver,
  drivenEngine,
  Driver,
  identity,
  only,
  scheduleActivity,
  status,
  types,
  unique,
  updateRow,
  type Driven,
} from './engine-driver.js';

let d: Driven;
let w: Driver;
beforeAll(async () => {
  d = await drivenEngine();
  w = new Driver(d.engine);
});
afterAll(async () => d?.close());

describe('RecordMarker', () => {
  it('records a MarkerRecorded event with its details', async () => {
    const { workflowId, taskQueue } = await w.start();
    await w.step(taskQueue, [{ kind: 'RecordMarker', markerName: 'core_patch', details: { patchId: 'p1', deprecated: false } }, complete('ok')]);
    const h = await w.history(workflowId);
    expect(types(h)).toEqual(['WorkflowExecutionStarted', 'MarkerRecorded', 'WorkflowExecutionCompleted', 'WorkflowTaskCompleted']);
    expect(h[1]!.attributes).toEqual({ markerName: 'core_patch', details: { patchId: 'p1', deprecated: false } });
  });

  it('refuses a marker without a name and writes nothing', async () => {
    const { workflowId, taskQueue } = await w.start();
    const task = await w.poll(taskQueue);
    await expect(w.complete(task, [{ kind: 'RecordMarker', markerName: '', details: {} }])).rejects.toMatchObject({
      code: 'CHR_INVALID_ARGUMENT',
      field: 'commands[0].markerName',
    });
    expect(await w.types(workflowId)).toEqual(['WorkflowExecutionStarted']);
  });
});

describe('UpsertSearchAttributes', () => {
  it('records the upsert and merges it per key into the run; [] removes a key', async () => {
    await addSearchAttributes(d.t.db, 'default', { CustomerId: 'Keyword', Amount: 'Double', Tags: 'KeywordList', DueAt: 'Datetime' });
    const { workflowId, taskQueue } = await w.start({ searchAttributes: { CustomerId: ['c-1'], Amount: [10] } });
    await w.step(taskQueue, [
      { kind: 'UpsertSearchAttributes', searchAttributes: { Amount: [12.5], Tags: ['a', 'b'] } },
      { kind: 'UpsertSearchAttributes', searchAttributes: { CustomerId: [], DueAt: ['2024-05-01T14:00:00+02:00'] } },
      { kind: 'StartTimer', seq: 1, durationMs: 600_000 },
    ]);
    const h = await w.history(workflowId);
    expect(types(h).filter((x) => x === 'UpsertWorkflowSearchAttributes')).toHaveLength(2);
    // Datetime values are normalized to ISO 8601 UTC (they compare as text in time order).
    expect(h[2]!.attributes).toEqual({ searchAttributes: { CustomerId: [], DueAt: ['2024-05-01T12:00:00.000Z'] } });
    const described = await d.engine.describeWorkflow({ workflowId });
    expect(described.searchAttributes).toEqual({ Amount: [12.5], Tags: ['a', 'b'], DueAt: ['2024-05-01T12:00:00.000Z'] });
    await d.engine.terminateWorkflow({ workflowId });
  });

  it('refuses an undeclared attribute or a value of the wrong type, naming it, and writes nothing', async () => {
    const { workflowId, taskQueue } = await w.start();
    const task = await w.poll(taskQueue);
    const unknown = w.complete(task, [{ kind: 'UpsertSearchAttributes', searchAttributes: { Nope: ['x'] } }]);
    await expect(unknown).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(unknown).rejects.toMatchObject({ field: 'commands[0].searchAttributes.Nope', message: expect.stringContaining('CustomIntField') });
    await expect(w.complete(task, [{ kind: 'UpsertSearchAttributes', searchAttributes: { CustomIntField: ['7'] } }])).rejects.toMatchObject({
      field: 'commands[0].searchAttributes.CustomIntField[0]',
      message: expect.stringContaining('an integer'),
    });
    expect(await w.types(workflowId)).toEqual(['WorkflowExecutionStarted']);
    // The task still holds its lease: a good completion goes through.
    await w.complete(task, [{ kind: 'UpsertSearchAttributes', searchAttributes: { CustomIntField: [7] } }, complete()]);
    expect((await d.engine.describeWorkflow({ workflowId })).searchAttributes).toEqual({ CustomIntField: [7] });
  });
});

describe('RequestCancelActivity', () => {
  it('drops an attempt that has not started and delivers ActivityTaskCanceled at once', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    await w.step(taskQueue, [scheduleActivity(1), { kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    // Something wakes the workflow (the timer, here delivered by hand), and it cancels the activity.
    await deliver(d.t, runId, 'TimerFired', { seq: 1 });
    const { result } = await w.step(taskQueue, [{ kind: 'RequestCancelActivity', seq: 1 }]);
    expect(result.closed).toBe(false);
    // The completion delivered ActivityTaskCanceled to the run itself: a new task is there.
    const t3 = await w.poll(taskQueue);
    expect(t3.events).toEqual([{ eventType: 'ActivityTaskCanceled', attributes: { seq: 1 } }]);
    expect(await d.engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 0 })).toEqual([]);
    await w.complete(t3, [complete()]);
    expect(await w.types(workflowId)).toEqual([
      'WorkflowExecutionStarted',
      'ActivityTaskScheduled',
      'TimerStarted',
      'WorkflowTaskCompleted',
      'TimerFired',
      'ActivityTaskCancelRequested',
      'WorkflowTaskCompleted',
      'ActivityTaskCanceled',
      'WorkflowExecutionCompleted',
      'WorkflowTaskCompleted',
    ]);
    expect(await status(d.t, runId)).toBe('COMPLETED');
  });

  it('asks a running attempt to stop: its heartbeat says so, and its failure is recorded as ActivityTaskCanceled, not retried', async () => {
    const { workflowId, taskQueue } = await w.start();
    await w.step(taskQueue, [scheduleActivity(1), { kind: 'StartTimer', seq: 1, durationMs: 1 }]);
    const [a] = await d.engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 1000 });
    expect(await d.engine.heartbeatActivityTask(a!.taskToken)).toEqual({ cancelRequested: false });
    await deliver(d.t, a!.runId, 'TimerFired', { seq: 1 });
    await w.step(taskQueue, [{ kind: 'RequestCancelActivity', seq: 1 }]);
    expect(await d.engine.heartbeatActivityTask(a!.taskToken)).toEqual({ cancelRequested: true });
    await d.engine.failActivityTask(a!.taskToken, {
      failure: { failureType: 'cancelled', message: 'cancelled', details: ['partial'] },
      identity: 'activity-worker',
    });
    const t = await w.poll(taskQueue);
    expect(t.events).toEqual([
      { eventType: 'ActivityTaskCanceled', attributes: { seq: 1, attempt: 1, identity: 'activity-worker', details: ['partial'] } },
    ]);
    await w.complete(t, [complete()]);
    expect(await d.engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 0 })).toEqual([]);
    expect((await w.types(workflowId)).filter((x) => x.startsWith('Activity'))).toEqual([
      'ActivityTaskScheduled',
      'ActivityTaskCancelRequested',
      'ActivityTaskCanceled',
    ]);
  });

  it('still records a success that arrives after the cancel request', async () => {
    const { taskQueue, workflowId } = await w.start();
    await w.step(taskQueue, [scheduleActivity(1), { kind: 'StartTimer', seq: 1, durationMs: 1 }]);
    const [a] = await d.engine.pollActivityTasks({ taskQueue, maxTasks: 1, identity, waitMs: 1000 });
    await deliver(d.t, a!.runId, 'TimerFired', { seq: 1 });
    await w.step(taskQueue, [{ kind: 'RequestCancelActivity', seq: 1 }]);
    await d.engine.completeActivityTask(a!.taskToken, { result: 'done anyway', identity });
    const t = await w.poll(taskQueue);
    expect(t.events).toMatchObject([{ eventType: 'ActivityTaskCompleted', attributes: { seq: 1, result: 'done anyway' } }]);
    await w.complete(t, [complete()]);
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED' });
  });
});

describe('external signals and cancels', () => {
  it('signals another run in the same transaction and answers the sender', async () => {
    const target = await w.start();
    const sender = await w.start();
    const { task } = await w.step(sender.taskQueue, [
      { kind: 'SignalExternalWorkflow', seq: 1, workflowId: target.workflowId, signalName: 'go', args: [42], childWorkflowOnly: false },
    ]);
    expect(await d.engine.getPendingEvents({ workflowId: target.workflowId })).toEqual([
      { eventType: 'WorkflowExecutionSignaled', attributes: { signalName: 'go', args: [42], identity } },
    ]);
    const answer = await w.poll(sender.taskQueue);
    expect(answer.events).toEqual([
      { eventType: 'ExternalWorkflowExecutionSignaled', attributes: { seq: 1, workflowId: target.workflowId, runId: target.runId } },
    ]);
    expect(only(await w.history(sender.workflowId), 'SignalExternalWorkflowExecutionInitiated')).toEqual({
      seq: 1,
      workflowId: target.workflowId,
      signalName: 'go',
      args: [42],
      childWorkflowOnly: false,
    });
    expect(task.runId).toBe(sender.runId);
    await w.complete(answer, [complete()]);
    const t = await w.poll(target.taskQueue);
    expect(t.events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionSignaled']);
    await w.complete(t, [complete()]);
  });

  it('reports a target that does not exist, is closed, or (childWorkflowOnly) is not a child', async () => {
    const closed = await w.start();
    await w.step(closed.taskQueue, [complete()]);
    const stranger = await w.start();
    const sender = await w.start();
    await w.step(sender.taskQueue, [
      { kind: 'SignalExternalWorkflow', seq: 1, workflowId: unique('missing'), signalName: 's', args: [], childWorkflowOnly: false },
      { kind: 'SignalExternalWorkflow', seq: 2, workflowId: closed.workflowId, signalName: 's', args: [], childWorkflowOnly: false },
      { kind: 'SignalExternalWorkflow', seq: 3, workflowId: stranger.workflowId, signalName: 's', args: [], childWorkflowOnly: true },
      { kind: 'RequestCancelExternalWorkflow', seq: 1, workflowId: unique('missing'), childWorkflowOnly: false },
      { kind: 'RequestCancelExternalWorkflow', seq: 2, workflowId: stranger.workflowId, runId: closed.runId, childWorkflowOnly: false },
    ]);
    const answer = await w.poll(sender.taskQueue);
    expect(answer.events.map((e) => [e.eventType, (e.attributes as { seq: number }).seq, (e.attributes as { cause?: string }).cause])).toEqual([
      ['SignalExternalWorkflowExecutionFailed', 1, 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'],
      ['SignalExternalWorkflowExecutionFailed', 2, 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'],
      ['SignalExternalWorkflowExecutionFailed', 3, 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'],
      ['RequestCancelExternalWorkflowExecutionFailed', 1, 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'],
      ['RequestCancelExternalWorkflowExecutionFailed', 2, 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'],
    ]);
    expect(await d.engine.getPendingEvents({ workflowId: stranger.workflowId })).toEqual([]);
    await w.complete(answer, [complete()]);
    await d.engine.terminateWorkflow({ workflowId: stranger.workflowId });
  });

  it('asks another run to cancel, once, and answers the sender', async () => {
    const target = await w.start();
    const sender = await w.start();
    await w.step(sender.taskQueue, [
      { kind: 'RequestCancelExternalWorkflow', seq: 1, workflowId: target.workflowId, childWorkflowOnly: false },
      { kind: 'RequestCancelExternalWorkflow', seq: 2, workflowId: target.workflowId, runId: target.runId, childWorkflowOnly: false },
    ]);
    expect(types(await d.engine.getPendingEvents({ workflowId: target.workflowId }))).toEqual(['WorkflowExecutionCancelRequested']);
    const answer = await w.poll(sender.taskQueue);
    expect(answer.events).toEqual([
      { eventType: 'ExternalWorkflowExecutionCancelRequested', attributes: { seq: 1, workflowId: target.workflowId, runId: target.runId } },
      { eventType: 'ExternalWorkflowExecutionCancelRequested', attributes: { seq: 2, workflowId: target.workflowId, runId: target.runId } },
    ]);
    await w.complete(answer, [complete()]);
    const t = await w.poll(target.taskQueue);
    await w.complete(t, [{ kind: 'CancelWorkflow' }]);
    expect(await d.engine.awaitOutcome({ workflowId: target.workflowId })).toMatchObject({ status: 'CANCELLED' });
  });
});

describe('runs acting on each other at the same instant', () => {
  it('two runs signalling each other: any deadlock is retried, both completions recorded once', async () => {
    const deadlocksBefore = deadlockRetryCount();
    const pairs = await Promise.all(Array.from({ length: 6 }, async () => [await w.start(), await w.start()] as const));
    const tasks = await Promise.all(pairs.map(async ([a, b]) => [await w.poll(a.taskQueue), await w.poll(b.taskQueue)] as const));
    const signal = (to: string): WorkflowCommand => ({ kind: 'SignalExternalWorkflow', seq: 1, workflowId: to, signalName: 'hi', args: [], childWorkflowOnly: false });
    const results = await Promise.all(
      pairs.flatMap(([a, b], i) => [w.complete(tasks[i]![0], [signal(b.workflowId)]), w.complete(tasks[i]![1], [signal(a.workflowId)])]),
    );
    expect(results.every((r) => r.closed === false && r.completedEventId === 3)).toBe(true);
    for (const [a, b] of pairs) {
      for (const run of [a, b]) {
        expect(types(await d.engine.getPendingEvents({ workflowId: run.workflowId })).sort()).toEqual([
          'ExternalWorkflowExecutionSignaled',
          'WorkflowExecutionSignaled',
        ]);
        await d.engine.terminateWorkflow({ workflowId: run.workflowId });
      }
    }
    console.log(`mutual signals: ${deadlockRetryCount() - deadlocksBefore} deadlock(s) detected and retried`);
  });
});

describe('updates', () => {
  it('accepts and completes an update: two events, the row COMPLETED, the admission never appended', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    await admitUpdate(d.t, runId, 'u1', 'setName', ['Ada']);
    const task = await w.poll(taskQueue);
    expect(task.events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionUpdateAdmitted']);
    await w.complete(task, [
      { kind: 'AcceptUpdate', updateId: 'u1', name: 'setName', args: ['Ada'] },
      { kind: 'CompleteUpdate', updateId: 'u1', outcome: { result: 'hello Ada' } },
    ]);
    expect(await w.types(workflowId)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowExecutionUpdateAccepted',
      'WorkflowExecutionUpdateCompleted',
      'WorkflowTaskCompleted',
    ]);
    expect(await updateRow(d.t, runId, 'u1')).toEqual({ stage: 'COMPLETED', outcome: { result: 'hello Ada' } });
    expect(await d.engine.getPendingEvents({ workflowId })).toEqual([]);
    await w.expectNoTask(taskQueue);
    await d.engine.terminateWorkflow({ workflowId });
  });

  it('records a rejection in the row only: no history event', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    await w.step(taskQueue, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    await admitUpdate(d.t, runId, 'u2');
    const task = await w.poll(taskQueue);
    const before = await w.types(workflowId);
    const failure = { failureType: 'application' as const, type: 'ValidationError', message: 'bad input' };
    await w.complete(task, [{ kind: 'RejectUpdate', updateId: 'u2', failure }]);
    const after = await w.types(workflowId);
    // Only the WorkflowTaskCompleted of this task: nothing about the update.
    expect(after).toEqual([...before, 'WorkflowTaskCompleted']);
    expect(await updateRow(d.t, runId, 'u2')).toEqual({ stage: 'COMPLETED', outcome: { failure } });
    await d.engine.terminateWorkflow({ workflowId });
  });

  it('notifies chronicle_update with <runId>/<updateId> after each stage change', async () => {
    const listener = new pg.Client({ connectionString: d.t.url });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => n.channel === 'chronicle_update' && heard.push(n.payload!));
    await listener.query('LISTEN chronicle_update');
    try {
      const { workflowId, taskQueue, runId } = await w.start();
      await admitUpdate(d.t, runId, 'u3');
      const task = await w.poll(taskQueue);
      await w.complete(task, [{ kind: 'AcceptUpdate', updateId: 'u3', name: 'upd', args: [] }]);
      expect(await updateRow(d.t, runId, 'u3')).toMatchObject({ stage: 'ACCEPTED' });
      await expect.poll(() => heard, { timeout: 5000 }).toContain(`${runId}/u3`);
      // The run closes with the update accepted but not completed: the row completes with a failure.
      await d.engine.terminateWorkflow({ workflowId });
      expect(await updateRow(d.t, runId, 'u3')).toEqual({
        stage: 'COMPLETED',
        outcome: { failure: expect.objectContaining({ type: 'AcceptedUpdateCompletedWorkflow', message: expect.stringContaining("'u3'") }) },
      });
      await expect.poll(() => heard.filter((h) => h === `${runId}/u3`).length, { timeout: 5000 }).toBe(2);
    } finally {
      await listener.end();
    }
  });

  it('rejects an admitted update that the task saw but neither accepted nor rejected', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    await admitUpdate(d.t, runId, 'u4');
    await w.step(taskQueue, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    expect(await updateRow(d.t, runId, 'u4')).toEqual({ stage: 'COMPLETED', outcome: { failure: expect.objectContaining({ type: 'UpdateNotHandled' }) } });
    expect(await w.types(workflowId)).not.toContain('WorkflowExecutionUpdateAdmitted');
    await d.engine.terminateWorkflow({ workflowId });
  });

  it('refuses to reject an update the same task accepted', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    await admitUpdate(d.t, runId, 'u5');
    const task = await w.poll(taskQueue);
    await expect(
      w.complete(task, [
        { kind: 'AcceptUpdate', updateId: 'u5', name: 'upd', args: [] },
        { kind: 'RejectUpdate', updateId: 'u5', failure: { failureType: 'application', message: 'no' } },
      ]),
    ).rejects.toMatchObject({ field: 'commands[1]' });
    await d.engine.terminateWorkflow({ workflowId });
  });
});

describe('a completion that would close the run while a signal waits unseen (F8b)', () => {
  it('is rejected: nothing recorded, the task pending again with the signal; the retry sees it and closes', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    const t1 = await w.poll(taskQueue);
    // A signal arrives (through the engine's signalWorkflow) while the closing task is in flight.
    await d.engine.signalWorkflow({ workflowId }, { signalName: 'late', args: [1] });
    const r = await w.complete(t1, [complete('too early')]);
    expect(r).toEqual({ completedEventId: 0, closed: false, rejected: 'UNHANDLED_EVENTS' });
    expect(await w.types(workflowId)).toEqual(['WorkflowExecutionStarted']);
    expect(await status(d.t, runId)).toBe('RUNNING');
    // The stale token is dead.
    await expect(w.complete(t1, [complete()])).rejects.toBeInstanceOf(StaleTaskError);
    const t2 = await w.poll(taskQueue);
    expect(t2.attempt).toBe(t1.attempt);
    expect(t2.events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionSignaled']);
    expect(t2.events[1]!.attributes).toMatchObject({ signalName: 'late', args: [1] });
    expect(await w.complete(t2, [complete('saw it')])).toMatchObject({ closed: true });
    expect(await w.types(workflowId)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowExecutionSignaled',
      'WorkflowExecutionCompleted',
      'WorkflowTaskCompleted',
    ]);
  });

  it('applies to continue-as-new and to an unseen update too, but not to a completion that keeps the run open', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    const t1 = await w.poll(taskQueue);
    await admitUpdate(d.t, runId, 'late-update');
    expect(await w.complete(t1, [{ kind: 'ContinueAsNew', args: [] }])).toMatchObject({ rejected: 'UNHANDLED_EVENTS' });
    const t2 = await w.poll(taskQueue);
    await deliver(d.t, runId, 'WorkflowExecutionSignaled', { signalName: 'late', args: [] });
    // Not closing: recorded; the signal waits for the next task.
    const r = await w.complete(t2, [
      { kind: 'RejectUpdate', updateId: 'late-update', failure: { failureType: 'application', message: 'no' } },
      { kind: 'StartTimer', seq: 1, durationMs: 600_000 },
    ]);
    expect(r.rejected).toBeUndefined();
    const t3 = await w.poll(taskQueue);
    expect(t3.events.map((e) => e.eventType)).toEqual(['WorkflowExecutionSignaled']);
    await w.complete(t3, [complete()]);
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED' });
  });

  it('does not reject for an event that is not a signal or an update (a timer fired)', async () => {
    const { workflowId, taskQueue, runId } = await w.start();
    await w.step(taskQueue, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }, scheduleActivity(1)]);
    await deliver(d.t, runId, 'WorkflowExecutionCancelRequested', {});
    const t = await w.poll(taskQueue);
    await deliver(d.t, runId, 'TimerFired', { seq: 1 });
    expect(await w.complete(t, [{ kind: 'CancelWorkflow' }])).toMatchObject({ closed: true });
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'CANCELLED' });
  });
});

describe('WorkflowTaskCompleted', () => {
  it('records the history size and continue-as-new suggestion the task reported', async () => {
    const { workflowId, taskQueue } = await w.start();
    const task = await w.poll(taskQueue);
    expect(task.historySizeBytes).toBeGreaterThan(0);
    expect(task.continueAsNewSuggested).toBe(false);
    await w.complete(task, [complete()], { historySizeBytes: task.historySizeBytes, continueAsNewSuggested: false });
    const wtc = only(await w.history(workflowId), 'WorkflowTaskCompleted');
    expect(wtc).toMatchObject({ historySizeBytes: task.historySizeBytes, continueAsNewSuggested: false, identity, attempt: 1 });
  });
});

describe('the one-commit path (activity result with the workflow task it unblocks)', () => {
  it('accepts every command kind, e.g. a marker, an upsert, an external signal and a continue-as-new', async () => {
    const target = await w.start();
    const { workflowId, taskQueue, runId } = await w.start();
    const first = await w.poll(taskQueue);
    const done = await w.complete(first, [scheduleActivity(1)], { eagerActivitySlots: 1 });
    const [a] = done.eagerActivityTasks!;
    const r = await d.engine.completeActivityAndWorkflowTask(a!.taskToken, {
      result: 'A',
      identity,
      previousCompletedEventId: done.completedEventId,
      workflowTime: first.startedAt,
      commands: [
        { kind: 'RecordMarker', markerName: 'm', details: { x: 1 } },
        { kind: 'UpsertSearchAttributes', searchAttributes: { CustomKeywordField: ['k'] } },
        { kind: 'SignalExternalWorkflow', seq: 1, workflowId: target.workflowId, signalName: 's', args: [], childWorkflowOnly: false },
        { kind: 'ContinueAsNew', args: ['next'] },
      ],
    });
    expect(r).toMatchObject({ applied: true, closed: true });
    expect((await w.types({ workflowId, runId })).slice(3)).toEqual([
      'ActivityTaskCompleted',
      'MarkerRecorded',
      'UpsertWorkflowSearchAttributes',
      'SignalExternalWorkflowExecutionInitiated',
      'WorkflowExecutionContinuedAsNew',
      'WorkflowTaskCompleted',
    ]);
    expect(types(await d.engine.getPendingEvents({ workflowId: target.workflowId }))).toEqual(['WorkflowExecutionSignaled']);
    const next = await d.engine.describeWorkflow({ workflowId });
    expect(next).toMatchObject({ status: 'RUNNING', searchAttributes: { CustomKeywordField: ['k'] }, firstExecutionRunId: runId });
    await d.engine.terminateWorkflow({ workflowId });
    await d.engine.terminateWorkflow({ workflowId: target.workflowId });
  });
});
