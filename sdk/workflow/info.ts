import { getActivator } from './context.js';

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
  /** Attempt of this run; always 1 until workflow retries exist. */
  readonly attempt: number;
  readonly unsafe: {
    /** True while the workflow is replaying history. Branching on it breaks determinism. */
    readonly isReplaying: boolean;
  };
}

/** The current execution's info. Only inside a workflow (CHR_NOT_IN_WORKFLOW_CONTEXT otherwise). */
export function workflowInfo(): WorkflowInfo {
  const activator = getActivator('workflowInfo()');
  const { info } = activator;
  return Object.freeze({
    namespace: info.namespace,
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.workflowType,
    taskQueue: info.taskQueue,
    startTime: new Date(info.startTime),
    historyLength: activator.historyLength,
    attempt: 1,
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
