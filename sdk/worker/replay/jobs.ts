import type { ActivationJob } from '../../../engine/protocol/activation.js';
import { InvalidArgumentError } from '../../../engine/protocol/errors.js';
import type { ChildClose, EventAttributes, EventType, HistoryEvent, PendingEvent } from '../../../engine/protocol/events.js';
import type { FailureInfo, RetryState } from '../../../engine/protocol/failures.js';
import type { HistoryBatch } from './history-batches.js';

type AnyEvent = HistoryEvent | PendingEvent;

export interface JobsOptions {
  /**
   * The activity type of an activity seq, when known (from the ActivityTaskScheduled events
   * or the commands produced earlier). It completes the ActivityFailure the workflow sees;
   * the sandbox fills it in as well from its own records.
   */
  readonly activityTypeOf?: (seq: number) => string | undefined;
  /** The run's namespace, for the ChildWorkflowFailure of a child that did not complete. */
  readonly namespace?: string;
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
  WorkflowExecutionStarted: (a) => ({
    kind: 'StartWorkflow',
    workflowType: a.workflowType,
    args: a.args,
    ...defined({
      parent: a.parent,
      searchAttributes: a.searchAttributes,
      memo: a.memo,
      continuedFromExecutionRunId: a.continuedExecutionRunId,
      firstExecutionRunId: a.firstExecutionRunId,
      workflowExecutionTimeoutMs: a.workflowExecutionTimeoutMs,
      workflowRunTimeoutMs: a.workflowRunTimeoutMs,
    }),
  }),
  WorkflowExecutionSignaled: (a) => ({ kind: 'SignalWorkflow', signalName: a.signalName, args: a.args, ...defined({ identity: a.identity }) }),
  WorkflowExecutionUpdateAdmitted: (a) => ({ kind: 'DoUpdate', updateId: a.updateId, name: a.name, args: a.args, runValidator: true }),
  WorkflowExecutionCancelRequested: (a) => (a.reason !== undefined ? { kind: 'CancelWorkflow', reason: a.reason } : { kind: 'CancelWorkflow' }),

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
  ActivityTaskCanceled: (a, o) => ({
    kind: 'ResolveActivity',
    seq: a.seq,
    result: {
      status: 'failed',
      failure: activityFailure(a.seq, 'Activity task cancelled', 'CANCEL_REQUESTED', { failureType: 'cancelled', message: 'Activity cancelled', ...detailsOf(a.details) }, o),
    },
  }),
  TimerFired: (a) => ({ kind: 'FireTimer', seq: a.seq }),

  ChildWorkflowExecutionStarted: (a) => ({ kind: 'ResolveChildWorkflowStart', seq: a.seq, result: { status: 'started', runId: a.runId } }),
  StartChildWorkflowExecutionFailed: (a) => ({
    kind: 'ResolveChildWorkflowStart',
    seq: a.seq,
    result: {
      status: 'failed',
      failure: {
        failureType: 'application',
        type: a.cause,
        nonRetryable: true,
        message: `Workflow '${a.workflowId}' is already running, so child workflow '${a.workflowType}' could not start; use another workflowId or wait for it to close`,
      },
    },
  }),
  ChildWorkflowExecutionCompleted: (a) => ({ kind: 'ResolveChildWorkflow', seq: a.seq, result: { status: 'completed', result: a.result } }),
  ChildWorkflowExecutionFailed: (a, o) => childFailed(a, a.retryState, a.failure, o),
  ChildWorkflowExecutionCanceled: (a, o) =>
    childFailed(a, 'NON_RETRYABLE_FAILURE', { failureType: 'cancelled', message: 'Child Workflow execution cancelled', ...detailsOf(a.details) }, o),
  ChildWorkflowExecutionTerminated: (a, o) =>
    childFailed(a, 'NON_RETRYABLE_FAILURE', { failureType: 'terminated', message: a.reason ? `Child Workflow execution terminated: ${a.reason}` : 'Child Workflow execution terminated' }, o),
  ChildWorkflowExecutionTimedOut: (a, o) =>
    childFailed(a, a.retryState, { failureType: 'timeout', message: 'Child Workflow execution timed out', timeoutType: 'WORKFLOW_EXECUTION_TIMEOUT' }, o),

  ExternalWorkflowExecutionSignaled: (a) => ({ kind: 'ResolveSignalExternalWorkflow', seq: a.seq }),
  SignalExternalWorkflowExecutionFailed: (a) => ({ kind: 'ResolveSignalExternalWorkflow', seq: a.seq, failure: externalNotFound('signal', a.workflowId, a.cause) }),
  ExternalWorkflowExecutionCancelRequested: (a) => ({ kind: 'ResolveRequestCancelExternalWorkflow', seq: a.seq }),
  RequestCancelExternalWorkflowExecutionFailed: (a) => ({
    kind: 'ResolveRequestCancelExternalWorkflow',
    seq: a.seq,
    failure: externalNotFound('cancel', a.workflowId, a.cause),
  }),

  // Recorded between tasks by the engine; nothing for the workflow to act on.
  WorkflowTaskFailed: () => null,
  WorkflowExecutionTerminated: () => null,
  WorkflowExecutionTimedOut: () => null,

  WorkflowTaskCompleted: notAnInput('WorkflowTaskCompleted'),
  ActivityTaskScheduled: notAnInput('ActivityTaskScheduled'),
  ActivityTaskCancelRequested: notAnInput('ActivityTaskCancelRequested'),
  TimerStarted: notAnInput('TimerStarted'),
  TimerCanceled: notAnInput('TimerCanceled'),
  MarkerRecorded: notAnInput('MarkerRecorded'),
  UpsertWorkflowSearchAttributes: notAnInput('UpsertWorkflowSearchAttributes'),
  StartChildWorkflowExecutionInitiated: notAnInput('StartChildWorkflowExecutionInitiated'),
  SignalExternalWorkflowExecutionInitiated: notAnInput('SignalExternalWorkflowExecutionInitiated'),
  RequestCancelExternalWorkflowExecutionInitiated: notAnInput('RequestCancelExternalWorkflowExecutionInitiated'),
  WorkflowExecutionUpdateAccepted: notAnInput('WorkflowExecutionUpdateAccepted'),
  WorkflowExecutionUpdateCompleted: notAnInput('WorkflowExecutionUpdateCompleted'),
  WorkflowExecutionCompleted: notAnInput('WorkflowExecutionCompleted'),
  WorkflowExecutionFailed: notAnInput('WorkflowExecutionFailed'),
  WorkflowExecutionCanceled: notAnInput('WorkflowExecutionCanceled'),
  WorkflowExecutionContinuedAsNew: notAnInput('WorkflowExecutionContinuedAsNew'),
};

/** Where each job kind goes in an activation (SEMANTICS.md item 1, plan §1); equal ranks keep event order. */
const RANK: { readonly [K in ActivationJob['kind']]: number } = {
  NotifyHasPatch: 0,
  StartWorkflow: 1,
  SignalWorkflow: 2,
  DoUpdate: 3,
  ResolveActivity: 4,
  ResolveLocalActivity: 4,
  FireTimer: 4,
  ResolveChildWorkflowStart: 4,
  ResolveChildWorkflow: 4,
  ResolveSignalExternalWorkflow: 4,
  ResolveRequestCancelExternalWorkflow: 4,
  CancelWorkflow: 4,
};

/** Orders jobs as the workflow must see them: patches, start, signals, updates, then the rest, each group in the given order. PURE. */
export function orderJobs(jobs: readonly ActivationJob[]): ActivationJob[] {
  return jobs
    .map((job, i) => ({ job, i }))
    .sort((a, b) => RANK[a.job.kind] - RANK[b.job.kind] || a.i - b.i)
    .map(({ job }) => job);
}

/**
 * The activation jobs for a live workflow task's input events, ordered. PURE.
 *
 * Order (SEMANTICS.md item 1): StartWorkflow, then signals, then updates (admitted, so
 * `runValidator: true`), then every other job, each group in event order.
 *
 * @throws InvalidArgumentError when `events` holds an event that is not an input
 *   (a command event or a WorkflowTaskCompleted).
 */
export function jobsFromEvents(events: readonly AnyEvent[], options: JobsOptions = {}): ActivationJob[] {
  return orderJobs(mapEvents(events, options));
}

/**
 * The jobs that replay one recorded batch, ordered (plan §1, §3, §10). PURE. Besides the
 * batch's inputs:
 * - each `core_patch` marker among its command events announces the patch first
 *   (NotifyHasPatch, once per patch id), so `patched()` answers as it did;
 * - each WorkflowExecutionUpdateAccepted among its command events re-delivers that update
 *   (DoUpdate, `runValidator: false`: it was accepted), after the signals.
 */
export function replayJobs(batch: Pick<HistoryBatch, 'inputs' | 'commandEvents'>, options: JobsOptions = {}): ActivationJob[] {
  const derived: ActivationJob[] = [];
  const patches = new Set<string>();
  for (const event of batch.commandEvents) {
    if (event.eventType === 'MarkerRecorded' && event.attributes.markerName === 'core_patch') {
      const patchId = event.attributes.details.patchId;
      if (typeof patchId === 'string' && !patches.has(patchId)) {
        patches.add(patchId);
        derived.push({ kind: 'NotifyHasPatch', patchId });
      }
    } else if (event.eventType === 'WorkflowExecutionUpdateAccepted') {
      const a = event.attributes;
      derived.push({ kind: 'DoUpdate', updateId: a.updateId, name: a.name, args: a.args, runValidator: false });
    }
  }
  return orderJobs([...mapEvents(batch.inputs, options), ...derived]);
}

function mapEvents(events: readonly AnyEvent[], options: JobsOptions): ActivationJob[] {
  const jobs: ActivationJob[] = [];
  for (const event of events) {
    const job = (MAPPERS[event.eventType] as (a: unknown, o: JobsOptions) => ActivationJob | null)(event.attributes, options);
    if (job !== null) jobs.push(job);
  }
  return jobs;
}

/** The failure an activity call rejects with: an `activity` failure whose cause says why. */
function activityFailure(seq: number, message: string, retryState: RetryState, cause: FailureInfo, options: JobsOptions): FailureInfo {
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

/** A child that did not complete: a `childWorkflow` failure whose cause says how it ended. */
function childFailed(a: ChildClose, retryState: RetryState, cause: FailureInfo, options: JobsOptions): ActivationJob {
  return {
    kind: 'ResolveChildWorkflow',
    seq: a.seq,
    result: {
      status: 'failed',
      failure: {
        failureType: 'childWorkflow',
        message: 'Child Workflow execution failed',
        childWorkflow: { namespace: options.namespace ?? '', workflowId: a.workflowId, runId: a.runId, workflowType: a.workflowType, retryState },
        cause,
      },
    },
  };
}

function externalNotFound(what: 'signal' | 'cancel', workflowId: string, cause: string): FailureInfo {
  return {
    failureType: 'application',
    type: 'ExternalWorkflowExecutionNotFound',
    nonRetryable: true,
    message: `Unable to ${what} external workflow '${workflowId}': no open run of it exists (${cause})`,
  };
}

function detailsOf(details: unknown): { details?: unknown[] } {
  return details === undefined ? {} : { details: [details] };
}

/** The object without its undefined properties (jobs stay minimal JSON). */
function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
