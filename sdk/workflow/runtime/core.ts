/**
 * What the parts of a run's state (timers, activities, children, messages, …) need from the
 * run that owns them. The Activator implements it; the parts never import the Activator, so
 * the import graph stays acyclic (parts → core ← activator → parts).
 */
import type { WorkflowRunInfo } from '../../../engine/protocol/activation.js';
import type { RejectUpdateCommand, WorkflowCommand } from '../../../engine/protocol/commands.js';
import { PayloadNotSerializableError } from '../../../engine/protocol/errors.js';
import { findNonJsonValue } from '../../../engine/protocol/payloads.js';
import { DeterminismViolationError } from '../errors.js';

/** Sequence-number spaces: one counter per kind of command, as sdk-core keeps them. */
export type SeqKind = 'activity' | 'timer' | 'child' | 'signalExternal' | 'cancelExternal' | 'localActivity';

export interface RunCore {
  readonly info: WorkflowRunInfo;
  readonly isReplaying: boolean;
  /** Buffers a command for this activation (dropped once a terminal command was issued). */
  pushCommand(command: WorkflowCommand): void;
  /**
   * Buffers an update's rejection, even after a terminal command (placed before it): it
   * records nothing, so the history is the same, and the caller learns why at once.
   */
  pushRejection(command: RejectUpdateCommand): void;
  /**
   * Takes back a command this activation buffered and has not handed over yet (the very
   * object passed to `pushCommand`): true when it was still buffered and is now dropped. An
   * operation cancelled before its command left the sandbox is never started, as Temporal
   * Core drops such commands.
   */
  retract(command: WorkflowCommand): boolean;

  /** The next sequence number of a kind (1, 2, 3…). */
  nextSeq(kind: SeqKind): number;
  /** How many sequence numbers of a kind were handed out. */
  issued(kind: SeqKind): number;
  /** Throws when a command may not be issued now (inside a query handler or an update validator). */
  assertMayIssueCommands(api: string): void;
  /** Runs `fn` in which workflow APIs that issue commands throw; `what` names it for the error ('a query handler'). */
  runReadOnly<T>(what: string, fn: () => T): T;
  /** Fails the workflow task (not the workflow) with this error. */
  failTask(error: unknown): void;
  /**
   * Routes an error that escaped workflow code (the workflow function, a signal or update
   * handler): ContinueAsNew, a cancellation after the workflow's cancellation was requested,
   * a TemporalFailure (fails the workflow), or anything else (fails the task).
   */
  handleWorkflowError(error: unknown): void;
  /** Runs `fn` with the root scope current (message handlers run there, as the main function does). */
  runInRootScope<T>(fn: () => T): T;
}

/**
 * Marks an SDK promise as handled, so that a workflow which never awaits it (a timer or
 * activity left pending when the workflow is cancelled, say) does not report an unhandled
 * rejection to the worker process. Code that awaits it still sees the rejection.
 */
export function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** A copy of `value` as it reads back from JSON. */
export function jsonClone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Checks and copies call arguments: each must be a JSON value.
 * @throws PayloadNotSerializableError naming `args[i]…` and what they were for.
 */
export function toPayloads(args: readonly unknown[], what: string): unknown[] {
  args.forEach((arg, i) => {
    const problem = findNonJsonValue(arg, `args[${i}]`);
    if (problem) throw new PayloadNotSerializableError(`args[${i}]`, `${what}: ${problem}`);
  });
  return jsonClone([...args]);
}

/** Checks and copies one value (a result); `undefined` becomes null. */
export function toPayload(value: unknown, field: string, what: string): unknown {
  const problem = findNonJsonValue(value, field);
  if (problem) throw new PayloadNotSerializableError(field, `${what}: ${problem}`);
  return value === undefined ? null : jsonClone(value);
}

/** The history resolved an operation the workflow never started: the history does not belong to this code. */
export function neverIssued(what: string, seq: number, issued: number): DeterminismViolationError {
  return new DeterminismViolationError(`${what} seq ${seq} was resolved, but this workflow has started only ${issued} of them; the history does not match the workflow code`);
}

export const noop = (): void => undefined;
