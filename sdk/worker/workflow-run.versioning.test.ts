// Patches, local activities, search attributes and workflowInfo through WorkflowRun (plan §10–12).
import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../engine/protocol/events.js';
import { T0, useFixture } from './__fixtures__/harness.js';
import { HistoryBuilder, commandsOf, inbox, liveTask, runInfo } from './__fixtures__/history.js';
import { NonDeterminismError } from './replay/matcher.js';

const { begin, fresh } = useFixture('model.ts');

const patchMarker = (deprecated: boolean) => ({ kind: 'RecordMarker', markerName: 'core_patch', details: { patchId: 'my-patch', deprecated } });

/** A history of `workflowType` whose first task recorded `first` and whose timer then fired. */
function twoTaskHistory(workflowType: string, first: Parameters<HistoryBuilder['completeTask']>[1], result: string) {
  const info = runInfo(workflowType);
  const history = new HistoryBuilder();
  history.completeTask([history.start(info, [])], [...first, { kind: 'StartTimer', seq: 1, durationMs: 1 }], T0);
  history.completeTask([inbox.timerFired(1)], [{ kind: 'CompleteWorkflow', result }], T0 + 1);
  return { info, history };
}

/** The same history, as if it had been written by another workflow type (code changed under the same name). */
function asType(events: readonly HistoryEvent[], workflowType: string): HistoryEvent[] {
  return events.map((e) => (e.eventType === 'WorkflowExecutionStarted' ? ({ ...e, attributes: { ...e.attributes, workflowType } } as HistoryEvent) : e));
}

describe('patched / deprecatePatch', () => {
  it('a new run takes the patch and records one marker (the answer is memoised)', () => {
    const { history, started, run, info } = begin('patchedFlow');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([patchMarker(false), { kind: 'StartTimer', seq: 1, durationMs: 1 }]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([{ kind: 'CompleteWorkflow', result: 'new/true' }]);
    // Replay of a history with the marker: true again, marker matched.
    const replayed = fresh(info);
    expect(replayed.replay(history.events).replayedBatches).toBe(2);
  });

  it('replaying a history written before the patch: false, and it stays false once live', () => {
    const { info, history } = twoTaskHistory('patchedFlow', [], 'old/false');
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
    // Replay the first task only, then run the second live: the old path continues.
    const run = fresh(info);
    run.replay(history.events.slice(0, 3));
    const [done] = commandsOf(run.activate([inbox.timerFired(1)], { timestamp: T0 + 1, historyLength: 4 }));
    expect(done).toEqual({ kind: 'CompleteWorkflow', result: 'old/false' });
  });

  it('deprecatePatch records a deprecated marker live, and replays histories with the old marker', () => {
    const { history, started, run } = begin('deprecatedFlow');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([patchMarker(true), { kind: 'StartTimer', seq: 1, durationMs: 1 }]);
    const old = twoTaskHistory('deprecatedFlow', [patchMarker(false) as never], 'new/true');
    expect(fresh(old.info).replay(old.history.events).replayedBatches).toBe(2);
  });

  it('code without the deprecatePatch call replays a history with the deprecated marker (the marker is skipped)', () => {
    const { info, history } = twoTaskHistory('deprecatedFlow', [patchMarker(true) as never], 'new/true');
    const unpatched = runInfo('unpatchedFlow');
    expect(fresh(unpatched).replay(asType(history.events, 'unpatchedFlow')).replayedBatches).toBe(2);
    // A non-deprecated marker may not be skipped: that code must still call patched().
    const strict = twoTaskHistory('patchedFlow', [patchMarker(false) as never], 'new/true');
    expect(() => fresh(unpatched).replay(asType(strict.history.events, 'unpatchedFlow'))).toThrow(NonDeterminismError);
    void info;
  });
});

describe('local activities', () => {
  const echo = (request: { activityType: string; args: readonly unknown[] }) =>
    request.args[0] === 'two'
      ? ({ status: 'failed', failure: { failureType: 'application', message: 'no two', type: 'NoTwo', nonRetryable: true } } as const)
      : ({ status: 'completed', result: `echo ${String(request.args[0])}` } as const);

  it('a request goes to the worker, its result comes back in the same task and is recorded as a marker', () => {
    const { history, started, run, info } = begin('localFlow');
    const first = run.activate([started], { timestamp: T0, historyLength: 1 });
    expect(first).toEqual({
      commands: [],
      localActivities: [{ seq: 1, activityType: 'echo', args: ['one'], options: expect.objectContaining({ startToCloseTimeoutMs: 5000 }) }],
    });
    expect(() => run.markCompleted(2)).toThrow('resolve them first');
    const second = run.resolveLocalActivities([{ seq: 1, attempt: 1, result: { status: 'completed', result: 'echo one' } }]);
    expect(second).toEqual({
      commands: [{ kind: 'RecordMarker', markerName: 'core_local_activity', details: { seq: 1, activityType: 'echo', attempt: 1, result: 'echo one' } }],
      localActivities: [expect.objectContaining({ seq: 2, activityType: 'echo', args: ['two'] })],
    });
    expect(() => run.resolveLocalActivities([{ seq: 1, attempt: 1, result: { status: 'completed', result: 'again' } }])).toThrow('was not requested, or was resolved already');
    const third = run.resolveLocalActivities([{ seq: 2, attempt: 3, result: echo({ activityType: 'echo', args: ['two'] }) }]);
    expect(commandsOf(third)).toEqual([
      { kind: 'RecordMarker', markerName: 'core_local_activity', details: { seq: 2, activityType: 'echo', attempt: 3, failure: expect.objectContaining({ type: 'NoTwo' }) } },
      { kind: 'StartTimer', seq: 1, durationMs: 1 },
    ]);
    run.markCompleted(history.completeTask([started], [...commandsOf(second), ...commandsOf(third)], T0));
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([
      {
        kind: 'CompleteWorkflow',
        result: ['echo one', { name: 'ActivityFailure', message: 'Activity task failed', cancellation: false, cause: { name: 'ApplicationFailure', message: 'no two' } }],
      },
    ]);

    // Replay answers from the markers: nothing reaches a worker, the same result comes out.
    const replayed = fresh(info);
    expect(replayed.replay(history.events)).toEqual({ replayedBatches: 2, lastCompletedEventId: history.length });
    expect(replayed.closed).toBe(true);
  });

  it('liveTask helper: the same flow end to end', () => {
    const { history, started, run } = begin('localFlow');
    expect(commandsOf(liveTask(run, history, [started], T0, { localActivity: echo })).map((c) => c.kind)).toEqual(['RecordMarker', 'RecordMarker', 'StartTimer']);
  });

  it('replay of a history without the marker is non-deterministic', () => {
    const { info, history } = twoTaskHistory('localFlow', [], 'x');
    expect(() => fresh(info).replay(history.events)).toThrow(/history has no further command in this workflow task but the workflow produced RecordMarker\(core_local_activity, seq 1, 'echo'\)/);
  });
});

describe('search attributes and workflowInfo', () => {
  it('upsertSearchAttributes merges per key, [] removes, visible at once, one command each', () => {
    const { history, started, run, info } = begin('tagging', [], { searchAttributes: { CustomBoolField: [true] } });
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'UpsertSearchAttributes', searchAttributes: { CustomKeywordField: ['a', 'b'], CustomIntField: [1] } },
      { kind: 'UpsertSearchAttributes', searchAttributes: { CustomIntField: [], CustomDatetimeField: ['1970-01-01T00:00:00.000Z'] } },
      { kind: 'StartTimer', seq: 1, durationMs: 1 },
    ]);
    const after = { CustomBoolField: [true], CustomKeywordField: ['a', 'b'], CustomDatetimeField: ['1970-01-01T00:00:00.000Z'] };
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([
      {
        kind: 'CompleteWorkflow',
        result: { before: { CustomBoolField: [true] }, mid: { CustomBoolField: [true], CustomKeywordField: ['a', 'b'], CustomIntField: [1] }, after, later: after },
      },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('workflowInfo: parent, memo, chain ids, timeouts, history size and continue-as-new suggestion, reproduced on replay', () => {
    const parent = { namespace: 'default', workflowId: 'p', runId: 'p-run', seq: 1, parentClosePolicy: 'TERMINATE' as const };
    const { history, started, run, info } = begin('infoFlow', [], {
      parent,
      memo: { note: 'hi' },
      continuedExecutionRunId: 'previous-run',
      firstExecutionRunId: 'first-run',
      workflowExecutionTimeoutMs: 60_000,
      workflowRunTimeoutMs: 30_000,
    });
    commandsOf(liveTask(run, history, [started], T0, { historySizeBytes: 321 }));
    const [done] = commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1, { historySizeBytes: 654, continueAsNewSuggested: true }));
    expect(done).toEqual({
      kind: 'CompleteWorkflow',
      result: {
        first: {
          namespace: 'default', workflowId: 'order-1', runId: info.runId, workflowType: 'infoFlow', taskQueue: 'orders',
          historyLength: 1, historySize: 321, continueAsNewSuggested: false, attempt: 1,
          parent: { workflowId: 'p', runId: 'p-run', namespace: 'default' },
          searchAttributes: {}, memo: { note: 'hi' }, continuedFromExecutionRunId: 'previous-run', firstExecutionRunId: 'first-run',
          executionTimeoutMs: 60_000, runTimeoutMs: 30_000, unsafe: { isReplaying: false },
        },
        second: { historyLength: 4, historySize: 654, continueAsNewSuggested: true },
      },
    });
    // The sizes were recorded in the WorkflowTaskCompleted events; replay reads them back.
    expect(history.events[2]).toMatchObject({ eventType: 'WorkflowTaskCompleted', attributes: { historySizeBytes: 321 } });
    const firstOnly = fresh(info);
    firstOnly.replay(history.events.slice(0, 3));
    expect(firstOnly.query('info', [])).toEqual({ result: { ...(done as { result: { first: object } }).result.first, unsafe: { isReplaying: true } } });
    const replayed = fresh(info);
    expect(replayed.replay(history.events).replayedBatches).toBe(2);
    expect(replayed.query('info', [])).toEqual({ result: { historyLength: 4, historySize: 654, continueAsNewSuggested: true } });
  });
});
