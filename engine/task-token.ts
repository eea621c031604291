import { InvalidArgumentError } from './errors.js';

/**
 * Task tokens name one claim of one task: the lease id in them is what makes a late
 * completion from a worker that lost its lease detectably stale. They are opaque to users.
 */
export interface WorkflowTaskToken {
  readonly runId: string;
  readonly leaseId: string;
}

export interface ActivityTaskToken {
  readonly taskId: string;
  readonly runId: string;
  readonly leaseId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeWorkflowTaskToken(t: WorkflowTaskToken): string {
  return `w1.${t.runId}.${t.leaseId}`;
}

export function decodeWorkflowTaskToken(token: string): WorkflowTaskToken {
  const [v, runId, leaseId, extra] = String(token).split('.');
  if (v !== 'w1' || !UUID.test(runId ?? '') || !UUID.test(leaseId ?? '') || extra !== undefined) {
    throw new InvalidArgumentError('taskToken', `'${String(token).slice(0, 100)}' is not a workflow task token; pass the taskToken of a task returned by pollWorkflowTasks`);
  }
  return { runId: runId!, leaseId: leaseId! };
}

export function encodeActivityTaskToken(t: ActivityTaskToken): string {
  return `a1.${t.taskId}.${t.runId}.${t.leaseId}`;
}

export function decodeActivityTaskToken(token: string): ActivityTaskToken {
  const [v, taskId, runId, leaseId, extra] = String(token).split('.');
  if (v !== 'a1' || !/^\d{1,19}$/.test(taskId ?? '') || !UUID.test(runId ?? '') || !UUID.test(leaseId ?? '') || extra !== undefined) {
    throw new InvalidArgumentError('taskToken', `'${String(token).slice(0, 100)}' is not an activity task token; pass activityInfo().taskToken`);
  }
  return { taskId: taskId!, runId: runId!, leaseId: leaseId! };
}
