import type { SearchAttributes } from '../../engine/protocol/events.js';
import { getActivator } from './context.js';

/** The run that started this one as a child. */
export interface ParentWorkflowInfo {
  readonly workflowId: string;
  readonly runId: string;
  readonly namespace: string;
}

/** Facts about the running workflow execution (Temporal's `WorkflowInfo`, the fields Chronicle has). */
export interface WorkflowInfo {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  /** When the run started (engine time). */
  readonly startTime: Date;
  /** Number of events in the history when the current workflow task started. */
  readonly historyLength: number;
  /** Size of the history in bytes when the current workflow task started. */
  readonly historySize: number;
  /** The history is past the engine's warning limits (length or size): continue as new soon. */
  readonly continueAsNewSuggested: boolean;
  /** Attempt of this run; always 1 until workflow retries exist. */
  readonly attempt: number;
  /** Set when this run is a child workflow. */
  readonly parent?: ParentWorkflowInfo;
  /** Current search attributes: the start values with every `upsertSearchAttributes` applied. */
  readonly searchAttributes: SearchAttributes;
  readonly memo?: Readonly<Record<string, unknown>>;
  /** The run this one continues (continue-as-new), if any. */
  readonly continuedFromExecutionRunId?: string;
  /** The first run of this run's continue-as-new chain (this run's id for a first run). */
  readonly firstExecutionRunId: string;
  /** Bound on the whole chain of runs, if set. */
  readonly executionTimeoutMs?: number;
  /** Bound on this run, if set. */
  readonly runTimeoutMs?: number;
  readonly unsafe: {
    /** True while the workflow is replaying history. Branching on it breaks determinism. */
    readonly isReplaying: boolean;
  };
}

/** The current execution's info. Only inside a workflow (CHR_NOT_IN_WORKFLOW_CONTEXT otherwise). */
export function workflowInfo(): WorkflowInfo {
  const activator = getActivator('workflowInfo()');
  const { info, start } = activator;
  const parent = start.parent;
  return Object.freeze({
    namespace: info.namespace,
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.workflowType,
    taskQueue: info.taskQueue,
    startTime: new Date(info.startTime),
    historyLength: activator.historyLength,
    historySize: activator.historySizeBytes,
    continueAsNewSuggested: activator.continueAsNewSuggested,
    attempt: 1,
    ...(parent ? { parent: Object.freeze({ workflowId: parent.workflowId, runId: parent.runId, namespace: parent.namespace }) } : {}),
    searchAttributes: Object.freeze({ ...activator.searchAttributes }),
    ...(start.memo !== undefined ? { memo: start.memo } : {}),
    ...(start.continuedFromExecutionRunId !== undefined ? { continuedFromExecutionRunId: start.continuedFromExecutionRunId } : {}),
    firstExecutionRunId: start.firstExecutionRunId ?? info.runId,
    ...(start.workflowExecutionTimeoutMs !== undefined ? { executionTimeoutMs: start.workflowExecutionTimeoutMs } : {}),
    ...(start.workflowRunTimeoutMs !== undefined ? { runTimeoutMs: start.workflowRunTimeoutMs } : {}),
    unsafe: Object.freeze({ isReplaying: activator.isReplaying }),
  });
}

/**
 * A random RFC 4122 v4 UUID from the run's seeded generator: the same on every replay of the
 * run, different across runs. Use it for idempotency keys and child ids.
 */
export function uuid4(): string {
  return getActivator('uuid4()').random.uuid4();
}
