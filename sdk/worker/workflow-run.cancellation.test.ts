// CancellationScope and activity cancellation types through WorkflowRun (SEMANTICS.md items 6–7).
import { describe, expect, it } from 'vitest';
import { T0, useFixture } from './__fixtures__/harness.js';
import { commandsOf, inbox, liveTask, runInfo } from './__fixtures__/history.js';

const { begin, fresh } = useFixture('model.ts');

describe('CancellationScope', () => {
  it('nonCancellable cleanup runs after the cancel, then the run ends CANCELLED', () => {
    const { history, started, run, info } = begin('cleanupAfterCancel');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([{ kind: 'StartTimer', seq: 1, durationMs: 3_600_000 }]);
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested('stop')], T0 + 1))).toMatchObject([
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'ScheduleActivity', seq: 1, activityType: 'cleanup', args: ['after cancel'] },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.activityCompleted(1, 'cleaned')], T0 + 2))).toEqual([{ kind: 'CancelWorkflow' }]);
    expect(run.closed).toBe(true);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });

  it('withTimeout cancels its scope from inside: the workflow FAILS with the CancelledFailure', () => {
    const { history, started, run, info } = begin('timesOut', ['sleep']);
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 1000 },
      { kind: 'StartTimer', seq: 2, durationMs: 3_600_000 },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1000))).toEqual([
      { kind: 'CancelTimer', seq: 2 },
      { kind: 'FailWorkflow', failure: expect.objectContaining({ failureType: 'cancelled', message: 'Cancellation scope cancelled' }) },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('withTimeout around an activity: ActivityFailure(cause CancelledFailure) fails the workflow; the activity is asked to cancel', () => {
    const { history, started, run } = begin('timesOut', ['activity']);
    expect(commandsOf(liveTask(run, history, [started], T0)).map((c) => c.kind)).toEqual(['StartTimer', 'ScheduleActivity']);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1000))).toEqual([
      { kind: 'RequestCancelActivity', seq: 1 },
      { kind: 'FailWorkflow', failure: expect.objectContaining({ failureType: 'activity', cause: expect.objectContaining({ failureType: 'cancelled' }) }) },
    ]);
  });

  it('withTimeout cancels its timer when the function finishes first', () => {
    const { history, started, run } = begin('timesOut', ['activity']);
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.activityCompleted(1, 'quick')], T0 + 10))).toEqual([
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'CompleteWorkflow', result: 'in time' },
    ]);
  });

  it('the current scope follows the code across awaits (AsyncLocalStorage in the sandbox)', () => {
    const { history, started, run, info } = begin('scopeAcrossAwaits');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 1 },
      { kind: 'StartTimer', seq: 2, durationMs: 5 },
    ]);
    // After its await, the inner code starts a timer: it must belong to the inner scope.
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([{ kind: 'StartTimer', seq: 3, durationMs: 3_600_000 }]);
    // Cancelling the inner scope cancels that timer only; the root goes on.
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(2)], T0 + 5))).toEqual([
      { kind: 'CancelTimer', seq: 3 },
      { kind: 'StartTimer', seq: 4, durationMs: 2 },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(4)], T0 + 7))).toEqual([
      {
        kind: 'CompleteWorkflow',
        result: {
          outcome: { name: 'CancelledFailure', message: 'Cancellation scope cancelled', cancellation: true },
          rootCancelled: false,
          parentIsRoot: true,
        },
      },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(4);
  });

  it('two runs interleaved keep their own scopes (the async-context storage is shared by all sandboxes)', () => {
    const a = begin('scopeAcrossAwaits');
    const b = begin('scopeAcrossAwaits', [], {}, runInfo('scopeAcrossAwaits', { runId: 'other-run' }));
    const steps = [[], [inbox.timerFired(1)], [inbox.timerFired(2)], [inbox.timerFired(4)]];
    const results = { a: [] as unknown[], b: [] as unknown[] };
    steps.forEach((events, i) => {
      results.a.push(commandsOf(liveTask(a.run, a.history, i === 0 ? [a.started] : events, T0 + i)));
      results.b.push(commandsOf(liveTask(b.run, b.history, i === 0 ? [b.started] : events, T0 + i)));
    });
    expect(results.b).toEqual(results.a);
    expect(results.a[2]).toEqual([
      { kind: 'CancelTimer', seq: 3 },
      { kind: 'StartTimer', seq: 4, durationMs: 2 },
    ]);
  });
});

describe('activity cancellationType', () => {
  const cancelled = { name: 'ActivityFailure', message: 'Activity task cancelled', cancellation: true, cause: { name: 'CancelledFailure', message: 'stop' } };

  function startedWith(type: string) {
    const b = begin('cancelActivityWith', [type]);
    expect(commandsOf(liveTask(b.run, b.history, [b.started], T0))).toMatchObject([{ kind: 'ScheduleActivity', seq: 1, activityType: 'slow' }]);
    return b;
  }

  it('TRY_CANCEL (default): RequestCancelActivity and the call rejects at once', () => {
    const { history, run, info } = startedWith('TRY_CANCEL');
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested('stop')], T0 + 1))).toEqual([
      { kind: 'RequestCancelActivity', seq: 1 },
      { kind: 'CompleteWorkflow', result: cancelled },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('WAIT_CANCELLATION_COMPLETED: RequestCancelActivity, then the call rejects when the activity acknowledges', () => {
    const { history, run, info } = startedWith('WAIT_CANCELLATION_COMPLETED');
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested('stop')], T0 + 1))).toEqual([{ kind: 'RequestCancelActivity', seq: 1 }]);
    expect(commandsOf(liveTask(run, history, [inbox.activityCanceled(1)], T0 + 2))).toEqual([
      {
        kind: 'CompleteWorkflow',
        result: { ...cancelled, cause: { name: 'CancelledFailure', message: 'Activity cancelled' } },
      },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });

  it('WAIT_CANCELLATION_COMPLETED: an activity that finishes anyway resolves the call', () => {
    const { history, run } = startedWith('WAIT_CANCELLATION_COMPLETED');
    commandsOf(liveTask(run, history, [inbox.cancelRequested('stop')], T0 + 1));
    expect(commandsOf(liveTask(run, history, [inbox.activityCompleted(1, 'done anyway')], T0 + 2))).toEqual([
      { kind: 'CompleteWorkflow', result: { result: 'done anyway' } },
    ]);
  });

  it('ABANDON: no command, the call rejects at once', () => {
    const { history, run } = startedWith('ABANDON');
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested('stop')], T0 + 1))).toEqual([{ kind: 'CompleteWorkflow', result: cancelled }]);
  });

  it('an unknown cancellation type is refused when the activity is proxied, naming the option', () => {
    const { history, started, run } = begin('cancelActivityWith', ['SOMETIMES']);
    expect(liveTask(run, history, [started], T0)).toMatchObject({
      kind: 'WORKFLOW_ERROR',
      error: { type: 'InvalidArgumentError', message: expect.stringContaining(`cancellationType: "SOMETIMES" is not one of 'TRY_CANCEL', 'WAIT_CANCELLATION_COMPLETED', 'ABANDON'`) },
    });
  });
});
