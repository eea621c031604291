import { InvalidArgumentError } from './errors.js';
import type {
  RequestCancelExternalWorkflowCommand,
  SignalExternalWorkflowCommand,
  StartChildWorkflowCommand,
} from './protocol/index.js';
import type { NewEvent } from './history.js';
import { validateSearchAttributes, type SearchAttributeTypes } from './search-attributes.js';
import { validateName, validatePayload, validatePayloads } from './validation.js';

/**
 * The commands that reach other runs: starting a child, signalling or cancelling an external
 * run. Here they are checked and turned into their history event and the row the completing
 * transaction acts on (chronicle.start_children and chronicle.apply_external_commands,
 * migrations/0004); all of it happens in that one transaction.
 */

export const PARENT_CLOSE_POLICIES = ['TERMINATE', 'ABANDON', 'REQUEST_CANCEL'] as const;
export const CHILD_CANCELLATION_TYPES = ['ABANDON', 'TRY_CANCEL', 'WAIT_CANCELLATION_COMPLETED', 'WAIT_CANCELLATION_REQUESTED'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A child run to start: a row of chronicle.start_children's p_children. */
export interface ChildStartRow {
  readonly seq: number;
  readonly workflow_id: string;
  readonly workflow_type: string;
  readonly task_queue: string | null;
  readonly args: readonly unknown[];
  readonly parent_close_policy: string;
  readonly search_attributes: unknown;
  readonly memo: unknown;
  readonly execution_timeout_ms: number | null;
  readonly run_timeout_ms: number | null;
}

/** An external signal: a row of chronicle.apply_external_commands' p_signals. */
export interface ExternalSignalRow {
  readonly seq: number;
  readonly workflow_id: string;
  readonly run_id: string | null;
  readonly signal_name: string;
  readonly args: readonly unknown[];
  readonly child_only: boolean;
}

/** An external cancel request: a row of chronicle.apply_external_commands' p_cancels. */
export interface ExternalCancelRow {
  readonly seq: number;
  readonly workflow_id: string;
  readonly run_id: string | null;
  readonly child_only: boolean;
}

export function validateSeq(field: string, seq: unknown): number {
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) throw new InvalidArgumentError(field, `must be a positive integer, got ${JSON.stringify(seq)}`);
  return seq as number;
}

/** A workflow timeout option: a positive number of milliseconds (rounded), or undefined. */
export function validateTimeoutMs(field: string, ms: unknown): number | undefined {
  if (ms === undefined || ms === null) return undefined;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new InvalidArgumentError(field, `must be a positive number of milliseconds, got ${JSON.stringify(ms)}`);
  }
  return Math.max(1, Math.round(ms));
}

/** A memo: an object of JSON payloads, or undefined. */
export function validateMemo(field: string, memo: unknown): Readonly<Record<string, unknown>> | undefined {
  if (memo === undefined || memo === null) return undefined;
  if (typeof memo !== 'object' || Array.isArray(memo)) throw new InvalidArgumentError(field, `must be an object of payloads, got ${Array.isArray(memo) ? 'an array' : typeof memo}`);
  validatePayload(field, memo);
  return memo as Record<string, unknown>;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new InvalidArgumentError(field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

function optionalRunId(field: string, runId: unknown): string | undefined {
  if (runId === undefined || runId === null || runId === '') return undefined;
  if (typeof runId !== 'string' || !UUID.test(runId)) throw new InvalidArgumentError(field, `must be a run id (a UUID), got ${JSON.stringify(runId)}`);
  return runId.toLowerCase();
}

export function prepareStartChild(
  cmd: StartChildWorkflowCommand,
  field: string,
  types: SearchAttributeTypes | undefined,
): { event: NewEvent; row: ChildStartRow } {
  const seq = validateSeq(`${field}.seq`, cmd.seq);
  const workflowId = validateName(`${field}.workflowId`, cmd.workflowId);
  const workflowType = validateName(`${field}.workflowType`, cmd.workflowType);
  const taskQueue = cmd.taskQueue === undefined ? undefined : validateName(`${field}.taskQueue`, cmd.taskQueue);
  validatePayloads(`${field}.args`, cmd.args);
  // Temporal's defaults, should a command leave them out.
  const parentClosePolicy = oneOf(`${field}.parentClosePolicy`, cmd.parentClosePolicy ?? 'TERMINATE', PARENT_CLOSE_POLICIES);
  const cancellationType = oneOf(`${field}.cancellationType`, cmd.cancellationType ?? 'WAIT_CANCELLATION_COMPLETED', CHILD_CANCELLATION_TYPES);
  const searchAttributes = cmd.searchAttributes === undefined ? undefined : validateSearchAttributes(`${field}.searchAttributes`, cmd.searchAttributes, types ?? new Map());
  const memo = validateMemo(`${field}.memo`, cmd.memo);
  const executionTimeout = validateTimeoutMs(`${field}.workflowExecutionTimeoutMs`, cmd.workflowExecutionTimeoutMs);
  const runTimeout = validateTimeoutMs(`${field}.workflowRunTimeoutMs`, cmd.workflowRunTimeoutMs);
  const hasAttributes = searchAttributes !== undefined && Object.keys(searchAttributes).length > 0;
  return {
    // Without a task queue the child runs on the parent's; the completing transaction fills it in.
    event: {
      eventType: 'StartChildWorkflowExecutionInitiated',
      attributes: {
        seq,
        workflowId,
        workflowType,
        taskQueue: taskQueue as string,
        args: cmd.args,
        parentClosePolicy,
        cancellationType,
        ...(hasAttributes ? { searchAttributes } : {}),
        ...(memo ? { memo } : {}),
        ...(executionTimeout ? { workflowExecutionTimeoutMs: executionTimeout } : {}),
        ...(runTimeout ? { workflowRunTimeoutMs: runTimeout } : {}),
      },
    },
    row: {
      seq,
      workflow_id: workflowId,
      workflow_type: workflowType,
      task_queue: taskQueue ?? null,
      args: cmd.args,
      parent_close_policy: parentClosePolicy,
      search_attributes: hasAttributes ? searchAttributes : null,
      memo: memo ?? null,
      execution_timeout_ms: executionTimeout ?? null,
      run_timeout_ms: runTimeout ?? null,
    },
  };
}

export function prepareSignalExternal(cmd: SignalExternalWorkflowCommand, field: string): { event: NewEvent; row: ExternalSignalRow } {
  const seq = validateSeq(`${field}.seq`, cmd.seq);
  const workflowId = validateName(`${field}.workflowId`, cmd.workflowId);
  const runId = optionalRunId(`${field}.runId`, cmd.runId);
  const signalName = validateName(`${field}.signalName`, cmd.signalName);
  validatePayloads(`${field}.args`, cmd.args);
  const childOnly = cmd.childWorkflowOnly === true;
  return {
    event: {
      eventType: 'SignalExternalWorkflowExecutionInitiated',
      attributes: { seq, workflowId, ...(runId ? { runId } : {}), signalName, args: cmd.args, childWorkflowOnly: childOnly },
    },
    row: { seq, workflow_id: workflowId, run_id: runId ?? null, signal_name: signalName, args: cmd.args, child_only: childOnly },
  };
}

export function prepareCancelExternal(cmd: RequestCancelExternalWorkflowCommand, field: string): { event: NewEvent; row: ExternalCancelRow } {
  const seq = validateSeq(`${field}.seq`, cmd.seq);
  const workflowId = validateName(`${field}.workflowId`, cmd.workflowId);
  const runId = optionalRunId(`${field}.runId`, cmd.runId);
  const childOnly = cmd.childWorkflowOnly === true;
  return {
    event: {
      eventType: 'RequestCancelExternalWorkflowExecutionInitiated',
      attributes: { seq, workflowId, ...(runId ? { runId } : {}), childWorkflowOnly: childOnly },
    },
    row: { seq, workflow_id: workflowId, run_id: runId ?? null, child_only: childOnly },
  };
}
