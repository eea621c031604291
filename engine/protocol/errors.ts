import { ERROR_CODES, type ErrorCode } from './codes.js';

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
  constructor(workflowId: string, workflowType: string, runId: string) {
    super(
      ERROR_CODES.WORKFLOW_ALREADY_STARTED,
      `Workflow '${workflowId}' is already running (run ${runId}); use another workflowId or wait for it to close`,
    );
    this.workflowId = workflowId;
    this.workflowType = workflowType;
    this.runId = runId;
  }
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
