/**
 * Every stable error code Chronicle can report, in one list. Codes never change meaning
 * once released; `docs/errors.md` documents each one and a test fails when one is missing.
 */
export const ERROR_CODES = {
  /** An argument or option is invalid; the error names the field and the fix. Nothing changed. */
  INVALID_ARGUMENT: 'CHR_INVALID_ARGUMENT',
  /** A payload (args, result, details) cannot be represented as JSON. */
  PAYLOAD_NOT_SERIALIZABLE: 'CHR_PAYLOAD_NOT_SERIALIZABLE',
  /** Starting a workflow whose type no worker polling that task queue has registered. */
  UNKNOWN_WORKFLOW_TYPE: 'CHR_UNKNOWN_WORKFLOW_TYPE',
  /** No run with that workflow id (and run id, if given). */
  WORKFLOW_NOT_FOUND: 'CHR_WORKFLOW_NOT_FOUND',
  /** A run with that workflow id is still open. */
  WORKFLOW_ALREADY_STARTED: 'CHR_WORKFLOW_ALREADY_STARTED',
  /** The run is closed; the operation needs an open run. */
  WORKFLOW_NOT_RUNNING: 'CHR_WORKFLOW_NOT_RUNNING',
  /** A task token no longer holds the lease (expired, completed, or the run closed). */
  STALE_TASK: 'CHR_STALE_TASK',
  /** Replayed workflow code produced a different command than the history recorded. */
  NON_DETERMINISM: 'CHR_NON_DETERMINISM',
  /** Workflow code ran without yielding past the deadlock timeout. */
  WORKFLOW_DEADLOCK: 'CHR_WORKFLOW_DEADLOCK',
  /** Workflow code imported a module the sandbox forbids (a Node built-in). */
  WORKFLOW_BUNDLE_FORBIDDEN_IMPORT: 'CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT',
  /** Bundling the workflow code failed for another reason (syntax error, missing module). */
  WORKFLOW_BUNDLE_FAILED: 'CHR_WORKFLOW_BUNDLE_FAILED',
  /** The database schema is newer than this version of Chronicle. */
  DATABASE_NEWER_THAN_CODE: 'CHR_DATABASE_NEWER_THAN_CODE',
  /** A migration failed to apply. */
  MIGRATION_FAILED: 'CHR_MIGRATION_FAILED',
  /** A workflow API was called outside a workflow (e.g. `sleep` in plain Node). */
  NOT_IN_WORKFLOW_CONTEXT: 'CHR_NOT_IN_WORKFLOW_CONTEXT',
  /** An activity API was called outside an activity. */
  NOT_IN_ACTIVITY_CONTEXT: 'CHR_NOT_IN_ACTIVITY_CONTEXT',
  /** PostgreSQL does not answer (reported by the server's /readyz). */
  DATABASE_UNAVAILABLE: 'CHR_DATABASE_UNAVAILABLE',
  /** The worker or engine is shutting down and refused new work. */
  SHUTTING_DOWN: 'CHR_SHUTTING_DOWN',
  /** A query handler threw, or the workflow has no handler for that query type. */
  QUERY_FAILED: 'CHR_QUERY_FAILED',
  /** No worker answered a query in time. */
  QUERY_TIMEOUT: 'CHR_QUERY_TIMEOUT',
  /** No update with that id exists for the workflow. */
  UPDATE_NOT_FOUND: 'CHR_UPDATE_NOT_FOUND',
  /** The caller stopped waiting for an update's stage; the update itself goes on. */
  UPDATE_WAIT_TIMEOUT: 'CHR_UPDATE_WAIT_TIMEOUT',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];
