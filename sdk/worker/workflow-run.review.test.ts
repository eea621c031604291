// Semantics review: cases where the sandbox could differ from Temporal (SEMANTICS.md items 1–16, 18).
import { describe, expect, it } from 'vitest';
import { T0, useFixture } from './__fixtures__/harness.js';
import { commandsOf, inbox, liveTask } from './__fixtures__/history.js';

const { begin, fresh } = useFixture('review.ts');

describe('queries change nothing', () => {
  it('a query that draws random numbers does not move the run’s random sequence (uuid4 stays replay-stable)', () => {
    const quiet = begin('randomAfterQuery');
    commandsOf(liveTask(quiet.run, quiet.history, [quiet.started], T0));
    const [expected] = commandsOf(liveTask(quiet.run, quiet.history, [inbox.signal('go')], T0 + 1));

    const queried = begin('randomAfterQuery');
    commandsOf(liveTask(queried.run, queried.history, [queried.started], T0));
    expect(queried.run.query('random', [])).toEqual({ result: expect.any(Number) });
    expect(commandsOf(liveTask(queried.run, queried.history, [inbox.signal('go')], T0 + 1))).toEqual([expected]);
  });
});

describe('CancellationScope', () => {
  it('work left running in a scope after its function returned is still cancelled with the workflow', () => {
    const { history, started, run } = begin('detachedScopeWork');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([{ kind: 'StartTimer', seq: 1, durationMs: 10 }]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 10))).toEqual([
      expect.objectContaining({ kind: 'ScheduleActivity', seq: 1, activityType: 'slow' }),
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested()], T0 + 11))).toEqual([
      { kind: 'RequestCancelActivity', seq: 1 },
      { kind: 'CancelWorkflow' },
    ]);
  });

  it('nonCancellable inside a cancelled scope still runs; the cancellable sleep after it rejects at once', () => {
    const { history, started, run, info } = begin('shieldedInsideCancelled');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([{ kind: 'StartTimer', seq: 1, durationMs: 5 }]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 5))).toEqual([
      { kind: 'CompleteWorkflow', result: { name: 'CancelledFailure', message: 'Cancellation scope cancelled', cancellation: true } },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('condition(fn, timeout) in a scope cancelled from outside rejects and cancels its timer', () => {
    const { history, started, run } = begin('conditionInCancelledScope');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 3_600_000 },
      { kind: 'StartTimer', seq: 2, durationMs: 1 },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(2)], T0 + 1))).toEqual([
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'CompleteWorkflow', result: { name: 'CancelledFailure', message: 'Cancellation scope cancelled', cancellation: true } },
    ]);
  });

  it('a child cancelled before its start command was sent is never started (Temporal drops the command)', () => {
    const { history, started, run, info } = begin('childCancelledBeforeSent');
    const commands = commandsOf(liveTask(run, history, [started], T0));
    expect(commands.map((c) => c.kind)).toEqual(['StartTimer']);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([
      { kind: 'CompleteWorkflow', result: { name: 'CancelledFailure', message: 'Cancellation scope cancelled', cancellation: true } },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('an ABANDON activity cancelled before its schedule command was sent is never scheduled', () => {
    const { history, started, run, info } = begin('abandonedBeforeSent');
    const commands = commandsOf(liveTask(run, history, [started], T0));
    expect(commands.map((c) => c.kind)).toEqual(['StartTimer']);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([
      { kind: 'CompleteWorkflow', result: { name: 'ActivityFailure', message: 'Activity task cancelled', cancellation: true, cause: 'CancelledFailure' } },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });
});

describe('patched', () => {
  it('a first call after the run went live returns true, although the run replayed before', () => {
    const { history, started, run, info } = begin('lateFirstPatch');
    commandsOf(liveTask(run, history, [started], T0));
    commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1));
    const replayed = fresh(info);
    replayed.replay(history.events);
    expect(commandsOf(liveTask(replayed, history, [inbox.timerFired(2)], T0 + 2))).toEqual([
      { kind: 'RecordMarker', markerName: 'core_patch', details: { patchId: 'late', deprecated: false } },
      { kind: 'CompleteWorkflow', result: [true] },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });
});

describe('local activities', () => {
  it('a failed local activity replays its failure from the marker (attempts included), never running it', () => {
    const { history, started, run, info } = begin('localFailure');
    const failed = { status: 'failed', failure: { failureType: 'activity', message: 'Activity task failed', activity: { activityType: 'lookup', activityId: '1', retryState: 'MAXIMUM_ATTEMPTS_REACHED' }, cause: { failureType: 'application', type: 'Nope', message: 'nope', nonRetryable: false } } } as const;
    expect(commandsOf(liveTask(run, history, [started], T0, { localActivity: () => failed })).map((c) => c.kind)).toEqual(['RecordMarker', 'StartTimer']);
    const [done] = commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1));
    expect(done).toEqual({ kind: 'CompleteWorkflow', result: { name: 'ActivityFailure', message: 'Activity task failed', cancellation: false, cause: 'ApplicationFailure' } });
    const replayed = fresh(info);
    expect(replayed.replay(history.events).replayedBatches).toBe(2);
    expect(replayed.closed).toBe(true);
  });
});

describe('continue-as-new and search attributes', () => {
  it('continueAsNew from an update handler closes the run after accepting the update', () => {
    const { history, started, run, info } = begin('continuesFromUpdate', [1]);
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'bump')], T0 + 1))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u1', name: 'bump', args: [] },
      { kind: 'ContinueAsNew', args: [2] },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('upserts merge per key, [] deletes, visible at once and reproduced on replay', () => {
    const { history, started, run, info } = begin('upserts', [], { searchAttributes: { CustomStringField: ['s'] } });
    commandsOf(liveTask(run, history, [started], T0));
    expect(run.query('state', [])).toEqual({ result: { CustomStringField: ['s'], CustomKeywordField: ['a'], CustomIntField: [1] } });
    commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1));
    const replayed = fresh(info);
    replayed.replay(history.events);
    expect(replayed.query('state', [])).toEqual({ result: { CustomStringField: ['s'], CustomKeywordField: ['a'], CustomBoolField: [true] } });
  });
});
