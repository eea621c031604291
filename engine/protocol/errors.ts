import { ERROR_CODES, type ErrorCode } from './codes.js';
import type { FailureInfo } from './failures.js';

/**
 * Base of every error Chronicle raises on purpose. `code` is stable (see docs/errors.md);
 * the message says what went wrong and what to do next.
 */
export class ChronicleError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad input. `field` names the offending option (`options.retry.maximumInterval`). Nothing changed. */
export class InvalidArgumentError extends ChronicleError {
  readonly field: string;
  constructor(field: string, message: string, code: ErrorCode = ERROR_CODES.INVALID_ARGUMENT) {
    super(code, `${field}: ${message}`);
    this.field = field;
  }
}

/** A payload JSON cannot carry. */
export class PayloadNotSerializableError extends InvalidArgumentError {
  constructor(field: string, problem: string) {
    super(field, `${problem}. Payloads must be JSON values (objects, arrays, strings, finite numbers, booleans, null).`, ERROR_CODES.PAYLOAD_NOT_SERIALIZABLE);
  }
}

export class UnknownWorkflowTypeError extends InvalidArgumentError {
  readonly workflowType: string;
  readonly taskQueue: string;
  constructor(workflowType: string, taskQueue: string, known: readonly string[]) {
    super(
      'workflowType',
      `no worker polling task queue '${taskQueue}' has registered a workflow named '${workflowType}'` +
        ` (registered: ${known.length ? known.map((k) => `'${k}'`).join(', ') : 'none'}). ` +
        `Export the workflow function from the worker's workflowsPath, or check the task queue.`,
      ERROR_CODES.UNKNOWN_WORKFLOW_TYPE,
    );
    this.workflowType = workflowType;
    this.taskQueue = taskQueue;
  }
}

export class WorkflowNotFoundError extends ChronicleError {
  readonly workflowId: string;
  readonly runId?: string;
  constructor(workflowId: string, runId?: string) {
    super(
      ERROR_CODES.WORKFLOW_NOT_FOUND,
      runId ? `No run '${runId}' of workflow '${workflowId}' exists` : `No workflow with id '${workflowId}' exists`,
    );
    this.workflowId = workflowId;
    this.runId = runId;
  }
}

/** Temporal's name: a run with this workflow id is still open. */
export class WorkflowExecutionAlreadyStartedError extends ChronicleError {
  readonly workflowId: string;
  readonly workflowType: string;
  readonly runId: string;
  /** `why`: set when the id's reuse policy refused a new run although none is open. */
  constructor(workflowId: string, workflowType: string, runId: string, why?: string) {
    super(
      ERROR_CODES.WORKFLOW_ALREADY_STARTED,
      why
        ? `Workflow '${workflowId}' cannot be started again: ${why}`
        : `Workflow '${workflowId}' is already running (run ${runId}); use another workflowId or wait for it to close`,
    );
    this.workflowId = workflowId;
    this.workflowType = workflowType;
    this.runId = runId;
  }
}
// One error, two classes: this one (client and engine side) and the workflow sandbox's
// TemporalFailure of the same name (startChild). Both carry the same registry-symbol brand,
// and each answers `instanceof` by it, so either class recognises the other's instances.
{
  const mark = Symbol.for('chronicle.error.WorkflowExecutionAlreadyStartedError');
  Object.defineProperty(WorkflowExecutionAlreadyStartedError.prototype, mark, { value: true, enumerable: false });
  Object.defineProperty(WorkflowExecutionAlreadyStartedError, Symbol.hasInstance, {
    value(this: unknown, instance: unknown): boolean {
      if (this !== WorkflowExecutionAlreadyStartedError) return Function.prototype[Symbol.hasInstance].call(this, instance);
      return typeof instance === 'object' && instance !== null && (instance as Record<symbol, unknown>)[mark] === true;
    },
  });
}

export class WorkflowNotRunningError extends ChronicleError {
  readonly workflowId: string;
  readonly runId: string;
  readonly status: string;
  constructor(workflowId: string, runId: string, status: string) {
    super(ERROR_CODES.WORKFLOW_NOT_RUNNING, `Workflow '${workflowId}' run ${runId} is ${status}, not RUNNING`);
    this.workflowId = workflowId;
    this.runId = runId;
    this.status = status;
  }
}

/**
 * The task token no longer holds the lease: the lease expired and another worker took the
 * task, the task was already completed, or the run closed. The caller's result is dropped;
 * whoever holds the lease now decides the outcome.
 */
export class StaleTaskError extends ChronicleError {
  readonly taskToken: string;
  constructor(taskToken: string, why: string) {
    super(ERROR_CODES.STALE_TASK, `Task ${taskToken} is no longer held by this worker: ${why}`);
    this.taskToken = taskToken;
  }
}

export class DatabaseNewerThanCodeError extends ChronicleError {
  readonly databaseVersion: number;
  readonly codeVersion: number;
  constructor(databaseVersion: number, codeVersion: number) {
    super(
      ERROR_CODES.DATABASE_NEWER_THAN_CODE,
      `The database schema is at migration ${databaseVersion} but this Chronicle knows only up to ${codeVersion}. ` +
        `A newer Chronicle has migrated this database; upgrade this process to that version (or newer) instead of running old code against it.`,
    );
    this.databaseVersion = databaseVersion;
    this.codeVersion = codeVersion;
  }
}

export class MigrationFailedError extends ChronicleError {
  readonly migration: string;
  constructor(migration: string, cause: unknown) {
    super(ERROR_CODES.MIGRATION_FAILED, `Migration ${migration} failed: ${(cause as Error)?.message ?? cause}. No part of it was applied.`, { cause });
    this.migration = migration;
  }
}

export class ShuttingDownError extends ChronicleError {
  constructor(what: string) {
    super(ERROR_CODES.SHUTTING_DOWN, `${what} is shutting down`);
  }
}

/**
 * A query was answered with a failure: its handler threw, or the workflow registers no
 * handler for the query type (the message then lists the ones it has). `failure` is the
 * worker's serialized failure.
 */
export class QueryFailedError extends ChronicleError {
  readonly workflowId: string;
  readonly runId: string;
  readonly queryType: string;
  readonly failure: FailureInfo;
  constructor(workflowId: string, runId: string, queryType: string, failure: FailureInfo) {
    super(ERROR_CODES.QUERY_FAILED, `Query '${queryType}' of workflow '${workflowId}' (run ${runId}) failed: ${failure.message}`);
    this.workflowId = workflowId;
    this.runId = runId;
    this.queryType = queryType;
    this.failure = failure;
  }
}

/** No worker of the run's task queue answered a query before its timeout. Nothing changed. */
export class QueryTimeoutError extends ChronicleError {
  readonly workflowId: string;
  readonly runId: string;
  readonly queryType: string;
  readonly taskQueue: string;
  readonly timeoutMs: number;
  constructor(workflowId: string, runId: string, queryType: string, taskQueue: string, timeoutMs: number, detail = '') {
    super(
      ERROR_CODES.QUERY_TIMEOUT,
      `Query '${queryType}' of workflow '${workflowId}' (run ${runId}): no worker of task queue '${taskQueue}' answered within ${timeoutMs} ms; ` +
        `is a worker running for that task queue?${detail ? ' ' + detail : ''}`,
    );
    this.workflowId = workflowId;
    this.runId = runId;
    this.queryType = queryType;
    this.taskQueue = taskQueue;
    this.timeoutMs = timeoutMs;
  }
}

export class UpdateNotFoundError extends ChronicleError {
  readonly workflowId: string;
  readonly updateId: string;
  constructor(workflowId: string, updateId: string, runId?: string) {
    super(
      ERROR_CODES.UPDATE_NOT_FOUND,
      `No update '${updateId}' exists for workflow '${workflowId}'${runId ? ` run ${runId}` : ''}; check the update id (updateWorkflow returns it)`,
    );
    this.workflowId = workflowId;
    this.updateId = updateId;
  }
}

/**
 * The caller's wait for an update's stage ended (its `timeoutMs` passed) before the stage
 * was reached. The update itself goes on; `stage` is where it stood. Wait again with
 * pollWorkflowUpdate.
 */
export class UpdateWaitTimeoutError extends ChronicleError {
  readonly workflowId: string;
  readonly runId: string;
  readonly updateId: string;
  readonly stage: string;
  readonly waitedFor: string;
  constructor(workflowId: string, runId: string, updateId: string, stage: string, waitedFor: string, timeoutMs: number) {
    super(
      ERROR_CODES.UPDATE_WAIT_TIMEOUT,
      `Update '${updateId}' of workflow '${workflowId}' (run ${runId}) is ${stage}, not yet ${waitedFor}, after ${timeoutMs} ms; ` +
        `it goes on: wait again with pollWorkflowUpdate, or check that a worker is running`,
    );
    this.workflowId = workflowId;
    this.runId = runId;
    this.updateId = updateId;
    this.stage = stage;
    this.waitedFor = waitedFor;
  }
}
