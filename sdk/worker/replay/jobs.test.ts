import { describe, expect, it } from 'vitest';
import type { PendingEvent } from '../../../engine/protocol/events.js';
import type { FailureInfo } from '../../../engine/protocol/failures.js';
import { jobsFromEvents } from './jobs.js';

const declined: FailureInfo = { failureType: 'application', message: 'declined', type: 'CardDeclined', nonRetryable: true };

describe('jobsFromEvents', () => {
  it('maps every input event to its job, StartWorkflow first, the rest in event order', () => {
    const events: PendingEvent[] = [
      { eventType: 'TimerFired', attributes: { seq: 2 } },
      { eventType: 'ActivityTaskCompleted', attributes: { seq: 1, result: { ok: true }, attempt: 1, identity: 'w' } },
      { eventType: 'WorkflowExecutionStarted', attributes: { workflowType: 'order', workflowId: 'o', runId: 'r', taskQueue: 'q', args: ['a', 1] } },
      { eventType: 'WorkflowTaskFailed', attributes: { cause: 'WORKFLOW_ERROR', failure: declined, identity: 'w', attempt: 1 } },
      { eventType: 'WorkflowExecutionCancelRequested', attributes: { reason: 'user asked' } },
    ];
    expect(jobsFromEvents(events)).toEqual([
      { kind: 'StartWorkflow', workflowType: 'order', args: ['a', 1] },
      { kind: 'FireTimer', seq: 2 },
      { kind: 'ResolveActivity', seq: 1, result: { status: 'completed', result: { ok: true } } },
      { kind: 'CancelWorkflow', reason: 'user asked' },
    ]);
  });

  it('wraps a failed activity as an activity failure with retry state and cause', () => {
    const jobs = jobsFromEvents(
      [{ eventType: 'ActivityTaskFailed', attributes: { seq: 3, failure: declined, attempt: 1, retryState: 'NON_RETRYABLE_FAILURE' } }],
      { activityTypeOf: (seq) => (seq === 3 ? 'chargeCard' : undefined) },
    );
    expect(jobs).toEqual([
      {
        kind: 'ResolveActivity',
        seq: 3,
        result: {
          status: 'failed',
          failure: {
            failureType: 'activity',
            message: 'Activity task failed',
            activity: { activityType: 'chargeCard', activityId: '3', retryState: 'NON_RETRYABLE_FAILURE' },
            cause: declined,
          },
        },
      },
    ]);
  });

  it('gives a timed-out activity a timeout cause', () => {
    const [job] = jobsFromEvents([
      { eventType: 'ActivityTaskTimedOut', attributes: { seq: 1, failure: { failureType: 'application', message: 'lease expired' }, attempt: 2, timeoutType: 'HEARTBEAT', retryState: 'TIMEOUT' } },
    ]);
    expect(job).toMatchObject({
      result: { status: 'failed', failure: { failureType: 'activity', activity: { retryState: 'TIMEOUT' }, cause: { failureType: 'timeout', timeoutType: 'HEARTBEAT', cause: { message: 'lease expired' } } } },
    });
  });

  it('refuses command events and completions: they are not inputs', () => {
    expect(() => jobsFromEvents([{ eventType: 'TimerStarted', attributes: { seq: 1, durationMs: 5, fireAt: 0 } }])).toThrow(
      'events: TimerStarted is not an input of a workflow task',
    );
  });
});
