import type { FailureInfo, HistoryEvent } from '../../engine/protocol/index.js';

/**
 * A history as readable lines, one per event: id, time since start, type and the facts
 * that matter (activity names, attempts, results, failures, timers). For terminals and
 * logs; the JSON history stays the source of truth.
 */
export function summarizeHistory(events: readonly HistoryEvent[]): string {
  const activityTypes = new Map<number, string>();
  const t0 = events[0]?.timestamp ?? 0;
  const width = Math.max(...events.map((e) => e.eventType.length), 10);
  return events
    .map((e) => {
      const at = `+${String(e.timestamp - t0).padStart(5)}ms`;
      return `  #${String(e.eventId).padEnd(4)} ${at}  ${e.eventType.padEnd(width)}  ${describeEvent(e, activityTypes)}`.trimEnd();
    })
    .join('\n');
}

function describeEvent(e: HistoryEvent, activityTypes: Map<number, string>): string {
  switch (e.eventType) {
    case 'WorkflowExecutionStarted':
      return `${e.attributes.workflowType}(${args(e.attributes.args)}) on task queue '${e.attributes.taskQueue}'`;
    case 'ActivityTaskScheduled':
      activityTypes.set(e.attributes.seq, e.attributes.activityType);
      return `${e.attributes.activityType} #${e.attributes.seq}(${args(e.attributes.args)})${e.attributes.options.priority !== 50 ? ` priority ${e.attributes.options.priority}` : ''}`;
    case 'ActivityTaskCompleted': {
      const retried = e.attributes.attempt > 1 ? ` after ${e.attributes.attempt} attempts (last failure: ${failure(e.attributes.lastFailure)})` : '';
      return `${activityTypes.get(e.attributes.seq) ?? 'activity'} #${e.attributes.seq} → ${short(e.attributes.result)}${retried}`;
    }
    case 'ActivityTaskFailed':
      return `${activityTypes.get(e.attributes.seq) ?? 'activity'} #${e.attributes.seq} failed after ${e.attributes.attempt} attempt(s), ${e.attributes.retryState}: ${failure(e.attributes.failure)}`;
    case 'ActivityTaskTimedOut':
      return `${activityTypes.get(e.attributes.seq) ?? 'activity'} #${e.attributes.seq} ${e.attributes.timeoutType} timeout after ${e.attributes.attempt} attempt(s), ${e.attributes.retryState}`;
    case 'TimerStarted':
      return `timer #${e.attributes.seq} for ${e.attributes.durationMs}ms`;
    case 'TimerFired':
    case 'TimerCanceled':
      return `timer #${e.attributes.seq}`;
    case 'WorkflowTaskCompleted':
      return e.attributes.attempt > 1 ? `(attempt ${e.attributes.attempt})` : '';
    case 'WorkflowTaskFailed':
      return `${e.attributes.cause}: ${failure(e.attributes.failure)}`;
    case 'WorkflowExecutionCompleted':
      return `→ ${short(e.attributes.result)}`;
    case 'WorkflowExecutionFailed':
      return failure(e.attributes.failure);
    case 'WorkflowExecutionCancelRequested':
    case 'WorkflowExecutionTerminated':
      return e.attributes.reason ?? '';
    case 'WorkflowExecutionCanceled':
      return e.attributes.details !== undefined ? short(e.attributes.details) : '';
    case 'ActivityTaskCancelRequested':
    case 'ActivityTaskCanceled':
      return `${activityTypes.get(e.attributes.seq) ?? 'activity'} #${e.attributes.seq}`;
    case 'WorkflowExecutionSignaled':
      return `${e.attributes.signalName}(${args(e.attributes.args)})`;
    case 'WorkflowExecutionUpdateAdmitted':
    case 'WorkflowExecutionUpdateAccepted':
      return `${e.attributes.name}(${args(e.attributes.args)}) id ${e.attributes.updateId}`;
    case 'WorkflowExecutionUpdateCompleted':
      return `id ${e.attributes.updateId} ${'failure' in e.attributes.outcome ? `failed: ${failure(e.attributes.outcome.failure)}` : `→ ${short(e.attributes.outcome.result)}`}`;
    case 'MarkerRecorded':
      return `${e.attributes.markerName} ${short(e.attributes.details)}`;
    case 'UpsertWorkflowSearchAttributes':
      return short(e.attributes.searchAttributes);
    case 'StartChildWorkflowExecutionInitiated':
      return `${e.attributes.workflowType} #${e.attributes.seq} as '${e.attributes.workflowId}'(${args(e.attributes.args)})`;
    case 'StartChildWorkflowExecutionFailed':
      return `#${e.attributes.seq} '${e.attributes.workflowId}': ${e.attributes.cause}`;
    case 'ChildWorkflowExecutionStarted':
      return `#${e.attributes.seq} '${e.attributes.workflowId}' run ${e.attributes.runId}`;
    case 'ChildWorkflowExecutionCompleted':
      return `#${e.attributes.seq} '${e.attributes.workflowId}' → ${short(e.attributes.result)}`;
    case 'ChildWorkflowExecutionFailed':
      return `#${e.attributes.seq} '${e.attributes.workflowId}' ${e.attributes.retryState}: ${failure(e.attributes.failure)}`;
    case 'ChildWorkflowExecutionCanceled':
    case 'ChildWorkflowExecutionTimedOut':
      return `#${e.attributes.seq} '${e.attributes.workflowId}'`;
    case 'ChildWorkflowExecutionTerminated':
      return `#${e.attributes.seq} '${e.attributes.workflowId}'${e.attributes.reason ? `: ${e.attributes.reason}` : ''}`;
    case 'SignalExternalWorkflowExecutionInitiated':
      return `#${e.attributes.seq} ${e.attributes.signalName}(${args(e.attributes.args)}) to '${e.attributes.workflowId}'`;
    case 'RequestCancelExternalWorkflowExecutionInitiated':
    case 'ExternalWorkflowExecutionSignaled':
    case 'ExternalWorkflowExecutionCancelRequested':
      return `#${e.attributes.seq} '${e.attributes.workflowId}'`;
    case 'SignalExternalWorkflowExecutionFailed':
    case 'RequestCancelExternalWorkflowExecutionFailed':
      return `#${e.attributes.seq} '${e.attributes.workflowId}': ${e.attributes.cause}`;
    case 'WorkflowExecutionContinuedAsNew':
      return `→ run ${e.attributes.newExecutionRunId} ${e.attributes.workflowType}(${args(e.attributes.args)})`;
    case 'WorkflowExecutionTimedOut':
      return `${e.attributes.timeoutType}`;
  }
}

function failure(f: FailureInfo | undefined): string {
  if (!f) return 'unknown';
  return `${f.type ?? f.failureType}: ${f.message}${f.cause ? ` (cause: ${failure(f.cause)})` : ''}`;
}

function args(a: readonly unknown[]): string {
  return a.map(short).join(', ');
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}
