import type { Kysely } from 'kysely';
import type { Database } from './db/database.js';
import { deleteRunWork } from './executions.js';
import { continueAsNewSuggested, defaultLimits, type LimitSettings } from './limits.js';
import type { Logger } from './logger.js';
import type { ActivityTask, FailureInfo, HistoryEvent, PendingEvent, ResolvedRetryPolicy, WorkflowTask } from './protocol/index.js';
import { encodeActivityTaskToken, encodeWorkflowTaskToken } from './task-token.js';

/** SQLSTATE raised by the task functions of migrations/0002 when a lease is stale. */
export const STALE_LEASE_SQLSTATE = 'CH001';

/**
 * Rows returned by the task functions of migrations/0002 (chronicle.activity_claim and
 * chronicle.workflow_task_claim) and their mapping to the protocol's task shapes. One place,
 * because claims, eager dispatch on completion and eager dispatch on activity results all
 * return the same rows.
 */

export interface ActivityTaskRow {
  id: string;
  namespace: string;
  run_id: string;
  seq: number;
  workflow_id: string;
  workflow_type: string;
  workflow_task_queue: string;
  activity_type: string;
  task_queue: string;
  args: unknown[];
  priority: number;
  attempt: number;
  lease_id: string;
  heartbeat_details: unknown;
  last_failure: FailureInfo | null;
  start_to_close_ms: number;
  heartbeat_timeout_ms: number | null;
  retry_policy: ResolvedRetryPolicy;
  scheduled_ms: string;
  started_ms: string;
  lease_ms: string;
  deadline_ms: string | null;
}

/** A row of chronicle.activity_claim: what a claim (or eager dispatch) returns. */
export type EagerActivityRow = Pick<
  ActivityTaskRow,
  | 'id' | 'namespace' | 'run_id' | 'seq' | 'workflow_id' | 'workflow_type' | 'activity_type' | 'task_queue' | 'args' | 'priority'
  | 'attempt' | 'lease_id' | 'heartbeat_details' | 'start_to_close_ms' | 'heartbeat_timeout_ms' | 'scheduled_ms' | 'started_ms'
  | 'lease_ms' | 'deadline_ms'
>;

export function toActivityTask(r: EagerActivityRow): ActivityTask {
  return {
    taskToken: encodeActivityTaskToken({ taskId: r.id, runId: r.run_id, leaseId: r.lease_id }),
    namespace: r.namespace,
    workflowId: r.workflow_id,
    runId: r.run_id,
    workflowType: r.workflow_type,
    activityType: r.activity_type,
    activityId: String(r.seq),
    taskQueue: r.task_queue,
    args: r.args,
    attempt: r.attempt,
    ...(r.heartbeat_details !== null && r.heartbeat_details !== undefined ? { heartbeatDetails: r.heartbeat_details } : {}),
    priority: r.priority,
    scheduledAt: Number(r.scheduled_ms),
    startedAt: Number(r.started_ms),
    leaseExpiresAt: Number(r.lease_ms),
    startToCloseTimeoutMs: r.start_to_close_ms,
    ...(r.heartbeat_timeout_ms !== null ? { heartbeatTimeoutMs: r.heartbeat_timeout_ms } : {}),
    ...(r.deadline_ms !== null && r.deadline_ms !== undefined ? { scheduleToCloseTimeoutMs: Number(r.deadline_ms) - Number(r.scheduled_ms) } : {}),
  };
}


/** A row of chronicle.workflow_task_claim. */
export interface WorkflowTaskClaimRow {
  run_id: string;
  lease_id: string;
  attempt: number;
  now_ms: string;
  namespace: string;
  workflow_id: string;
  workflow_type: string;
  task_queue: string;
  run_status: string;
  history_length: number;
  previous_completed_event_id: number;
  events: (HistoryEvent | PendingEvent)[];
  /** bigint: a decimal string from a claim, a number inside a jsonb eager task. */
  history_size_bytes: string | number;
}

/**
 * Maps claimed rows to tasks. A row whose run is no longer running means a bug elsewhere
 * (closing a run deletes its task in the same transaction); the orphan is dropped and
 * logged rather than handed to a worker.
 */
export async function toWorkflowTasks(
  db: Kysely<Database>,
  log: Logger,
  rows: readonly WorkflowTaskClaimRow[],
  limits: LimitSettings = defaultLimits(),
  /** The lease the claim took, so the worker can budget the task (local activities). */
  workflowTaskTimeoutMs?: number,
): Promise<WorkflowTask[]> {
  const tasks: WorkflowTask[] = [];
  for (const c of rows) {
    if (c.run_status !== 'RUNNING') {
      log.error('dropping workflow task of a run that is not running', { runId: c.run_id, status: c.run_status });
      await db.transaction().execute((trx) => deleteRunWork(trx, c.run_id));
      continue;
    }
    tasks.push({
      taskToken: encodeWorkflowTaskToken({ runId: c.run_id, leaseId: c.lease_id }),
      namespace: c.namespace,
      workflowId: c.workflow_id,
      runId: c.run_id,
      workflowType: c.workflow_type,
      taskQueue: c.task_queue,
      attempt: c.attempt,
      startedAt: Number(c.now_ms),
      ...(workflowTaskTimeoutMs !== undefined ? { workflowTaskTimeoutMs } : {}),
      previousCompletedEventId: c.previous_completed_event_id,
      historyLength: c.history_length,
      historySizeBytes: Number(c.history_size_bytes ?? 0),
      continueAsNewSuggested: continueAsNewSuggested(limits, c.history_length, Number(c.history_size_bytes ?? 0)),
      events: c.events,
    });
  }
  return tasks;
}
