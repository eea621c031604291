/**
 * How the client shows a run: Temporal's `WorkflowExecutionInfo` and
 * `WorkflowExecutionDescription` shapes, built from the engine's description. PURE.
 */
import type {
  WorkflowDescription,
  WorkflowExecutionInfo as EngineExecutionInfo,
  WorkflowExecutionStatus,
} from '../../engine/engine.js';
import type { SearchAttributes } from '../../engine/protocol/index.js';

/** A run's status name, as in Temporal (which also has UNSPECIFIED, PAUSED and UNKNOWN; Chronicle never reports those). */
export type WorkflowExecutionStatusName = WorkflowExecutionStatus;

/**
 * Temporal's `WorkflowExecutionStatus` protobuf numbers, so `status.code` compares equal to
 * what Temporal code expects (RUNNING = 1, …, TIMED_OUT = 7).
 */
export const WORKFLOW_EXECUTION_STATUS_CODES: Readonly<Record<WorkflowExecutionStatusName, number>> = {
  RUNNING: 1,
  COMPLETED: 2,
  FAILED: 3,
  CANCELLED: 4,
  TERMINATED: 5,
  CONTINUED_AS_NEW: 6,
  TIMED_OUT: 7,
};

/** A run's status: `name` as Temporal's client spells it, `code` its protobuf number. */
export interface WorkflowExecutionStatusInfo {
  readonly code: number;
  readonly name: WorkflowExecutionStatusName;
}

/**
 * One run as `client.workflow.list()` yields it, with Temporal's field names.
 *
 * Differences from Temporal: `raw` is the engine's record rather than a protobuf;
 * `typedSearchAttributes` and `rootExecution` are absent; `memo` values are the JSON values
 * given at start (Temporal decodes its payloads to the same thing).
 */
export interface WorkflowExecutionInfo {
  /** The workflow type: the workflow function's name. */
  readonly type: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly taskQueue: string;
  readonly status: WorkflowExecutionStatusInfo;
  /** Events in the run's history. */
  readonly historyLength: number;
  /** Bytes of the run's history (its events as stored JSON). */
  readonly historySize: number;
  readonly startTime: Date;
  /** When the run began executing; the same as `startTime` (Chronicle has no start delay). */
  readonly executionTime: Date;
  readonly closeTime?: Date;
  readonly memo?: Record<string, unknown>;
  /** Each attribute's values (an array, as in Temporal's legacy `searchAttributes`). */
  readonly searchAttributes: SearchAttributes;
  /** The run that started this one as a child workflow, if any. */
  readonly parentExecution?: { readonly workflowId: string; readonly runId: string };
  /** Chronicle extension: the first run of this run's continue-as-new chain. */
  readonly firstExecutionRunId?: string;
  /** The engine's record of the run. */
  readonly raw: EngineExecutionInfo;
}

/**
 * `handle.describe()`: Temporal's description (every `WorkflowExecutionInfo` field, `raw`
 * the engine's full description) plus what Chronicle knows about the run's progress.
 */
export interface WorkflowExecutionDescription extends Omit<WorkflowExecutionInfo, 'raw'> {
  /** Chronicle extension: events waiting for the run's next workflow task. */
  readonly pendingEventCount: number;
  /** Chronicle extension: activities scheduled and not yet finished. */
  readonly pendingActivityCount: number;
  /** Chronicle extension: timers started and not yet fired or cancelled. */
  readonly pendingTimerCount: number;
  /**
   * Chronicle extension: set while the run's workflow task keeps failing (a non-determinism
   * error, a plain `Error` thrown by workflow code); the run stays open meanwhile.
   */
  readonly workflowTaskFailure?: WorkflowDescription['workflowTaskFailure'];
  /** Chronicle extension: the history size in bytes, as `historySize`. */
  readonly historySizeBytes: number;
  /** Chronicle extension: the workflow type, as `type`. */
  readonly workflowType: string;
  readonly namespace: string;
  /** The engine's full description. */
  readonly raw: WorkflowDescription;
}

/** `{ code, name }` of a status name. */
export function statusInfo(name: WorkflowExecutionStatusName): WorkflowExecutionStatusInfo {
  return { code: WORKFLOW_EXECUTION_STATUS_CODES[name] ?? 0, name };
}

/** Temporal's `WorkflowExecutionInfo` of an engine record. */
export function toWorkflowExecutionInfo(raw: EngineExecutionInfo): WorkflowExecutionInfo {
  return {
    type: raw.workflowType,
    workflowId: raw.workflowId,
    runId: raw.runId,
    taskQueue: raw.taskQueue,
    status: statusInfo(raw.status),
    historyLength: raw.historyLength,
    historySize: raw.historySizeBytes,
    startTime: new Date(raw.startTime),
    executionTime: new Date(raw.startTime),
    ...(raw.closeTime !== undefined && raw.closeTime !== null ? { closeTime: new Date(raw.closeTime) } : {}),
    ...(raw.memo !== undefined && raw.memo !== null ? { memo: { ...raw.memo } } : {}),
    searchAttributes: raw.searchAttributes ?? {},
    ...(raw.parent ? { parentExecution: { workflowId: raw.parent.workflowId, runId: raw.parent.runId } } : {}),
    ...(raw.firstExecutionRunId !== undefined ? { firstExecutionRunId: raw.firstExecutionRunId } : {}),
    raw,
  };
}

/** `handle.describe()` of an engine description. */
export function toWorkflowExecutionDescription(raw: WorkflowDescription): WorkflowExecutionDescription {
  const { raw: _info, ...info } = toWorkflowExecutionInfo(raw);
  return {
    ...info,
    namespace: raw.namespace,
    workflowType: raw.workflowType,
    historySizeBytes: raw.historySizeBytes,
    pendingEventCount: raw.pendingEventCount,
    pendingActivityCount: raw.pendingActivityCount,
    pendingTimerCount: raw.pendingTimerCount,
    ...(raw.workflowTaskFailure !== undefined ? { workflowTaskFailure: raw.workflowTaskFailure } : {}),
    raw,
  };
}
