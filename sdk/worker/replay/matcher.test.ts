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
