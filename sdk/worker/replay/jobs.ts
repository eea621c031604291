import type { ActivationJob } from '../../../engine/protocol/activation.js';
import { InvalidArgumentError } from '../../../engine/protocol/errors.js';
import type { EventAttributes, EventType, HistoryEvent, PendingEvent } from '../../../engine/protocol/events.js';
import type { FailureInfo } from '../../../engine/protocol/failures.js';

type AnyEvent = HistoryEvent | PendingEvent;

export interface JobsOptions {
  /**
   * The activity type of an activity seq, when known (from the ActivityTaskScheduled events
   * or the commands produced earlier). It completes the ActivityFailure the workflow sees;
   * the sandbox fills it in as well from its own records.
   */
  readonly activityTypeOf?: (seq: number) => string | undefined;
}

/** Per event type: the job it becomes, `null` when it carries nothing for the workflow, or a throw. */
type JobMapper = {
  readonly [T in EventType]: (attributes: EventAttributes[T], options: JobsOptions) => ActivationJob | null;
};

function notAnInput(type: EventType): () => never {
  return () => {
    throw new InvalidArgumentError('events', `${type} is not an input of a workflow task; pass only the events the task has not seen yet`);
  };
}

const MAPPERS: JobMapper = {
  WorkflowExecutionStarted: (a) => ({ kind: 'StartWorkflow', workflowType: a.workflowType, args: a.args }),
  ActivityTaskCompleted: (a) => ({ kind: 'ResolveActivity', seq: a.seq, result: { status: 'completed', result: a.result } }),
  ActivityTaskFailed: (a, o) => ({
    kind: 'ResolveActivity',
    seq: a.seq,
    result: { status: 'failed', failure: activityFailure(a.seq, 'Activity task failed', a.retryState, a.failure, o) },
  }),
  ActivityTaskTimedOut: (a, o) => ({
    kind: 'ResolveActivity',
    seq: a.seq,
    result: { status: 'failed', failure: activityFailure(a.seq, 'Activity task timed out', a.retryState, timeoutFailure(a.timeoutType, a.failure), o) },
  }),
  TimerFired: (a) => ({ kind: 'FireTimer', seq: a.seq }),
  WorkflowExecutionCancelRequested: (a) => (a.reason !== undefined ? { kind: 'CancelWorkflow', reason: a.reason } : { kind: 'CancelWorkflow' }),
  // Recorded between tasks by the engine; nothing for the workflow to act on.
  WorkflowTaskFailed: () => null,
  WorkflowExecutionTerminated: () => null,
  WorkflowTaskCompleted: notAnInput('WorkflowTaskCompleted'),
  ActivityTaskScheduled: notAnInput('ActivityTaskScheduled'),
  TimerStarted: notAnInput('TimerStarted'),
  TimerCanceled: notAnInput('TimerCanceled'),
  WorkflowExecutionCompleted: notAnInput('WorkflowExecutionCompleted'),
  WorkflowExecutionFailed: notAnInput('WorkflowExecutionFailed'),
  WorkflowExecutionCanceled: notAnInput('WorkflowExecutionCanceled'),
};

/**
 * The activation jobs for a workflow task's input events. PURE.
 *
 * Order (SEMANTICS.md item 1): StartWorkflow first, then every other job in event order.
 * Signals and updates will slot in before the rest when they exist.
 *
 * @throws InvalidArgumentError when `events` holds an event that is not an input
 *   (a command event or a WorkflowTaskCompleted).
 */
export function jobsFromEvents(events: readonly AnyEvent[], options: JobsOptions = {}): ActivationJob[] {
  const start: ActivationJob[] = [];
  const rest: ActivationJob[] = [];
  for (const event of events) {
    const job = (MAPPERS[event.eventType] as (a: unknown, o: JobsOptions) => ActivationJob | null)(event.attributes, options);
    if (job === null) continue;
    (job.kind === 'StartWorkflow' ? start : rest).push(job);
  }
  return [...start, ...rest];
}

/** The failure an activity call rejects with: an `activity` failure whose cause says why. */
function activityFailure(seq: number, message: string, retryState: NonNullable<FailureInfo['activity']>['retryState'], cause: FailureInfo, options: JobsOptions): FailureInfo {
  return {
    failureType: 'activity',
    message,
    activity: { activityType: options.activityTypeOf?.(seq) ?? '', activityId: String(seq), retryState },
    cause,
  };
}

/** A timed-out attempt's failure is a `timeout` failure (the engine may already have made it one). */
function timeoutFailure(timeoutType: EventAttributes['ActivityTaskTimedOut']['timeoutType'], failure: FailureInfo): FailureInfo {
  if (failure.failureType === 'timeout') return failure;
  return { failureType: 'timeout', message: `Activity timed out (${timeoutType})`, timeoutType, cause: failure };
}
