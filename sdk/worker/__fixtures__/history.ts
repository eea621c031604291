/**
 * Test helper: builds histories the way the engine appends them, and drives a WorkflowRun
 * through live workflow tasks against that history (a tiny in-memory stand-in for the
 * engine's completeWorkflowTask). No database.
 */
import type { WorkflowRunInfo } from '../../../engine/protocol/activation.js';
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
  start(info: WorkflowRunInfo, args: readonly unknown[]): HistoryEvent {
    return this.append('WorkflowExecutionStarted', { workflowType: info.workflowType, workflowId: info.workflowId, runId: info.runId, taskQueue: info.taskQueue, args }, info.startTime);
  }

  /**
   * Appends a completed workflow task: its pending inputs (history inputs are already
   * there), the events of its commands, and the WorkflowTaskCompleted. Returns the
   * completion's event id.
   */
  completeTask(inputs: ReadonlyArray<HistoryEvent | PendingEvent>, commands: readonly WorkflowCommand[], workflowTime: number, taskQueue = RUN_INFO.taskQueue): number {
    for (const input of inputs) {
      if (!('eventId' in input)) this.append(input.eventType, input.attributes as never, workflowTime);
    }
    for (const command of commands) {
      const [type, attributes] = commandEvent(command, workflowTime, taskQueue);
      this.append(type, attributes as never, workflowTime);
    }
    return this.append('WorkflowTaskCompleted', { workflowTime, identity: 'test-worker', attempt: 1 }, workflowTime).eventId;
  }
}

function commandEvent(command: WorkflowCommand, now: number, taskQueue: string): [EventType, unknown] {
  switch (command.kind) {
    case 'ScheduleActivity':
      return ['ActivityTaskScheduled', { seq: command.seq, activityType: command.activityType, taskQueue: command.taskQueue ?? taskQueue, args: command.args, options: command.options }];
    case 'StartTimer':
      return ['TimerStarted', { seq: command.seq, durationMs: command.durationMs, fireAt: now + command.durationMs }];
    case 'CancelTimer':
      return ['TimerCanceled', { seq: command.seq }];
    case 'CompleteWorkflow':
      return ['WorkflowExecutionCompleted', { result: command.result }];
    case 'FailWorkflow':
      return ['WorkflowExecutionFailed', { failure: command.failure }];
    case 'CancelWorkflow':
      return ['WorkflowExecutionCanceled', command.details === undefined ? {} : { details: command.details }];
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
): ActivationResult {
  const pendingCount = events.filter((e) => !('eventId' in e)).length;
  const result = run.activate(events, { timestamp: workflowTime, historyLength: history.length + pendingCount });
  if ('commands' in result) {
    run.markCompleted(history.completeTask(events, result.commands, workflowTime));
  }
  return result;
}

/** Asserts the result is a command list and returns it. */
export function commandsOf(result: ActivationResult): WorkflowCommand[] {
  if (!('commands' in result)) throw new Error(`expected commands, got ${result.kind}: ${result.error.message}`);
  return result.commands;
}
