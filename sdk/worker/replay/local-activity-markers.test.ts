import { describe, expect, it } from 'vitest';
import type { LocalActivityRequest } from '../../../engine/protocol/activation.js';
import type { HistoryEvent, HistoryEventOf } from '../../../engine/protocol/events.js';
import { DEFAULT_PRIORITY, DEFAULT_RETRY } from '../../../engine/protocol/retry-policy.js';
import { answerLocalActivities } from './local-activity-markers.js';
import { NonDeterminismError } from './matcher.js';

const options = { startToCloseTimeoutMs: 1000, retry: { ...DEFAULT_RETRY, maximumIntervalMs: 100_000, nonRetryableErrorTypes: [] }, priority: DEFAULT_PRIORITY };
const request = (seq: number, activityType = 'echo'): LocalActivityRequest => ({ seq, activityType, args: [], options });
const marker = (eventId: number, details: object): HistoryEvent => ({ eventId, eventType: 'MarkerRecorded', timestamp: 0, attributes: { markerName: 'core_local_activity', details } }) as HistoryEvent;
const completed = { eventId: 9, eventType: 'WorkflowTaskCompleted', timestamp: 0, attributes: { workflowTime: 0, identity: 'w', attempt: 1 } } as HistoryEventOf<'WorkflowTaskCompleted'>;

describe('answerLocalActivities', () => {
  const failure = { failureType: 'application' as const, message: 'no' };
  const batch = {
    completed,
    commandEvents: [
      marker(3, { seq: 1, activityType: 'echo', attempt: 2, result: 'one' }),
      marker(4, { seq: 2, activityType: 'echo', attempt: 5, failure }),
      marker(5, { seq: 3, activityType: 'echo', attempt: 0, failure, cancelled: true }),
    ],
  };

  it('answers each request from its marker; a marker of a cancellation is no answer', () => {
    expect(answerLocalActivities([request(1), request(2), request(3)], batch)).toEqual([
      { kind: 'ResolveLocalActivity', seq: 1, attempt: 2, result: { status: 'completed', result: 'one' } },
      { kind: 'ResolveLocalActivity', seq: 2, attempt: 5, result: { status: 'failed', failure } },
    ]);
  });

  it('a request with no marker, or a marker of another activity, is non-deterministic', () => {
    expect(() => answerLocalActivities([request(4)], batch)).toThrow(NonDeterminismError);
    const err = (() => {
      try {
        answerLocalActivities([request(1, 'other')], batch);
      } catch (e) {
        return e as NonDeterminismError;
      }
    })()!;
    expect(err.eventId).toBe(3);
    expect(err.message).toContain("history has MarkerRecorded(core_local_activity, seq 1, 'echo') but the workflow produced RecordMarker(core_local_activity, seq 1, 'other')");
  });
});
