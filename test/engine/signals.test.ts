import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PgEngine } from '../../engine/pg-engine.js';
import {
  InvalidArgumentError,
  PayloadNotSerializableError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
} from '../../engine/errors.js';
import { DEFAULT_LIMITS } from '../../engine/limits.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

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
async function start(taskQueue = 'sig-q-' + ++counter) {
  const workflowId = `sig-wf-${++counter}`;
  const { runId } = await engine.startWorkflow({ workflowId, workflowType: 'wf', taskQueue, args: [] });
  return { workflowId, runId, taskQueue };
}
async function pollOne(taskQueue: string) {
  const tasks = await engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
  expect(tasks).toHaveLength(1);
  return tasks[0]!;
}
/** Runs the first workflow task with no commands: the run then waits, with no task. */
async function startIdle() {
  const r = await start();
  const t1 = await pollOne(r.taskQueue);
  await engine.completeWorkflowTask(t1.taskToken, { commands: [], workflowTime: t1.startedAt, identity });
  return r;
}
async function history(workflowId: string, runId?: string): Promise<HistoryEvent[]> {
  return [...(await engine.getHistory({ workflowId, ...(runId ? { runId } : {}) })).events];
}
const types = (events: readonly { eventType: string }[]) => events.map((e) => e.eventType);
async function rowCounts(runId: string) {
  const { rows } = await sql<{ inbox: number; tasks: number; events: number }>`
    SELECT (SELECT count(*) FROM chronicle.workflow_inbox WHERE run_id = ${runId})::int AS inbox,
           (SELECT count(*) FROM chronicle.workflow_tasks WHERE run_id = ${runId})::int AS tasks,
           (SELECT count(*) FROM chronicle.history_events WHERE run_id = ${runId})::int AS events`.execute(t.db);
  return rows[0]!;
}

describe('signalWorkflow', () => {
  it('delivers signals to the inbox in order, then into history when the next task completes', async () => {
    const { workflowId, taskQueue } = await startIdle();
    await engine.signalWorkflow({ workflowId }, { signalName: 'add', args: [1], identity: 'client-1' });
    await engine.signalWorkflow({ workflowId }, { signalName: 'add', args: [2] });
    await engine.signalWorkflow({ workflowId }, { signalName: 'done' });

    expect(await engine.getPendingEvents({ workflowId })).toEqual([
      { eventType: 'WorkflowExecutionSignaled', attributes: { signalName: 'add', args: [1], identity: 'client-1' } },
      { eventType: 'WorkflowExecutionSignaled', attributes: { signalName: 'add', args: [2] } },
      { eventType: 'WorkflowExecutionSignaled', attributes: { signalName: 'done', args: [] } },
    ]);
    const t2 = await pollOne(taskQueue);
    expect(t2.events.map((e) => (e.attributes as { signalName: string }).signalName)).toEqual(['add', 'add', 'done']);
    await engine.completeWorkflowTask(t2.taskToken, { commands: [], workflowTime: t2.startedAt, identity });

    expect(types(await history(workflowId))).toEqual([
      'WorkflowExecutionStarted',
      'WorkflowTaskCompleted',
      'WorkflowExecutionSignaled',
      'WorkflowExecutionSignaled',
      'WorkflowExecutionSignaled',
      'WorkflowTaskCompleted',
    ]);
    expect((await history(workflowId)).slice(2, 5).map((e) => (e.attributes as { args: unknown[] }).args)).toEqual([[1], [2], []]);
    expect(await engine.getPendingEvents({ workflowId })).toEqual([]);
  });

  it('orders a signal that arrives while a task is in flight after that task, and leaves a task for it', async () => {
    const { workflowId, taskQueue } = await start();
    const t1 = await pollOne(taskQueue);
    await engine.signalWorkflow({ workflowId }, { signalName: 'late' });
    await engine.completeWorkflowTask(t1.taskToken, { commands: [], workflowTime: t1.startedAt, identity });
    expect(types(await history(workflowId))).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskCompleted']);
    const t2 = await pollOne(taskQueue);
    expect(t2.events).toEqual([{ eventType: 'WorkflowExecutionSignaled', attributes: { signalName: 'late', args: [] } }]);
    await engine.completeWorkflowTask(t2.taskToken, { commands: [{ kind: 'CompleteWorkflow', result: 'ok' }], workflowTime: t2.startedAt, identity });
    expect(types(await history(workflowId)).slice(2)).toEqual(['WorkflowExecutionSignaled', 'WorkflowExecutionCompleted', 'WorkflowTaskCompleted']);
  });

  it('refuses a closed run with WorkflowNotRunningError and writes nothing', async () => {
    const { workflowId, runId } = await startIdle();
    await engine.terminateWorkflow({ workflowId }, { reason: 'done' });
    const before = await rowCounts(runId);
    const err = await engine.signalWorkflow({ workflowId }, { signalName: 's' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowNotRunningError);
    expect(err).toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING', workflowId, runId, status: 'TERMINATED' });
    expect(await rowCounts(runId)).toEqual(before);
    expect(before).toMatchObject({ inbox: 0, tasks: 0 });
  });

  it('refuses an unknown workflow id or run id with WorkflowNotFoundError', async () => {
    await expect(engine.signalWorkflow({ workflowId: 'no-such-workflow' }, { signalName: 's' })).rejects.toBeInstanceOf(WorkflowNotFoundError);
    const { workflowId } = await startIdle();
    await expect(
      engine.signalWorkflow({ workflowId, runId: '00000000-0000-4000-8000-000000000000' }, { signalName: 's' }),
    ).rejects.toMatchObject({ code: 'CHR_WORKFLOW_NOT_FOUND' });
  });

  it('reaches the open run by workflow id, and only the named run by run id', async () => {
    const { workflowId, runId: oldRun, taskQueue } = await startIdle();
    await engine.terminateWorkflow({ workflowId });
    const { runId: newRun } = await engine.startWorkflow({ workflowId, workflowType: 'wf', taskQueue });
    await engine.signalWorkflow({ workflowId }, { signalName: 'to-current' });
    expect(await engine.getPendingEvents({ workflowId, runId: newRun })).toHaveLength(1);
    await expect(engine.signalWorkflow({ workflowId, runId: oldRun }, { signalName: 'x' })).rejects.toBeInstanceOf(WorkflowNotRunningError);
    await engine.signalWorkflow({ workflowId, runId: newRun }, { signalName: 'exact' });
    expect(types(await engine.getPendingEvents({ workflowId, runId: newRun }))).toEqual(['WorkflowExecutionSignaled', 'WorkflowExecutionSignaled']);
  });

  it('validates name, arguments and their size, naming the field; nothing is written', async () => {
    const { workflowId, runId } = await startIdle();
    await expect(engine.signalWorkflow({ workflowId }, { signalName: '' })).rejects.toMatchObject({ field: 'signalName', code: 'CHR_INVALID_ARGUMENT' });
    const notJson = await engine.signalWorkflow({ workflowId }, { signalName: 's', args: [{ f: () => 1 }] }).catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(PayloadNotSerializableError);
    expect((notJson as PayloadNotSerializableError).field).toBe('args[0]');
    const big = 'x'.repeat(DEFAULT_LIMITS.payloadMaxBytes);
    const tooBig = await engine.signalWorkflow({ workflowId }, { signalName: 's', args: [big] }).catch((e: unknown) => e);
    expect(tooBig).toBeInstanceOf(InvalidArgumentError);
    expect((tooBig as Error).message).toMatch(/^args\[0\]: is \d+ bytes as JSON; the limit is 2097152 bytes/);
    await expect(engine.signalWorkflow({ workflowId: '' }, { signalName: 's' })).rejects.toMatchObject({ field: 'workflowId' });
    expect((await rowCounts(runId)).inbox).toBe(0);
  });

  it('delivers every one of many concurrent signals exactly once, in commit order', async () => {
    const { workflowId, taskQueue } = await startIdle();
    await Promise.all(Array.from({ length: 20 }, (_, i) => engine.signalWorkflow({ workflowId }, { signalName: 'n', args: [i] })));
    const pending = await engine.getPendingEvents({ workflowId });
    expect(pending.map((e) => (e.attributes as { args: number[] }).args[0]).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const t2 = await pollOne(taskQueue);
    expect(t2.events).toEqual(pending);
  });
});

describe('signalWithStart', () => {
  it('starts a run when none is open; its first task carries the start and the signal', async () => {
    const workflowId = `sws-${++counter}`;
    const taskQueue = `sws-q-${counter}`;
    const res = await engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue, args: ['a'], signalName: 'go', signalArgs: [42], identity: 'c' });
    expect(res.started).toBe(true);
    const t1 = await pollOne(taskQueue);
    expect(t1.runId).toBe(res.runId);
    expect(t1.events).toEqual([
      expect.objectContaining({ eventType: 'WorkflowExecutionStarted', attributes: expect.objectContaining({ args: ['a'] }) }),
      { eventType: 'WorkflowExecutionSignaled', attributes: { signalName: 'go', args: [42], identity: 'c' } },
    ]);
  });

  it('signals the open run instead of starting another', async () => {
    const { workflowId, runId, taskQueue } = await startIdle();
    const res = await engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue, signalName: 'go' });
    expect(res).toEqual({ runId, started: false });
    expect(types(await engine.getPendingEvents({ workflowId }))).toEqual(['WorkflowExecutionSignaled']);
    const res2 = await engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue, signalName: 'go', workflowIdConflictPolicy: 'USE_EXISTING' });
    expect(res2).toEqual({ runId, started: false });
  });

  it('starts a new run once the previous one closed', async () => {
    const { workflowId, runId, taskQueue } = await startIdle();
    await engine.terminateWorkflow({ workflowId });
    const res = await engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue, signalName: 'again' });
    expect(res.started).toBe(true);
    expect(res.runId).not.toBe(runId);
  });

  it('replaces the open run with TERMINATE_EXISTING and signals the new one', async () => {
    const { workflowId, runId: oldRun, taskQueue } = await startIdle();
    const res = await engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue, signalName: 'fresh', workflowIdConflictPolicy: 'TERMINATE_EXISTING' });
    expect(res.started).toBe(true);
    expect(res.runId).not.toBe(oldRun);
    expect((await engine.describeWorkflow({ workflowId, runId: oldRun })).status).toBe('TERMINATED');
    expect(types(await engine.getPendingEvents({ workflowId, runId: res.runId }))).toEqual(['WorkflowExecutionSignaled']);
  });

  it('refuses conflict policy FAIL, like Temporal, and writes nothing', async () => {
    const workflowId = `sws-fail-${++counter}`;
    const err = await engine
      .signalWithStart({ workflowId, workflowType: 'wf', taskQueue: 'q', signalName: 's', workflowIdConflictPolicy: 'FAIL' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('workflowIdConflictPolicy');
    await expect(engine.describeWorkflow({ workflowId })).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('validates the signal before starting anything', async () => {
    const workflowId = `sws-bad-${++counter}`;
    await expect(engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue: 'q', signalName: '' })).rejects.toMatchObject({ field: 'signalName' });
    await expect(
      engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue: 'q', signalName: 's', signalArgs: [undefined as unknown as number, () => 1] }),
    ).rejects.toBeInstanceOf(PayloadNotSerializableError);
    await expect(engine.describeWorkflow({ workflowId })).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('creates exactly one run for concurrent callers, and delivers every signal to it', async () => {
    const workflowId = `sws-race-${++counter}`;
    const taskQueue = `sws-race-q-${counter}`;
    const n = 12;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => engine.signalWithStart({ workflowId, workflowType: 'wf', taskQueue, signalName: 'n', signalArgs: [i] })),
    );
    const runIds = new Set(results.map((r) => r.runId));
    expect(runIds.size).toBe(1);
    expect(results.filter((r) => r.started)).toHaveLength(1);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM chronicle.executions WHERE workflow_id = ${workflowId}`.execute(t.db);
    expect(rows[0]!.n).toBe(1);
    const pending = await engine.getPendingEvents({ workflowId });
    expect(pending.map((e) => (e.attributes as { args: number[] }).args[0]).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    const t1 = await pollOne(taskQueue);
    expect(types(t1.events)).toEqual(['WorkflowExecutionStarted', ...Array(n).fill('WorkflowExecutionSignaled')]);
  });
});
