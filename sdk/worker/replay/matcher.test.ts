import { describe, expect, it } from 'vitest';
import type { WorkflowCommand } from '../../../engine/protocol/commands.js';
import type { HistoryEvent } from '../../../engine/protocol/events.js';
import { DEFAULT_PRIORITY, DEFAULT_RETRY } from '../../../engine/protocol/retry-policy.js';
import { NonDeterminismError, matchCommands } from './matcher.js';

const options = { startToCloseTimeoutMs: 1000, retry: { ...DEFAULT_RETRY, maximumIntervalMs: 100_000, nonRetryableErrorTypes: [] }, priority: DEFAULT_PRIORITY };
const schedule = (seq: number, activityType: string, args: unknown[] = []): WorkflowCommand => ({ kind: 'ScheduleActivity', seq, activityType, args, options });
const scheduled = (eventId: number, seq: number, activityType: string, args: unknown[] = []): HistoryEvent => ({
  eventId,
  eventType: 'ActivityTaskScheduled',
  timestamp: 0,
  attributes: { seq, activityType, taskQueue: 'q', args, options },
});
const timerStarted = (eventId: number, seq: number, durationMs = 1000): HistoryEvent => ({ eventId, eventType: 'TimerStarted', timestamp: 0, attributes: { seq, durationMs, fireAt: 0 } });
const completed = (eventId: number): HistoryEvent => ({ eventId, eventType: 'WorkflowExecutionCompleted', timestamp: 0, attributes: { result: 1 } });

function nde(fn: () => void): NonDeterminismError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NonDeterminismError);
    expect((err as NonDeterminismError).code).toBe('CHR_NON_DETERMINISM');
    return err as NonDeterminismError;
  }
  throw new Error('expected NonDeterminismError');
}

describe('matchCommands', () => {
  it('accepts equal kinds, seqs and activity types; ignores args, options and durations', () => {
    expect(() =>
      matchCommands(
        [schedule(1, 'chargeCard', ['new args']), { kind: 'StartTimer', seq: 1, durationMs: 5 }, { kind: 'CompleteWorkflow', result: 'other' }],
        [scheduled(5, 1, 'chargeCard', ['old args']), timerStarted(6, 1, 99_000), completed(7)],
      ),
    ).not.toThrow();
    expect(() => matchCommands([], [])).not.toThrow();
  });

  it('names the event and both sides for a different activity type', () => {
    const err = nde(() => matchCommands([schedule(1, 'reserveStock')], [scheduled(5, 1, 'chargeCard')]));
    expect(err.message).toMatch(
      /^Non-determinism at event 5: history has ActivityTaskScheduled\(seq 1, 'chargeCard'\) but the workflow produced ScheduleActivity\(seq 1, 'reserveStock'\)\. /,
    );
    expect(err.eventId).toBe(5);
    expect(err.recorded).toEqual({ eventId: 5, eventType: 'ActivityTaskScheduled', seq: 1, activityType: 'chargeCard' });
    expect(err.produced).toEqual({ kind: 'ScheduleActivity', seq: 1, activityType: 'reserveStock' });
  });

  it('detects a different kind and a different seq', () => {
    expect(nde(() => matchCommands([{ kind: 'StartTimer', seq: 1, durationMs: 1 }], [scheduled(3, 1, 'a')])).message).toContain(
      "history has ActivityTaskScheduled(seq 1, 'a') but the workflow produced StartTimer(seq 1)",
    );
    expect(nde(() => matchCommands([{ kind: 'StartTimer', seq: 2, durationMs: 1 }], [timerStarted(4, 1)])).message).toContain(
      'at event 4: history has TimerStarted(seq 1) but the workflow produced StartTimer(seq 2)',
    );
  });

  it('detects a missing command', () => {
    const err = nde(() => matchCommands([schedule(1, 'a')], [scheduled(3, 1, 'a'), timerStarted(4, 1)]));
    expect(err.eventId).toBe(4);
    expect(err.produced).toBeUndefined();
    expect(err.message).toContain('at event 4: history has TimerStarted(seq 1) but the workflow produced no command there');
  });

  it('detects an extra command, at the given event id', () => {
    const err = nde(() => matchCommands([schedule(1, 'a'), { kind: 'CompleteWorkflow', result: null }], [scheduled(3, 1, 'a')], { extraCommandEventId: 4 }));
    expect(err.eventId).toBe(4);
    expect(err.recorded).toBeUndefined();
    expect(err.message).toContain('at event 4: history has no further command in this workflow task but the workflow produced CompleteWorkflow');
  });
});

describe('matchCommands: the programming model', () => {
  const ev = (eventId: number, eventType: HistoryEvent['eventType'], attributes: object): HistoryEvent => ({ eventId, eventType, timestamp: 0, attributes }) as HistoryEvent;
  const patch = (eventId: number, patchId: string, deprecated: boolean) => ev(eventId, 'MarkerRecorded', { markerName: 'core_patch', details: { patchId, deprecated } });
  const marker = (patchId: string, deprecated = false): WorkflowCommand => ({ kind: 'RecordMarker', markerName: 'core_patch', details: { patchId, deprecated } });

  it('matches every command kind to its event by what identifies it', () => {
    expect(() =>
      matchCommands(
        [
          { kind: 'RequestCancelActivity', seq: 1 },
          marker('p'),
          { kind: 'RecordMarker', markerName: 'core_local_activity', details: { seq: 2, activityType: 'echo', attempt: 1, result: 'new' } },
          { kind: 'UpsertSearchAttributes', searchAttributes: { A: ['new'] } },
          { kind: 'StartChildWorkflow', seq: 1, workflowId: 'k', workflowType: 'child', args: [], parentClosePolicy: 'TERMINATE', cancellationType: 'ABANDON' },
          { kind: 'SignalExternalWorkflow', seq: 1, workflowId: 'o', signalName: 's', args: [], childWorkflowOnly: false },
          { kind: 'RequestCancelExternalWorkflow', seq: 1, workflowId: 'o', childWorkflowOnly: false },
          { kind: 'RejectUpdate', updateId: 'u0', failure: { failureType: 'application', message: 'no' } },
          { kind: 'AcceptUpdate', updateId: 'u1', name: 'set', args: [] },
          { kind: 'CompleteUpdate', updateId: 'u1', outcome: { result: 1 } },
          { kind: 'ContinueAsNew', args: [] },
        ],
        [
          ev(3, 'ActivityTaskCancelRequested', { seq: 1 }),
          patch(4, 'p', false),
          ev(5, 'MarkerRecorded', { markerName: 'core_local_activity', details: { seq: 2, activityType: 'echo', attempt: 1, result: 'old' } }),
          ev(6, 'UpsertWorkflowSearchAttributes', { searchAttributes: { A: ['old'] } }),
          ev(7, 'StartChildWorkflowExecutionInitiated', { seq: 1, workflowId: 'k', workflowType: 'child' }),
          ev(8, 'SignalExternalWorkflowExecutionInitiated', { seq: 1, workflowId: 'o', signalName: 's' }),
          ev(9, 'RequestCancelExternalWorkflowExecutionInitiated', { seq: 1, workflowId: 'o' }),
          ev(10, 'WorkflowExecutionUpdateAccepted', { updateId: 'u1', name: 'set', args: [] }),
          ev(11, 'WorkflowExecutionUpdateCompleted', { updateId: 'u1', outcome: { result: 2 } }),
          ev(12, 'WorkflowExecutionContinuedAsNew', { newExecutionRunId: 'n', workflowType: 't', taskQueue: 'q', args: [] }),
        ],
      ),
    ).not.toThrow();
  });

  it('names a different patch, child type, signal name or update id', () => {
    expect(nde(() => matchCommands([marker('b')], [patch(4, 'a', false)])).message).toContain(
      "at event 4: history has MarkerRecorded(core_patch, patch 'a') but the workflow produced RecordMarker(core_patch, patch 'b')",
    );
    expect(
      nde(() =>
        matchCommands(
          [{ kind: 'StartChildWorkflow', seq: 1, workflowId: 'k', workflowType: 'other', args: [], parentClosePolicy: 'TERMINATE', cancellationType: 'ABANDON' }],
          [ev(7, 'StartChildWorkflowExecutionInitiated', { seq: 1, workflowType: 'child' })],
        ),
      ).message,
    ).toContain("StartChildWorkflowExecutionInitiated(seq 1, 'child') but the workflow produced StartChildWorkflow(seq 1, 'other')");
    expect(nde(() => matchCommands([{ kind: 'AcceptUpdate', updateId: 'u2', name: 'n', args: [] }], [ev(5, 'WorkflowExecutionUpdateAccepted', { updateId: 'u1' })])).message).toContain(
      "WorkflowExecutionUpdateAccepted(update 'u1') but the workflow produced AcceptUpdate(update 'u2')",
    );
  });

  it('skips a recorded deprecated patch marker the code no longer produces, but never a non-deprecated one', () => {
    expect(() => matchCommands([{ kind: 'StartTimer', seq: 1, durationMs: 1 }], [patch(3, 'p', true), timerStarted(4, 1)])).not.toThrow();
    expect(() => matchCommands([], [patch(3, 'p', true)])).not.toThrow();
    expect(() => matchCommands([marker('p', true), { kind: 'StartTimer', seq: 1, durationMs: 1 }], [patch(3, 'p', true), timerStarted(4, 1)])).not.toThrow();
    expect(nde(() => matchCommands([{ kind: 'StartTimer', seq: 1, durationMs: 1 }], [patch(3, 'p', false), timerStarted(4, 1)])).eventId).toBe(3);
  });

  it('a RejectUpdate records nothing and is never compared', () => {
    expect(() => matchCommands([{ kind: 'RejectUpdate', updateId: 'u', failure: { failureType: 'application', message: 'x' } }], [])).not.toThrow();
  });
});
