import { describe, expect, it } from 'vitest';
import type { HistoryEvent, PendingEvent } from '../../../engine/protocol/events.js';
import type { FailureInfo } from '../../../engine/protocol/failures.js';
import { jobsFromEvents, replayJobs } from './jobs.js';

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

describe('jobsFromEvents: the programming model', () => {
  const p = (eventType: PendingEvent['eventType'], attributes: object): PendingEvent => ({ eventType, attributes }) as PendingEvent;

  it('orders start, signals, updates, then the rest, each in event order (plan §1)', () => {
    const jobs = jobsFromEvents(
      [
        p('TimerFired', { seq: 1 }),
        p('WorkflowExecutionUpdateAdmitted', { updateId: 'u1', name: 'set', args: [1] }),
        p('WorkflowExecutionSignaled', { signalName: 'a', args: [1] }),
        p('WorkflowExecutionStarted', { workflowType: 't', workflowId: 'w', runId: 'r', taskQueue: 'q', args: [] }),
        p('WorkflowExecutionSignaled', { signalName: 'b', args: [] }),
        p('ActivityTaskCompleted', { seq: 1, result: 1, attempt: 1, identity: 'w' }),
      ],
    );
    expect(jobs.map((j) => j.kind + ('signalName' in j ? `:${j.signalName}` : ''))).toEqual([
      'StartWorkflow', 'SignalWorkflow:a', 'SignalWorkflow:b', 'DoUpdate', 'FireTimer', 'ResolveActivity',
    ]);
    expect(jobs[3]).toEqual({ kind: 'DoUpdate', updateId: 'u1', name: 'set', args: [1], runValidator: true });
  });

  it('carries the start facts into StartWorkflow', () => {
    const parent = { namespace: 'default', workflowId: 'p', runId: 'pr', seq: 2, parentClosePolicy: 'ABANDON' as const };
    const [job] = jobsFromEvents([
      p('WorkflowExecutionStarted', {
        workflowType: 't', workflowId: 'w', runId: 'r', taskQueue: 'q', args: [1], parent, searchAttributes: { A: ['x'] }, memo: { m: 1 },
        continuedExecutionRunId: 'prev', firstExecutionRunId: 'first', workflowExecutionTimeoutMs: 10, workflowRunTimeoutMs: 5,
      }),
    ]);
    expect(job).toEqual({
      kind: 'StartWorkflow', workflowType: 't', args: [1], parent, searchAttributes: { A: ['x'] }, memo: { m: 1 },
      continuedFromExecutionRunId: 'prev', firstExecutionRunId: 'first', workflowExecutionTimeoutMs: 10, workflowRunTimeoutMs: 5,
    });
  });

  it('an activity cancelled by the engine resolves with an activity failure caused by a cancelled failure', () => {
    const [job] = jobsFromEvents([p('ActivityTaskCanceled', { seq: 4, details: 'why' })], { activityTypeOf: () => 'slow' });
    expect(job).toEqual({
      kind: 'ResolveActivity',
      seq: 4,
      result: {
        status: 'failed',
        failure: {
          failureType: 'activity',
          message: 'Activity task cancelled',
          activity: { activityType: 'slow', activityId: '4', retryState: 'CANCEL_REQUESTED' },
          cause: { failureType: 'cancelled', message: 'Activity cancelled', details: ['why'] },
        },
      },
    });
  });

  it('maps child events to start/result jobs with childWorkflow failures', () => {
    const close = { seq: 1, workflowId: 'kid', runId: 'kr', workflowType: 'child' };
    const jobs = jobsFromEvents(
      [
        p('ChildWorkflowExecutionStarted', { seq: 1, workflowId: 'kid', runId: 'kr' }),
        p('StartChildWorkflowExecutionFailed', { seq: 2, workflowId: 'dup', workflowType: 'child', cause: 'WORKFLOW_ALREADY_EXISTS' }),
        p('ChildWorkflowExecutionCompleted', { ...close, result: 7 }),
        p('ChildWorkflowExecutionFailed', { ...close, failure: declined, retryState: 'NON_RETRYABLE_FAILURE' }),
        p('ChildWorkflowExecutionCanceled', close),
        p('ChildWorkflowExecutionTerminated', { ...close, reason: 'ops' }),
        p('ChildWorkflowExecutionTimedOut', { ...close, retryState: 'TIMEOUT' }),
      ],
      { namespace: 'ns' },
    );
    expect(jobs[0]).toEqual({ kind: 'ResolveChildWorkflowStart', seq: 1, result: { status: 'started', runId: 'kr' } });
    expect(jobs[1]).toMatchObject({ kind: 'ResolveChildWorkflowStart', seq: 2, result: { status: 'failed', failure: { type: 'WORKFLOW_ALREADY_EXISTS' } } });
    expect(jobs[2]).toEqual({ kind: 'ResolveChildWorkflow', seq: 1, result: { status: 'completed', result: 7 } });
    const childWorkflow = { namespace: 'ns', workflowId: 'kid', runId: 'kr', workflowType: 'child' };
    expect(jobs.slice(3).map((j) => (j as { result: { failure: unknown } }).result.failure)).toEqual([
      { failureType: 'childWorkflow', message: 'Child Workflow execution failed', childWorkflow: { ...childWorkflow, retryState: 'NON_RETRYABLE_FAILURE' }, cause: declined },
      expect.objectContaining({ childWorkflow: expect.objectContaining({ retryState: 'NON_RETRYABLE_FAILURE' }), cause: { failureType: 'cancelled', message: 'Child Workflow execution cancelled' } }),
      expect.objectContaining({ cause: { failureType: 'terminated', message: 'Child Workflow execution terminated: ops' } }),
      expect.objectContaining({ childWorkflow: expect.objectContaining({ retryState: 'TIMEOUT' }), cause: expect.objectContaining({ failureType: 'timeout' }) }),
    ]);
  });

  it('maps external results; failures name the target', () => {
    const jobs = jobsFromEvents([
      p('ExternalWorkflowExecutionSignaled', { seq: 1, workflowId: 'o', runId: 'r' }),
      p('SignalExternalWorkflowExecutionFailed', { seq: 2, workflowId: 'o', cause: 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND' }),
      p('ExternalWorkflowExecutionCancelRequested', { seq: 1, workflowId: 'o', runId: 'r' }),
      p('RequestCancelExternalWorkflowExecutionFailed', { seq: 2, workflowId: 'o', cause: 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND' }),
    ]);
    expect(jobs).toEqual([
      { kind: 'ResolveSignalExternalWorkflow', seq: 1 },
      { kind: 'ResolveSignalExternalWorkflow', seq: 2, failure: expect.objectContaining({ type: 'ExternalWorkflowExecutionNotFound', message: expect.stringContaining("signal external workflow 'o'") }) },
      { kind: 'ResolveRequestCancelExternalWorkflow', seq: 1 },
      { kind: 'ResolveRequestCancelExternalWorkflow', seq: 2, failure: expect.objectContaining({ message: expect.stringContaining("cancel external workflow 'o'") }) },
    ]);
  });

  it('engine events carry nothing; command events are refused', () => {
    expect(jobsFromEvents([p('WorkflowExecutionTimedOut', { timeoutType: 'WORKFLOW_RUN_TIMEOUT', retryState: 'TIMEOUT' })])).toEqual([]);
    expect(() => jobsFromEvents([p('WorkflowExecutionUpdateAccepted', { updateId: 'u', name: 'n', args: [] })])).toThrow('WorkflowExecutionUpdateAccepted is not an input');
    expect(() => jobsFromEvents([p('MarkerRecorded', { markerName: 'core_patch', details: {} })])).toThrow('MarkerRecorded is not an input');
  });
});

describe('replayJobs', () => {
  const ev = (eventId: number, eventType: HistoryEvent['eventType'], attributes: object): HistoryEvent => ({ eventId, eventType, timestamp: 0, attributes }) as HistoryEvent;

  it('announces patches first and re-delivers accepted updates (no validator) after the signals', () => {
    const jobs = replayJobs({
      inputs: [ev(4, 'TimerFired', { seq: 1 }), ev(5, 'WorkflowExecutionSignaled', { signalName: 's', args: [] })],
      commandEvents: [
        ev(6, 'WorkflowExecutionUpdateAccepted', { updateId: 'u1', name: 'set', args: [2] }),
        ev(7, 'MarkerRecorded', { markerName: 'core_patch', details: { patchId: 'p1', deprecated: false } }),
        ev(8, 'MarkerRecorded', { markerName: 'core_local_activity', details: { seq: 1 } }),
        ev(9, 'MarkerRecorded', { markerName: 'core_patch', details: { patchId: 'p1', deprecated: false } }),
        ev(10, 'WorkflowExecutionUpdateCompleted', { updateId: 'u1', outcome: { result: 1 } }),
      ],
    });
    expect(jobs).toEqual([
      { kind: 'NotifyHasPatch', patchId: 'p1' },
      { kind: 'SignalWorkflow', signalName: 's', args: [] },
      { kind: 'DoUpdate', updateId: 'u1', name: 'set', args: [2], runValidator: false },
      { kind: 'FireTimer', seq: 1 },
    ]);
  });
});
