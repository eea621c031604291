/**
 * Failures that workflow code can throw and catch, with Temporal's names and semantics.
 *
 * These classes are shared by the workflow sandbox, the client and the activity SDK, so they
 * must work in plain Node as well as inside the `node:vm` realm. `instanceof` is realm-safe:
 * every class is branded with a `Symbol.for(...)` key on its prototype and answers
 * `Symbol.hasInstance` by that brand, so an ApplicationFailure created in the sandbox (or by a
 * second bundled copy of this file) is still `instanceof ApplicationFailure` in the worker.
 * Only their serialized form, `FailureInfo`, crosses a process or sandbox boundary.
 */
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import { ChronicleError } from '../../engine/protocol/errors.js';
import {
  toFailureInfo,
  type FailureInfo,
  type FailureInfoCarrier,
  type RetryState,
  type TimeoutType,
} from '../../engine/protocol/failures.js';
import { assertNever } from '../../engine/protocol/commands.js';

const MAX_CAUSE_DEPTH = 20;

/**
 * Makes `instanceof cls` answer by a registry-wide symbol rather than by prototype identity.
 * A subclass that is not branded itself falls back to the ordinary prototype check, so user
 * subclasses (`class MyFailure extends ApplicationFailure`) behave as usual.
 */
export function brand(cls: abstract new (...args: never[]) => object, name: string): void {
  const mark = Symbol.for(`chronicle.error.${name}`);
  Object.defineProperty(cls.prototype, mark, { value: true, enumerable: false });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: function hasInstance(this: unknown, instance: unknown): boolean {
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, instance);
      return typeof instance === 'object' && instance !== null && (instance as Record<symbol, unknown>)[mark] === true;
    },
  });
}

/** `instanceof Error` is false for errors from another realm (the sandbox), so look at the shape. */
function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';
}

function causeInfo(cause: unknown, depth: number): FailureInfo | undefined {
  return cause !== undefined && cause !== null && depth < MAX_CAUSE_DEPTH ? toFailureInfo(cause, depth + 1) : undefined;
}

/**
 * Base class of every failure that crosses the workflow boundary. Throwing one from a
 * workflow function fails the *workflow execution*; throwing any other error (`Error`,
 * `TypeError`, …) fails only the *workflow task*, which is retried while the run stays open —
 * the fix-and-redeploy path.
 */
export class TemporalFailure extends Error implements FailureInfoCarrier {
  constructor(message?: string, cause?: unknown) {
    super(message ?? '', cause === undefined ? undefined : { cause });
  }

  toFailureInfo(depth = 0): FailureInfo {
    return { failureType: 'application', message: this.message, type: this.name, stack: this.stack, cause: causeInfo(this.cause, depth) };
  }
}
brand(TemporalFailure, 'TemporalFailure');

/** Options of `ApplicationFailure.create`, as in Temporal. */
export interface ApplicationFailureOptions {
  readonly message?: string;
  /** A name for the kind of failure; retry policies list non-retryable types by it. */
  readonly type?: string | null;
  /** Ends retrying at once (activities) regardless of the retry policy. */
  readonly nonRetryable?: boolean;
  /** JSON values attached to the failure. */
  readonly details?: readonly unknown[];
  readonly cause?: Error;
}

/**
 * The failure user code throws on purpose. From an activity it fails the attempt (retried
 * unless `nonRetryable` or its `type` is listed in `nonRetryableErrorTypes`); from a workflow
 * it fails the workflow execution. A plain `Error` thrown by an activity reaches the workflow
 * as a retryable ApplicationFailure whose `type` is the error's name.
 *
 * @example
 * throw ApplicationFailure.nonRetryable('card declined', 'CardDeclined', { last4: '4242' });
 */
export class ApplicationFailure extends TemporalFailure {
  readonly type: string | undefined;
  readonly nonRetryable: boolean;
  readonly details: readonly unknown[] | undefined;

  constructor(message?: string, type?: string | null, nonRetryable?: boolean, details?: readonly unknown[], cause?: Error) {
    super(message, cause);
    this.type = type ?? undefined;
    this.nonRetryable = nonRetryable ?? false;
    this.details = details;
  }

  /** Builds a failure from options; `nonRetryable` defaults to false. */
  static create(options: ApplicationFailureOptions): ApplicationFailure {
    const { message, type, nonRetryable = false, details, cause } = options;
    return new ApplicationFailure(message, type, nonRetryable, details, cause);
  }

  /**
   * Returns `error` itself when it already is an ApplicationFailure, otherwise wraps it: the
   * message and stack are kept and `type` is the error's name. `overrides` win.
   */
  static fromError(error: unknown, overrides?: ApplicationFailureOptions): ApplicationFailure {
    let failure: ApplicationFailure;
    if (error instanceof ApplicationFailure) {
      failure = error;
    } else if (typeof error === 'object' && error !== null && 'message' in error) {
      const e = error as Error;
      failure = new ApplicationFailure(String(e.message), e.name || 'Error', false, undefined, isErrorLike(e.cause) ? e.cause : undefined);
      failure.stack = e.stack;
    } else {
      failure = new ApplicationFailure(String(error), 'Error', false);
    }
    if (overrides === undefined) return failure;
    const overridden = new ApplicationFailure(
      overrides.message ?? failure.message,
      'type' in overrides ? overrides.type : failure.type,
      overrides.nonRetryable ?? failure.nonRetryable,
      overrides.details ?? failure.details,
      overrides.cause ?? (isErrorLike(failure.cause) ? failure.cause : undefined),
    );
    overridden.stack = failure.stack;
    return overridden;
  }

  /** A failure that is retried (subject to the retry policy). `type` defaults to `'Error'`. */
  static retryable(message?: string, type?: string | null, ...details: unknown[]): ApplicationFailure {
    return new this(message, type ?? 'Error', false, details);
  }

  /** A failure that is never retried. `type` defaults to `'Error'`. */
  static nonRetryable(message?: string, type?: string | null, ...details: unknown[]): ApplicationFailure {
    return new this(message, type ?? 'Error', true, details);
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return {
      failureType: 'application',
      message: this.message,
      ...(this.type !== undefined ? { type: this.type } : {}),
      stack: this.stack,
      nonRetryable: this.nonRetryable,
      ...(this.details !== undefined && this.details.length > 0 ? { details: this.details } : {}),
      cause: causeInfo(this.cause, depth),
    };
  }
}
brand(ApplicationFailure, 'ApplicationFailure');

/**
 * What an activity call rejects with when the activity failed for good (retries exhausted,
 * non-retryable failure, timeout, cancellation). `cause` holds why: the last attempt's
 * ApplicationFailure, a TimeoutFailure, or a CancelledFailure.
 */
export class ActivityFailure extends TemporalFailure {
  readonly activityType: string;
  readonly activityId: string | undefined;
  readonly retryState: RetryState;
  readonly identity: string | undefined;

  constructor(
    message: string | undefined,
    activityType: string,
    activityId: string | undefined,
    retryState: RetryState,
    identity?: string,
    cause?: Error,
  ) {
    super(message, cause);
    this.activityType = activityType;
    this.activityId = activityId;
    this.retryState = retryState;
    this.identity = identity;
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return {
      failureType: 'activity',
      message: this.message,
      stack: this.stack,
      activity: { activityType: this.activityType, activityId: this.activityId ?? '', retryState: this.retryState },
      cause: causeInfo(this.cause, depth),
    };
  }
}
brand(ActivityFailure, 'ActivityFailure');

/**
 * The operation was cancelled. A workflow whose cancellation was requested sees it from
 * every pending activity (as the `cause` of an ActivityFailure) and timer; if the workflow
 * lets it propagate, the run ends CANCELLED.
 */
export class CancelledFailure extends TemporalFailure {
  readonly details: readonly unknown[];

  constructor(message?: string, details: readonly unknown[] = [], cause?: Error) {
    super(message, cause);
    this.details = details;
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return {
      failureType: 'cancelled',
      message: this.message,
      stack: this.stack,
      ...(this.details.length > 0 ? { details: this.details } : {}),
      cause: causeInfo(this.cause, depth),
    };
  }
}
brand(CancelledFailure, 'CancelledFailure');

/** The workflow execution was terminated. */
export class TerminatedFailure extends TemporalFailure {
  override toFailureInfo(depth = 0): FailureInfo {
    return { failureType: 'terminated', message: this.message, stack: this.stack, cause: causeInfo(this.cause, depth) };
  }
}
brand(TerminatedFailure, 'TerminatedFailure');

/** A timeout fired: `timeoutType` says which. */
export class TimeoutFailure extends TemporalFailure {
  readonly lastHeartbeatDetails: unknown;
  readonly timeoutType: TimeoutType;

  constructor(message: string | undefined, lastHeartbeatDetails: unknown, timeoutType: TimeoutType, cause?: Error) {
    super(message, cause);
    this.lastHeartbeatDetails = lastHeartbeatDetails;
    this.timeoutType = timeoutType;
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return {
      failureType: 'timeout',
      message: this.message,
      stack: this.stack,
      timeoutType: this.timeoutType,
      ...(this.lastHeartbeatDetails !== undefined ? { details: [this.lastHeartbeatDetails] } : {}),
      cause: causeInfo(this.cause, depth),
    };
  }
}
brand(TimeoutFailure, 'TimeoutFailure');

/** A failure reported by the Chronicle engine itself. */
export class ServerFailure extends TemporalFailure {
  readonly nonRetryable: boolean;

  constructor(message?: string, nonRetryable = false, cause?: Error) {
    super(message, cause);
    this.nonRetryable = nonRetryable;
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return { failureType: 'server', message: this.message, stack: this.stack, nonRetryable: this.nonRetryable, cause: causeInfo(this.cause, depth) };
  }
}
brand(ServerFailure, 'ServerFailure');

/** Identifies one run of a workflow (Temporal's `WorkflowExecution`). */
export interface WorkflowExecution {
  readonly workflowId: string;
  readonly runId?: string;
}

/**
 * What a child workflow's `result()` (and `executeChild`) rejects with when the child did not
 * complete: `cause` says how it ended — the child's own failure (an ApplicationFailure, say),
 * a CancelledFailure, a TerminatedFailure or a TimeoutFailure. Thrown on from the parent, it
 * fails the parent; `isCancellation` is true when the cause is a CancelledFailure.
 */
export class ChildWorkflowFailure extends TemporalFailure {
  readonly namespace: string | undefined;
  readonly execution: WorkflowExecution;
  readonly workflowType: string;
  readonly retryState: RetryState;

  constructor(namespace: string | undefined, execution: WorkflowExecution, workflowType: string, retryState: RetryState, cause?: Error) {
    super('Child Workflow execution failed', cause);
    this.namespace = namespace;
    this.execution = execution;
    this.workflowType = workflowType;
    this.retryState = retryState;
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return {
      failureType: 'childWorkflow',
      message: this.message,
      stack: this.stack,
      childWorkflow: {
        namespace: this.namespace ?? '',
        workflowId: this.execution.workflowId,
        runId: this.execution.runId ?? '',
        workflowType: this.workflowType,
        retryState: this.retryState,
      },
      cause: causeInfo(this.cause, depth),
    };
  }
}
brand(ChildWorkflowFailure, 'ChildWorkflowFailure');

/**
 * `startChild`/`executeChild` rejects with this when a run with the child's workflow id is
 * still open (Temporal's class, a TemporalFailure: left uncaught it fails the parent). Pick
 * another `workflowId`, or catch it to attach to the running one with
 * `getExternalWorkflowHandle(workflowId)`.
 */
export class WorkflowExecutionAlreadyStartedError extends TemporalFailure {
  readonly code = ERROR_CODES.WORKFLOW_ALREADY_STARTED;
  readonly workflowId: string;
  readonly workflowType: string;

  constructor(message: string, workflowId: string, workflowType: string) {
    super(message);
    this.workflowId = workflowId;
    this.workflowType = workflowType;
  }

  override toFailureInfo(depth = 0): FailureInfo {
    return { failureType: 'application', message: this.message, type: this.name, stack: this.stack, nonRetryable: true, cause: causeInfo(this.cause, depth) };
  }
}
brand(WorkflowExecutionAlreadyStartedError, 'WorkflowExecutionAlreadyStartedError');

/**
 * Workflow code did something that cannot be replayed deterministically (constructed a
 * `WeakRef`, for instance). It is a plain error, not a TemporalFailure: it fails the
 * workflow task, not the execution, so fixing the code and redeploying recovers the run.
 */
export class DeterminismViolationError extends Error {}
brand(DeterminismViolationError, 'DeterminismViolationError');

/**
 * A workflow API (`sleep`, an activity call, `workflowInfo`, `uuid4`, …) was called outside a
 * workflow execution, for example at module top level or from client code that imported the
 * workflow file. Defining things (`proxyActivities`) is fine anywhere; only calling is not.
 */
export class NotInWorkflowContextError extends ChronicleError {
  readonly api: string;
  constructor(api: string) {
    super(
      ERROR_CODES.NOT_IN_WORKFLOW_CONTEXT,
      `${api} may only be used from a workflow execution; it was called outside one (at module top level, or from ` +
        `client, activity or test code). Call it from inside a workflow function, or move the code into an activity.`,
    );
    this.api = api;
  }
}
brand(NotInWorkflowContextError, 'NotInWorkflowContextError');

/**
 * True for a CancelledFailure, or an ActivityFailure or ChildWorkflowFailure caused by one:
 * the errors a workflow sees when its cancellation was requested. Letting such an error
 * escape the workflow function after the workflow's cancellation was requested ends the run
 * CANCELLED.
 */
export function isCancellation(err: unknown): boolean {
  return (
    err instanceof CancelledFailure ||
    ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause instanceof CancelledFailure)
  );
}

/**
 * Rebuilds the error class chain from its serialized form: an `activity` failure becomes an
 * ActivityFailure whose `cause` is, say, an ApplicationFailure. The remote stack is kept.
 */
export function fromFailureInfo(info: FailureInfo, depth = 0): TemporalFailure {
  const cause = info.cause !== undefined && depth < MAX_CAUSE_DEPTH ? fromFailureInfo(info.cause, depth + 1) : undefined;
  let failure: TemporalFailure;
  switch (info.failureType) {
    case 'application':
      failure = new ApplicationFailure(info.message, info.type, info.nonRetryable ?? false, info.details, cause);
      break;
    case 'activity':
      failure = new ActivityFailure(
        info.message,
        info.activity?.activityType ?? '',
        info.activity?.activityId,
        info.activity?.retryState ?? 'UNSPECIFIED',
        undefined,
        cause,
      );
      break;
    case 'childWorkflow':
      failure = new ChildWorkflowFailure(
        info.childWorkflow?.namespace || undefined,
        { workflowId: info.childWorkflow?.workflowId ?? '', runId: info.childWorkflow?.runId || undefined },
        info.childWorkflow?.workflowType ?? '',
        info.childWorkflow?.retryState ?? 'UNSPECIFIED',
        cause,
      );
      break;
    case 'cancelled':
      failure = new CancelledFailure(info.message, info.details ?? [], cause);
      break;
    case 'terminated':
      failure = new TerminatedFailure(info.message, cause);
      break;
    case 'timeout':
      failure = new TimeoutFailure(info.message, info.details?.[0], info.timeoutType ?? 'START_TO_CLOSE', cause);
      break;
    case 'server':
      failure = new ServerFailure(info.message, info.nonRetryable ?? false, cause);
      break;
    default:
      return assertNever(info.failureType, 'failureType');
  }
  if (info.stack !== undefined) failure.stack = info.stack;
  return failure;
}
