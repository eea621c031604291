import type { FailureInfo } from './failures.js';
import type { Payload } from './payloads.js';
import type { ActivityScheduleOptions } from './retry-policy.js';

/**
 * What a workflow asks the engine to do, produced by one activation. Each command becomes
 * exactly one history event (see `commandEventType`); on replay, every command must match
 * its recorded event by kind, seq and type, or the task fails with NonDeterminismError.
 *
 * `seq` numbers are per kind and per run (activities 1, 2, 3…; timers 1, 2, 3…), assigned
 * by the workflow in the order it issues the commands, as sdk-core does.
 */
export type WorkflowCommand =
  | ScheduleActivityCommand
  | StartTimerCommand
  | CancelTimerCommand
  | CompleteWorkflowCommand
  | FailWorkflowCommand
  | CancelWorkflowCommand;

export interface ScheduleActivityCommand {
  readonly kind: 'ScheduleActivity';
  readonly seq: number;
  readonly activityType: string;
  /** Defaults to the workflow's task queue. */
  readonly taskQueue?: string;
  readonly args: readonly Payload[];
  readonly options: ActivityScheduleOptions;
}

export interface StartTimerCommand {
  readonly kind: 'StartTimer';
  readonly seq: number;
  readonly durationMs: number;
}

export interface CancelTimerCommand {
  readonly kind: 'CancelTimer';
  readonly seq: number;
}

export interface CompleteWorkflowCommand {
  readonly kind: 'CompleteWorkflow';
  readonly result: Payload;
}

export interface FailWorkflowCommand {
  readonly kind: 'FailWorkflow';
  readonly failure: FailureInfo;
}

/** The workflow accepted a cancel request and ends CANCELLED. */
export interface CancelWorkflowCommand {
  readonly kind: 'CancelWorkflow';
  readonly details?: Payload;
}

export type CommandKind = WorkflowCommand['kind'];

/** The event type each command kind is recorded as. */
export const COMMAND_EVENT: { readonly [K in CommandKind]: string } = {
  ScheduleActivity: 'ActivityTaskScheduled',
  StartTimer: 'TimerStarted',
  CancelTimer: 'TimerCanceled',
  CompleteWorkflow: 'WorkflowExecutionCompleted',
  FailWorkflow: 'WorkflowExecutionFailed',
  CancelWorkflow: 'WorkflowExecutionCanceled',
};

export function isTerminalCommand(c: WorkflowCommand): boolean {
  return c.kind === 'CompleteWorkflow' || c.kind === 'FailWorkflow' || c.kind === 'CancelWorkflow';
}

export function assertNever(x: never, what = 'value'): never {
  throw new TypeError(`Unexpected ${what}: ${JSON.stringify(x)}`);
}
