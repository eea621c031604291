import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PgEngine } from '../../engine/pg-engine.js';
import {
  InvalidArgumentError,
  PayloadNotSerializableError,
  UpdateNotFoundError,
  UpdateWaitTimeoutError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
} from '../../engine/errors.js';
import type { WorkflowCommand, WorkflowTask } from '../../engine/protocol/index.js';
import { createTestDatabase, waitUntil, type TestDatabase } from '../helpers/database.js';

let t: TestDatabase;
let engine: PgEngine;
const identity = 'test-worker';
const quietLog = { debug() {}, info() {}, warn() {}, error: (m: string, meta?: unknown) => console.error(m, meta) };

beforeAll(async () => {
  t = await createTestDatabase();
  engine = await PgEngine.connect({ databaseUrl: t.url, migrate: false, workflowTaskTimeoutMs: 2000, pollIntervalMs: 200, logger: quietLog });
});
afterAll(async ({}, suite) => {
  await engine?.close();
  await t?.drop(suite);
});

let counter = 0;
async function start() {
  const taskQueue = `upd-q-${++counter}`;
  const workflowId = `upd-wf-${counter}`;
  const { runId } = await engine.startWorkflow({ workflowId, workflowType: 'wf', taskQueue, args: [] });
  return { workflowId, runId, taskQueue };
}
async function pollOne(taskQueue: string): Promise<WorkflowTask> {
  const tasks = await engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
  expect(tasks).toHaveLength(1);
  return tasks[0]!;
}
async function complete(task: WorkflowTask, commands: WorkflowCommand[]) {
  return engine.completeWorkflowTask(task.taskToken, { commands, workflowTime: task.startedAt, identity });
}
async function startIdle() {
  const r = await start();
  await complete(await pollOne(r.taskQueue), []);
  return r;
}
const types = (events: readonly { eventType: string }[]) => events.map((e) => e.eventType);
async function updateRows(workflowId: string) {
  return t.db.selectFrom('chronicle.workflow_updates').selectAll().where('workflow_id', '=', workflowId).orderBy('created_at').execute();
}
async function inboxCount(runId: string) {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM chronicle.workflow_inbox WHERE run_id = ${runId}`.execute(t.db);
  return rows[0]!.n;
}

describe('updateWorkflow', () => {
  it('admits: a workflow_updates row at ADMITTED and an inbox event, and returns at ADMITTED when asked', async () => {
    const { workflowId, runId } = await startIdle();
    const status = await engine.updateWorkflow({ workflowId }, { updateId: 'u-1', name: 'setPrice', args: [10], identity: 'c', waitForStage: 'ADMITTED' });
    expect(status).toEqual({ updateId: 'u-1', workflowId, runId, stage: 'ADMITTED' });
    expect(await engine.getPendingEvents({ workflowId })).toEqual([
      { eventType: 'WorkflowExecutionUpdateAdmitted', attributes: { updateId: 'u-1', name: 'setPrice', args: [10], identity: 'c' } },
    ]);
    expect(await updateRows(workflowId)).toMatchObject([{ run_id: runId, update_id: 'u-1', name: 'setPrice', args: [10], stage: 'ADMITTED', outcome: null, identity: 'c' }]);
  });

  it('waits for COMPLETED through acceptance and completion by the workflow task, and returns the result', async () => {
    const { workflowId, runId, taskQueue } = await startIdle();
    const done = engine.updateWorkflow({ workflowId }, { updateId: 'u-2', name: 'add', args: [2] });
    const task = await pollOne(taskQueue);
    expect(task.events).toEqual([{ eventType: 'WorkflowExecutionUpdateAdmitted', attributes: { updateId: 'u-2', name: 'add', args: [2] } }]);
    await complete(task, [
      { kind: 'AcceptUpdate', updateId: 'u-2', name: 'add', args: [2] },
      { kind: 'CompleteUpdate', updateId: 'u-2', outcome: { result: 5 } },
    ]);
    expect(await done).toEqual({ updateId: 'u-2', workflowId, runId, stage: 'COMPLETED', outcome: { result: 5 } });
    const events = (await engine.getHistory({ workflowId })).events;
    expect(types(events)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskCompleted',
      'WorkflowExecutionUpdateAccepted',
      'WorkflowExecutionUpdateCompleted',
      'WorkflowTaskCompleted',
    ]);
    // A second request with the id gets the outcome at once, without a second update.
    expect(await engine.updateWorkflow({ workflowId }, { updateId: 'u-2', name: 'add', args: [2] })).toMatchObject({ stage: 'COMPLETED', outcome: { result: 5 } });
    expect(await updateRows(workflowId)).toHaveLength(1);
    expect(await inboxCount(runId)).toBe(0);
  });

  it('returns at ACCEPTED, and pollWorkflowUpdate waits on for COMPLETED', async () => {
    const { workflowId, taskQueue } = await startIdle();
    const accepted = engine.updateWorkflow({ workflowId }, { updateId: 'u-3', name: 'slow', waitForStage: 'ACCEPTED' });
    await complete(await pollOne(taskQueue), [{ kind: 'AcceptUpdate', updateId: 'u-3', name: 'slow', args: [] }]);
    expect(await accepted).toMatchObject({ stage: 'ACCEPTED' });
    expect((await accepted).outcome).toBeUndefined();

    const completed = engine.pollWorkflowUpdate({ workflowId }, 'u-3');
    expect(await engine.pollWorkflowUpdate({ workflowId }, 'u-3', { waitForStage: 'ADMITTED' })).toMatchObject({ stage: 'ACCEPTED' });
    await engine.signalWorkflow({ workflowId }, { signalName: 'wake' });
    await complete(await pollOne(taskQueue), [{ kind: 'CompleteUpdate', updateId: 'u-3', outcome: { result: 'finally' } }]);
    expect(await completed).toMatchObject({ updateId: 'u-3', stage: 'COMPLETED', outcome: { result: 'finally' } });
  });

  it('reports a validator rejection as COMPLETED with the failure, and writes no history for it', async () => {
    const { workflowId, taskQueue } = await startIdle();
    const done = engine.updateWorkflow({ workflowId }, { updateId: 'u-4', name: 'setPrice', args: [-1] });
    const failure = { failureType: 'application' as const, type: 'InvalidPrice', message: 'price must be positive' };
    await complete(await pollOne(taskQueue), [{ kind: 'RejectUpdate', updateId: 'u-4', failure }]);
    expect(await done).toMatchObject({ stage: 'COMPLETED', outcome: { failure } });
    expect(types((await engine.getHistory({ workflowId })).events)).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskCompleted',
      'WorkflowTaskCompleted',
    ]);
  });

  it('is idempotent by update id under concurrency: one row, one inbox event', async () => {
    const { workflowId, runId } = await startIdle();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => engine.updateWorkflow({ workflowId }, { updateId: 'same', name: 'n', waitForStage: 'ADMITTED' })),
    );
    expect(new Set(results.map((r) => `${r.runId}/${r.updateId}/${r.stage}`))).toEqual(new Set([`${runId}/same/ADMITTED`]));
    expect(await updateRows(workflowId)).toHaveLength(1);
    expect(await inboxCount(runId)).toBe(1);
  });

  it('generates an update id when none is given', async () => {
    const { workflowId } = await startIdle();
    const status = await engine.updateWorkflow({ workflowId }, { name: 'n', waitForStage: 'ADMITTED' });
    expect(status.updateId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a closed run (WorkflowNotRunningError) and an unknown workflow, writing nothing', async () => {
    const { workflowId, runId } = await startIdle();
    await engine.terminateWorkflow({ workflowId });
    await expect(engine.updateWorkflow({ workflowId }, { updateId: 'x', name: 'n' })).rejects.toBeInstanceOf(WorkflowNotRunningError);
    await expect(engine.updateWorkflow({ workflowId: 'no-such' }, { name: 'n' })).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await updateRows(workflowId)).toEqual([]);
    expect(await inboxCount(runId)).toBe(0);
  });

  it('completes an unfinished update with a failure when the run closes, waking the caller', async () => {
    const { workflowId, taskQueue } = await startIdle();
    const waiting = engine.updateWorkflow({ workflowId }, { updateId: 'u-5', name: 'n' });
    await complete(await pollOne(taskQueue), [{ kind: 'AcceptUpdate', updateId: 'u-5', name: 'n', args: [] }]);
    await waitUntil(async () => (await updateRows(workflowId))[0]?.stage === 'ACCEPTED', { message: 'accepted' });
    await engine.terminateWorkflow({ workflowId }, { reason: 'stop' });
    expect(await waiting).toMatchObject({ stage: 'COMPLETED', outcome: { failure: { type: 'AcceptedUpdateCompletedWorkflow' } } });
  });

  it('gives up waiting after timeoutMs with UpdateWaitTimeoutError; the update goes on', async () => {
    const { workflowId, runId } = await startIdle();
    const began = Date.now();
    const err = await engine.updateWorkflow({ workflowId }, { updateId: 'u-6', name: 'n', timeoutMs: 250 }).catch((e: unknown) => e);
    expect(Date.now() - began).toBeGreaterThanOrEqual(240);
    expect(err).toBeInstanceOf(UpdateWaitTimeoutError);
    expect(err).toMatchObject({ code: 'CHR_UPDATE_WAIT_TIMEOUT', workflowId, runId, updateId: 'u-6', stage: 'ADMITTED', waitedFor: 'COMPLETED' });
    expect((err as Error).message).toMatch(/is ADMITTED, not yet COMPLETED, after 250 ms; it goes on: wait again with pollWorkflowUpdate/);
    expect(await engine.pollWorkflowUpdate({ workflowId }, 'u-6', { waitForStage: 'ADMITTED' })).toMatchObject({ stage: 'ADMITTED' });
  });

  it('stops waiting on abort with the signal reason', async () => {
    const { workflowId } = await startIdle();
    const ac = new AbortController();
    const waiting = engine.updateWorkflow({ workflowId }, { updateId: 'u-7', name: 'n', signal: ac.signal }).catch((e: unknown) => e);
    await waitUntil(async () => (await updateRows(workflowId)).length === 1, { message: 'admitted' });
    ac.abort(new Error('no longer interested'));
    expect(await waiting).toMatchObject({ message: 'no longer interested' });
  });

  it('validates its input, naming the field, and writes nothing', async () => {
    const { workflowId, runId } = await startIdle();
    await expect(engine.updateWorkflow({ workflowId }, { name: '' })).rejects.toMatchObject({ field: 'name' });
    await expect(engine.updateWorkflow({ workflowId }, { name: 'n', updateId: '' })).rejects.toMatchObject({ field: 'updateId' });
    await expect(engine.updateWorkflow({ workflowId }, { name: 'n', waitForStage: 'DONE' as never })).rejects.toMatchObject({ field: 'waitForStage' });
    await expect(engine.updateWorkflow({ workflowId }, { name: 'n', timeoutMs: -5 })).rejects.toMatchObject({ field: 'timeoutMs' });
    await expect(engine.updateWorkflow({ workflowId }, { name: 'n', args: [new Map()] })).rejects.toBeInstanceOf(PayloadNotSerializableError);
    expect(await updateRows(workflowId)).toEqual([]);
    expect(await inboxCount(runId)).toBe(0);
  });
});

describe('pollWorkflowUpdate', () => {
  it('throws UpdateNotFoundError for an unknown id', async () => {
    const { workflowId } = await startIdle();
    const err = await engine.pollWorkflowUpdate({ workflowId }, 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpdateNotFoundError);
    expect(err).toMatchObject({ code: 'CHR_UPDATE_NOT_FOUND', workflowId, updateId: 'nope' });
  });

  it('finds an update of an earlier run of the workflow id', async () => {
    const { workflowId, runId, taskQueue } = await startIdle();
    await engine.updateWorkflow({ workflowId }, { updateId: 'old', name: 'n', waitForStage: 'ADMITTED' });
    await engine.terminateWorkflow({ workflowId });
    await engine.startWorkflow({ workflowId, workflowType: 'wf', taskQueue });
    expect(await engine.pollWorkflowUpdate({ workflowId }, 'old')).toMatchObject({ runId, stage: 'COMPLETED' });
    expect(await engine.pollWorkflowUpdate({ workflowId, runId }, 'old')).toMatchObject({ runId });
  });
});

describe('updateWithStart', () => {
  it('starts the run and admits the update in one transaction; the first task carries both', async () => {
    const workflowId = `uws-${++counter}`;
    const taskQueue = `uws-q-${counter}`;
    const res = await engine.updateWithStart({
      start: { workflowId, workflowType: 'wf', taskQueue, args: [1], workflowIdConflictPolicy: 'USE_EXISTING' },
      update: { updateId: 'first', name: 'init', args: ['x'], waitForStage: 'ADMITTED' },
    });
    expect(res).toMatchObject({ started: true, update: { updateId: 'first', stage: 'ADMITTED', workflowId } });
    expect(res.update.runId).toBe(res.runId);
    const task = await pollOne(taskQueue);
    expect(types(task.events)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionUpdateAdmitted']);
    await complete(task, [
      { kind: 'AcceptUpdate', updateId: 'first', name: 'init', args: ['x'] },
      { kind: 'CompleteUpdate', updateId: 'first', outcome: { result: 'ok' } },
    ]);
    expect(await engine.pollWorkflowUpdate({ workflowId }, 'first')).toMatchObject({ stage: 'COMPLETED', outcome: { result: 'ok' } });
  });

  it('admits the update to the open run with USE_EXISTING; fails with FAIL (writing nothing)', async () => {
    const { workflowId, runId, taskQueue } = await startIdle();
    const res = await engine.updateWithStart({
      start: { workflowId, workflowType: 'wf', taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' },
      update: { updateId: 'a', name: 'n', waitForStage: 'ADMITTED' },
    });
    expect(res).toMatchObject({ runId, started: false, update: { runId, stage: 'ADMITTED' } });
    const err = await engine
      .updateWithStart({ start: { workflowId, workflowType: 'wf', taskQueue, workflowIdConflictPolicy: 'FAIL' }, update: { updateId: 'b', name: 'n' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect((await updateRows(workflowId)).map((r) => r.update_id)).toEqual(['a']);
    // A retried request (same update id) gets the first one's update whatever the policy.
    const again = await engine.updateWithStart({
      start: { workflowId, workflowType: 'wf', taskQueue, workflowIdConflictPolicy: 'FAIL' },
      update: { updateId: 'a', name: 'n', waitForStage: 'ADMITTED' },
    });
    expect(again).toMatchObject({ runId, started: false, update: { updateId: 'a' } });
  });

  it('refuses TERMINATE_EXISTING and TERMINATE_IF_RUNNING', async () => {
    const workflowId = `uws-bad-${++counter}`;
    const bad = await engine
      .updateWithStart({ start: { workflowId, workflowType: 'wf', taskQueue: 'q', workflowIdConflictPolicy: 'TERMINATE_EXISTING' }, update: { name: 'n' } })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect(bad).toMatchObject({ field: 'start.workflowIdConflictPolicy' });
    await expect(
      engine.updateWithStart({ start: { workflowId, workflowType: 'wf', taskQueue: 'q', workflowIdReusePolicy: 'TERMINATE_IF_RUNNING' }, update: { name: 'n' } }),
    ).rejects.toMatchObject({ field: 'start.workflowIdReusePolicy' });
    await expect(engine.updateWithStart({ start: { workflowId, workflowType: 'wf', taskQueue: 'q' }, update: { name: '' } })).rejects.toMatchObject({
      field: 'update.name',
    });
    await expect(engine.describeWorkflow({ workflowId })).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('creates exactly one run for concurrent callers and admits every update to it', async () => {
    const workflowId = `uws-race-${++counter}`;
    const taskQueue = `uws-race-q-${counter}`;
    const n = 10;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        engine.updateWithStart({
          start: { workflowId, workflowType: 'wf', taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' },
          update: { updateId: `u${i}`, name: 'n', args: [i], waitForStage: 'ADMITTED' },
        }),
      ),
    );
    expect(new Set(results.map((r) => r.runId)).size).toBe(1);
    expect(results.filter((r) => r.started)).toHaveLength(1);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM chronicle.executions WHERE workflow_id = ${workflowId}`.execute(t.db);
    expect(rows[0]!.n).toBe(1);
    expect((await updateRows(workflowId)).map((r) => r.update_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `u${i}`).sort());
    const task = await pollOne(taskQueue);
    expect(types(task.events)).toEqual(['WorkflowExecutionStarted', ...Array(n).fill('WorkflowExecutionUpdateAdmitted')]);
  });

  it('with FAIL, concurrent callers get one run; the others fail and admit nothing', async () => {
    const workflowId = `uws-fail-race-${++counter}`;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        engine.updateWithStart({
          start: { workflowId, workflowType: 'wf', taskQueue: 'q-fail-race', workflowIdConflictPolicy: 'FAIL' },
          update: { updateId: `u${i}`, name: 'n', waitForStage: 'ADMITTED' },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await updateRows(workflowId)).toHaveLength(1);
  });
});
