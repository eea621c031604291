/**
 * Races between closes of related runs, made deterministic by holding row locks from a
 * separate connection and releasing them once the racing transactions are queued.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlockRetryCount } from '../../engine/deadlock-retry.js';
import { defaultLimits, historyLimitsJson } from '../../engine/limits.js';
import type { ParentClosePolicy, WorkflowCommand, WorkflowTask } from '../../engine/protocol/index.js';
import { decodeWorkflowTaskToken } from '../../engine/task-token.js';
import { prepareCommands } from '../../engine/workflow-commands.js';
import { waitUntil } from '../helpers/database.js';
import { drivenEngine, Driver, identity, status, unique, type Driven } from './engine-driver.js';

let d: Driven;
let w: Driver;
beforeAll(async () => {
  d = await drivenEngine();
  w = new Driver(d.engine);
});
afterAll(async () => d?.close());

const startChild = (seq: number, workflowId: string, taskQueue: string, parentClosePolicy: ParentClosePolicy): WorkflowCommand => ({
  kind: 'StartChildWorkflow',
  seq,
  workflowId,
  workflowType: 'child',
  taskQueue,
  args: [],
  parentClosePolicy,
  cancellationType: 'ABANDON',
});

async function parentWithChild(policy: ParentClosePolicy) {
  const parent = await w.start();
  const child = { workflowId: unique('child'), taskQueue: unique('cq') };
  await w.step(parent.taskQueue, [startChild(1, child.workflowId, child.taskQueue, policy)]);
  const started = await w.poll(parent.taskQueue);
  await w.complete(started, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
  const childRunId = (started.events[0]!.attributes as { runId: string }).runId;
  return { parent, child: { ...child, runId: childRunId } };
}

/** Sessions of this test database waiting for a lock. */
async function lockWaiters(): Promise<number> {
  const { rows } = await d.t.pool.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0].n;
}

/** Completes a claimed workflow task inside `client`'s open transaction (not committed). */
async function completeInTransaction(client: pg.PoolClient, task: WorkflowTask, commands: WorkflowCommand[]): Promise<void> {
  const { runId, leaseId } = decodeWorkflowTaskToken(task.taskToken);
  const c = prepareCommands(commands, { limits: defaultLimits() });
  await client.query(
    `SELECT * FROM chronicle.complete_workflow_task($1::uuid, $2::uuid, $3, $4::bigint, $5::jsonb, $6::jsonb, $7::jsonb, $8::int[], $9::jsonb, 0, $10::jsonb, $11::jsonb)`,
    [runId, leaseId, identity, task.startedAt, c.commandEvents, c.activities, c.timers, c.canceledTimers, c.close, c.effects, historyLimitsJson(defaultLimits())],
  );
}

describe('parent close policy vs a child continuing as new at the same instant', () => {
  it('TERMINATE reaches the child run that continue-as-new started while the parent waited for the child’s lock', async () => {
    const { parent, child } = await parentWithChild('TERMINATE');
    const childTask = await w.poll(child.taskQueue);
    const client = await d.t.pool.connect();
    try {
      // The child continues as new in a transaction that has not committed yet…
      await client.query('BEGIN');
      await completeInTransaction(client, childTask, [{ kind: 'ContinueAsNew', args: ['next'] }]);
      // …while its parent is terminated: the parent's close waits for the child's row lock.
      const before = await lockWaiters();
      const terminating = d.engine.terminateWorkflow({ workflowId: parent.workflowId });
      await waitUntil(async () => (await lockWaiters()) > before, { timeoutMs: 10_000 });
      await client.query('COMMIT');
      await terminating;
    } finally {
      client.release();
    }
    expect(await status(d.t, parent.runId)).toBe('TERMINATED');
    expect(await status(d.t, child.runId)).toBe('CONTINUED_AS_NEW');
    // The child's chain must not outlive its parent (policy TERMINATE).
    const described = await d.engine.describeWorkflow({ workflowId: child.workflowId });
    expect(described.runId).not.toBe(child.runId);
    expect(described.status).toBe('TERMINATED');
  });
});

describe('lock order: a start with TERMINATE_EXISTING on a child’s workflow id', () => {
  it('does not deadlock with the child’s parent closing at the same instant', async () => {
    const { parent, child } = await parentWithChild('TERMINATE');
    const holder = await d.t.pool.connect();
    const deadlocksBefore = deadlockRetryCount();
    try {
      // Hold the parent's row so that both racers queue behind us: first the parent's
      // terminate (which then locks its children), then the start (which terminates the child).
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM chronicle.executions WHERE run_id = $1 FOR NO KEY UPDATE`, [parent.runId]);
      const w0 = await lockWaiters();
      const terminating = d.engine.terminateWorkflow({ workflowId: parent.workflowId });
      await waitUntil(async () => (await lockWaiters()) > w0, { timeoutMs: 10_000 });
      const w1 = await lockWaiters();
      const starting = d.engine.startWorkflow({
        workflowId: child.workflowId,
        workflowType: 'child',
        taskQueue: child.taskQueue,
        args: [],
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      });
      await waitUntil(async () => (await lockWaiters()) > w1, { timeoutMs: 10_000 }).catch(() => undefined);
      await holder.query('COMMIT');
      await Promise.all([terminating, starting]);
    } finally {
      holder.release();
    }
    expect(await status(d.t, parent.runId)).toBe('TERMINATED');
    expect(await status(d.t, child.runId)).toBe('TERMINATED');
    expect((await d.engine.describeWorkflow({ workflowId: child.workflowId })).status).toBe('RUNNING');
    expect(deadlockRetryCount() - deadlocksBefore, 'deadlocks detected and retried').toBe(0);
    await d.engine.terminateWorkflow({ workflowId: child.workflowId });
  });
});

describe('a completion over the history limit', () => {
  // REPORTED, NOT FIXED: chronicle.complete_workflow_task locks a run's parent first only for
  // a closing (non continue-as-new) batch; a batch that the history limit turns into a
  // termination locks the parent after the child (record_workflow_task → apply_run_close),
  // against the lock order, and deadlocks with the parent's close (Postgres breaks it after
  // deadlock_timeout; retryOnDeadlock retries). `it.fails` until that is fixed.
  it.fails('terminates a child run without deadlocking with its parent closing at the same instant', async () => {
    // Limits low enough that the child's next (non-closing) batch exceeds them.
    const small = await drivenEngine({ limits: { historyLengthWarn: 3, historyLengthMax: 6 } });
    const sw = new Driver(small.engine);
    const deadlocksBefore = deadlockRetryCount();
    try {
      const parent = await sw.start();
      const child = { workflowId: unique('child'), taskQueue: unique('cq') };
      await sw.step(parent.taskQueue, [startChild(1, child.workflowId, child.taskQueue, 'TERMINATE')]);
      const childTask = await sw.poll(child.taskQueue);
      const holder = await small.t.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM chronicle.executions WHERE run_id = $1 FOR NO KEY UPDATE`, [parent.runId]);
        const waiters = async () =>
          (await small.t.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n as number;
        const w0 = await waiters();
        const terminating = small.engine.terminateWorkflow({ workflowId: parent.workflowId });
        await waitUntil(async () => (await waiters()) > w0, { timeoutMs: 10_000 });
        const w1 = await waiters();
        // Eight timers: past historyLengthMax, so the child is terminated by the limit.
        const timers: WorkflowCommand[] = Array.from({ length: 8 }, (_, i) => ({ kind: 'StartTimer', seq: i + 1, durationMs: 600_000 }));
        const completing = sw.complete(childTask, timers).catch((e: Error) => e);
        await waitUntil(async () => (await waiters()) > w1, { timeoutMs: 10_000 }).catch(() => undefined);
        await holder.query('COMMIT');
        await Promise.all([terminating, completing]);
      } finally {
        holder.release();
      }
      const childRun = await small.engine.describeWorkflow({ workflowId: child.workflowId });
      expect(childRun.status).toBe('TERMINATED');
      expect(deadlockRetryCount() - deadlocksBefore, 'deadlocks detected and retried').toBe(0);
    } finally {
      await small.close();
    }
  });
});


describe('operator requests by workflow id vs continue-as-new at the same instant', () => {
  for (const op of ['terminate', 'cancel'] as const) {
    it(`${op} by workflow id reaches the run that continue-as-new started while it waited`, async () => {
      const { workflowId, taskQueue } = await w.start();
      const task = await w.poll(taskQueue);
      const client = await d.t.pool.connect();
      let result: unknown;
      try {
        await client.query('BEGIN');
        await completeInTransaction(client, task, [{ kind: 'ContinueAsNew', args: [] }]);
        const before = await lockWaiters();
        const request =
          op === 'terminate'
            ? d.engine.terminateWorkflow({ workflowId }, { reason: 'operator' })
            : d.engine.requestCancelWorkflow({ workflowId }, { reason: 'operator' });
        const settled = request.then(
          () => 'ok',
          (e: Error) => e,
        );
        await waitUntil(async () => (await lockWaiters()) > before, { timeoutMs: 10_000 });
        await client.query('COMMIT');
        result = await settled;
      } finally {
        client.release();
      }
      expect(result).toBe('ok');
      const current = await d.engine.describeWorkflow({ workflowId });
      if (op === 'terminate') expect(current.status).toBe('TERMINATED');
      else {
        expect(current.pendingEventCount).toBe(1);
        await d.engine.terminateWorkflow({ workflowId });
      }
    });
  }
});
