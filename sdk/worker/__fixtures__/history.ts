/**
 * Test helper: builds histories the way the engine appends them, and drives a WorkflowRun
 * through live workflow tasks against that history (a tiny in-memory stand-in for the
 * engine's completeWorkflowTask). No database.
 */
import type { ActivityResolution, LocalActivityRequest, WorkflowRunInfo } from '../../../engine/protocol/activation.js';
import type { WorkflowCommand } from '../../../engine/protocol/commands.js';
import type { EventAttributes, EventType, HistoryEvent, PendingEvent } from '../../../engine/protocol/events.js';
import type { FailureInfo, RetryState } from '../../../engine/protocol/failures.js';
import type { ActivationResult, WorkflowRun } from '../workflow-run.js';

export const RUN_INFO: WorkflowRunInfo = {
  namespace: 'default',
  workflowId: 'order-1',
  runId: '7b0c3c9e-5d1f-4c57-9a43-2c6f3f0a1b11',
  workflowType: 'sequential',
  taskQueue: 'orders',
  startTime: Date.UTC(2025, 0, 1, 12, 0, 0),
};

export function runInfo(workflowType: string, overrides: Partial<WorkflowRunInfo> = {}): WorkflowRunInfo {
  return { ...RUN_INFO, workflowType, ...overrides };
}

function pending<T extends EventType>(eventType: T, attributes: EventAttributes[T]): PendingEvent {
  return { eventType, attributes } as PendingEvent;
}

/** Inbox events, as a workflow task hands them to the worker (no ids yet). */
export const inbox = {
  activityCompleted: (seq: number, result: unknown): PendingEvent =>
    pending('ActivityTaskCompleted', { seq, result, attempt: 1, identity: 'test-worker' }),
  activityFailed: (seq: number, failure: FailureInfo, retryState: RetryState = 'MAXIMUM_ATTEMPTS_REACHED'): PendingEvent =>
    pending('ActivityTaskFailed', { seq, failure, attempt: 3, retryState, identity: 'test-worker' }),
  timerFired: (seq: number): PendingEvent => pending('TimerFired', { seq }),
  cancelRequested: (reason?: string): PendingEvent =>
    pending('WorkflowExecutionCancelRequested', reason === undefined ? {} : { reason }),
  activityCanceled: (seq: number): PendingEvent => pending('ActivityTaskCanceled', { seq, attempt: 1, identity: 'test-worker' }),
  signal: (signalName: string, ...args: unknown[]): PendingEvent => pending('WorkflowExecutionSignaled', { signalName, args, identity: 'test-client' }),
  update: (updateId: string, name: string, ...args: unknown[]): PendingEvent => pending('WorkflowExecutionUpdateAdmitted', { updateId, name, args }),
  childStarted: (seq: number, workflowId: string, runId: string): PendingEvent => pending('ChildWorkflowExecutionStarted', { seq, workflowId, runId }),
  childStartFailed: (seq: number, workflowId: string, workflowType: string): PendingEvent =>
    pending('StartChildWorkflowExecutionFailed', { seq, workflowId, workflowType, cause: 'WORKFLOW_ALREADY_EXISTS' }),
  childCompleted: (seq: number, workflowId: string, runId: string, workflowType: string, result: unknown): PendingEvent =>
    pending('ChildWorkflowExecutionCompleted', { seq, workflowId, runId, workflowType, result }),
  childFailed: (seq: number, workflowId: string, runId: string, workflowType: string, failure: FailureInfo): PendingEvent =>
    pending('ChildWorkflowExecutionFailed', { seq, workflowId, runId, workflowType, failure, retryState: 'NON_RETRYABLE_FAILURE' }),
  childCanceled: (seq: number, workflowId: string, runId: string, workflowType: string): PendingEvent =>
    pending('ChildWorkflowExecutionCanceled', { seq, workflowId, runId, workflowType }),
  childTerminated: (seq: number, workflowId: string, runId: string, workflowType: string, reason?: string): PendingEvent =>
    pending('ChildWorkflowExecutionTerminated', { seq, workflowId, runId, workflowType, ...(reason ? { reason } : {}) }),
  externalSignaled: (seq: number, workflowId: string): PendingEvent => pending('ExternalWorkflowExecutionSignaled', { seq, workflowId, runId: 'r' }),
  externalSignalFailed: (seq: number, workflowId: string): PendingEvent =>
    pending('SignalExternalWorkflowExecutionFailed', { seq, workflowId, cause: 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND' }),
  externalCancelRequested: (seq: number, workflowId: string): PendingEvent => pending('ExternalWorkflowExecutionCancelRequested', { seq, workflowId, runId: 'r' }),
  externalCancelFailed: (seq: number, workflowId: string): PendingEvent =>
    pending('RequestCancelExternalWorkflowExecutionFailed', { seq, workflowId, cause: 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND' }),
};

/** An append-only history with dense ids, as the engine writes it. */
export class HistoryBuilder {
  readonly events: HistoryEvent[] = [];

  get length(): number {
    return this.events.length;
  }

  append<T extends EventType>(eventType: T, attributes: EventAttributes[T], timestamp: number): HistoryEvent {
    const event = { eventId: this.events.length + 1, eventType, timestamp, attributes, headers: {} } as HistoryEvent;
    this.events.push(event);
    return event;
  }

  /** Event 1, written when the run starts. */
  start(info: WorkflowRunInfo, args: readonly unknown[], extra: Partial<EventAttributes['WorkflowExecutionStarted']> = {}): HistoryEvent {
    return this.append(
      'WorkflowExecutionStarted',
      { workflowType: info.workflowType, workflowId: info.workflowId, runId: info.runId, taskQueue: info.taskQueue, args, ...extra },
      info.startTime,
    );
  }

  /**
   * Appends a completed workflow task: its pending inputs (history inputs are already
   * there), the events of its commands, and the WorkflowTaskCompleted. Returns the
   * completion's event id.
   */
  completeTask(
    inputs: ReadonlyArray<HistoryEvent | PendingEvent>,
    commands: readonly WorkflowCommand[],
    workflowTime: number,
    taskQueue = RUN_INFO.taskQueue,
    facts: { historySizeBytes?: number; continueAsNewSuggested?: boolean } = {},
  ): number {
    for (const input of inputs) {
      // Inbox-only events (an admitted update) are consumed, never appended.
      if (!('eventId' in input) && input.eventType !== 'WorkflowExecutionUpdateAdmitted') this.append(input.eventType, input.attributes as never, workflowTime);
    }
    for (const command of commands) {
      const event = commandEvent(command, workflowTime, taskQueue);
      if (event) this.append(event[0], event[1] as never, workflowTime);
    }
    return this.append('WorkflowTaskCompleted', { workflowTime, identity: 'test-worker', attempt: 1, ...facts }, workflowTime).eventId;
  }
}

/** The event the engine records for a command (undefined: RejectUpdate records nothing). */
function commandEvent(command: WorkflowCommand, now: number, taskQueue: string): [EventType, unknown] | undefined {
  switch (command.kind) {
    case 'ScheduleActivity':
      return ['ActivityTaskScheduled', { seq: command.seq, activityType: command.activityType, taskQueue: command.taskQueue ?? taskQueue, args: command.args, options: command.options }];
    case 'RequestCancelActivity':
      return ['ActivityTaskCancelRequested', { seq: command.seq }];
    case 'StartTimer':
      return ['TimerStarted', { seq: command.seq, durationMs: command.durationMs, fireAt: now + command.durationMs }];
    case 'CancelTimer':
      return ['TimerCanceled', { seq: command.seq }];
    case 'RecordMarker':
      return ['MarkerRecorded', { markerName: command.markerName, details: command.details }];
    case 'UpsertSearchAttributes':
      return ['UpsertWorkflowSearchAttributes', { searchAttributes: command.searchAttributes }];
    case 'StartChildWorkflow': {
      const { kind: _kind, ...attributes } = command;
      return ['StartChildWorkflowExecutionInitiated', { ...attributes, taskQueue: command.taskQueue ?? taskQueue }];
    }
    case 'SignalExternalWorkflow': {
      const { kind: _kind, ...attributes } = command;
      return ['SignalExternalWorkflowExecutionInitiated', attributes];
    }
    case 'RequestCancelExternalWorkflow': {
      const { kind: _kind, ...attributes } = command;
      return ['RequestCancelExternalWorkflowExecutionInitiated', attributes];
    }
    case 'AcceptUpdate':
      return ['WorkflowExecutionUpdateAccepted', { updateId: command.updateId, name: command.name, args: command.args }];
    case 'RejectUpdate':
      return undefined;
    case 'CompleteUpdate':
      return ['WorkflowExecutionUpdateCompleted', { updateId: command.updateId, outcome: command.outcome }];
    case 'CompleteWorkflow':
      return ['WorkflowExecutionCompleted', { result: command.result }];
    case 'FailWorkflow':
      return ['WorkflowExecutionFailed', { failure: command.failure }];
    case 'CancelWorkflow':
      return ['WorkflowExecutionCanceled', command.details === undefined ? {} : { details: command.details }];
    case 'ContinueAsNew':
      return [
        'WorkflowExecutionContinuedAsNew',
        { newExecutionRunId: 'next-run', workflowType: command.workflowType ?? RUN_INFO.workflowType, taskQueue: command.taskQueue ?? taskQueue, args: command.args },
      ];
  }
}

/**
 * Runs one live workflow task the way a worker does: activate over the new events with the
 * history length the workflow should see, then record the batch and mark it completed.
 */
export function liveTask(
  run: WorkflowRun,
  history: HistoryBuilder,
  events: ReadonlyArray<HistoryEvent | PendingEvent>,
  workflowTime: number,
  options: LiveTaskOptions = {},
): ActivationResult {
  const pendingCount = events.filter((e) => !('eventId' in e) && e.eventType !== 'WorkflowExecutionUpdateAdmitted').length;
  const facts = { historySizeBytes: options.historySizeBytes, continueAsNewSuggested: options.continueAsNewSuggested };
  let result = run.activate(events, { timestamp: workflowTime, historyLength: history.length + pendingCount, ...facts });
  const commands: WorkflowCommand[] = [];
  while ('commands' in result) {
    commands.push(...result.commands);
    const requests = result.localActivities ?? [];
    if (requests.length === 0) break;
    if (!options.localActivity) throw new Error(`the workflow asked for local activities ${requests.map((r) => r.activityType).join(', ')}; pass options.localActivity`);
    result = run.resolveLocalActivities(requests.map((r) => ({ seq: r.seq, attempt: 1, result: options.localActivity!(r) })));
  }
  if (!('commands' in result)) return result;
  run.markCompleted(history.completeTask(events, commands, workflowTime, RUN_INFO.taskQueue, facts));
  return { commands };
}

export interface LiveTaskOptions {
  readonly historySizeBytes?: number;
  readonly continueAsNewSuggested?: boolean;
  /** Runs a local activity the workflow asked for (the worker's job). */
  readonly localActivity?: (request: LocalActivityRequest) => ActivityResolution;
}

/** Asserts the result is a command list and returns it. */
export function commandsOf(result: ActivationResult): WorkflowCommand[] {
  if (!('commands' in result)) throw new Error(`expected commands, got ${result.kind}: ${result.error.message}`);
  return result.commands;
}
