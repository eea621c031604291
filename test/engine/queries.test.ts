import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import { PgEngine } from '../../engine/pg-engine.js';
import { InvalidArgumentError, QueryFailedError, QueryTimeoutError, WorkflowNotFoundError } from '../../engine/errors.js';
import { Notifier } from '../../engine/notifier.js';
import { claimQueryTasks, reapQueryTasks } from '../../engine/queries.js';
import type { QueryTask } from '../../engine/protocol/index.js';
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
  const taskQueue = `qry-q-${++counter}`;
  const workflowId = `qry-wf-${counter}`;
  const { runId } = await engine.startWorkflow({ workflowId, workflowType: 'counter', taskQueue, args: [] });
  return { workflowId, runId, taskQueue };
}
async function completeFirstTask(taskQueue: string) {
  const [task] = await engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
  await engine.completeWorkflowTask(task!.taskToken, { commands: [], workflowTime: task!.startedAt, identity });
}
async function pollQueries(taskQueue: string, waitMs = 5000, maxTasks = 10): Promise<QueryTask[]> {
  return engine.pollQueryTasks({ taskQueue, maxTasks, identity, waitMs });
}
async function queryRows() {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM chronicle.query_tasks`.execute(t.db);
  return rows[0]!.n;
}

describe('queryWorkflow / pollQueryTasks / respondQueryTask', () => {
  it('is answered by a worker through pollQueryTasks and respondQueryTask; the row is gone after', async () => {
    const { workflowId, runId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'count', args: [1, 'x'] });
    const [q] = await pollQueries(taskQueue);
    expect(q).toMatchObject({ namespace: 'default', workflowId, runId, workflowType: 'counter', taskQueue, queryType: 'count', args: [1, 'x'] });
    expect(q!.taskToken).toMatch(/^q1\./);
    await engine.respondQueryTask(q!.taskToken, { result: { n: 3 } });
    expect(await answer).toEqual({ n: 3 });
    expect(await queryRows()).toBe(0);
    // Nothing about a query reaches history.
    expect((await engine.getHistory({ workflowId })).events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskCompleted']);
  });

  it('waits for the first workflow task to complete before a worker can claim it (queries right after start)', async () => {
    const { workflowId, taskQueue } = await start();
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'state', timeoutMs: 10_000 });
    await waitUntil(async () => (await queryRows()) === 1, { message: 'query row inserted' });
    expect(await pollQueries(taskQueue, 300)).toEqual([]);
    await completeFirstTask(taskQueue);
    const [q] = await pollQueries(taskQueue);
    expect(q!.queryType).toBe('state');
    await engine.respondQueryTask(q!.taskToken, { result: 'ready' });
    expect(await answer).toBe('ready');
  });

  it('wakes a long-polling worker when the first task completes, not only on its fallback interval', async () => {
    const slow = await PgEngine.connect({ databaseUrl: t.url, migrate: false, pollIntervalMs: 30_000, logger: quietLog });
    try {
      const { workflowId, taskQueue } = await start();
      const answer = slow.queryWorkflow({ workflowId }, { queryType: 'state', timeoutMs: 10_000 });
      const polled = slow.pollQueryTasks({ taskQueue, maxTasks: 1, identity, waitMs: 20_000 });
      await waitUntil(async () => (await queryRows()) === 1, { message: 'query row inserted' });
      const began = Date.now();
      await completeFirstTask(taskQueue);
      const [q] = await polled;
      expect(Date.now() - began).toBeLessThan(5000);
      await slow.respondQueryTask(q!.taskToken, { result: 1 });
      expect(await answer).toBe(1);
    } finally {
      await slow.close();
    }
  });

  it('returns an undefined result as undefined', async () => {
    const { workflowId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'nothing' });
    const [q] = await pollQueries(taskQueue);
    await engine.respondQueryTask(q!.taskToken, { result: undefined });
    expect(await answer).toBeUndefined();
  });

  it('answers queries of a closed run', async () => {
    const { workflowId, taskQueue } = await start();
    await engine.terminateWorkflow({ workflowId });
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'final' });
    const [q] = await pollQueries(taskQueue);
    await engine.respondQueryTask(q!.taskToken, { result: 'closed-state' });
    expect(await answer).toBe('closed-state');
  });

  it('rejects with QueryFailedError carrying the worker failure', async () => {
    const { workflowId, runId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'nope' }).catch((e: unknown) => e);
    const [q] = await pollQueries(taskQueue);
    const failure = { failureType: 'application' as const, type: 'QueryNotRegisteredError', message: "Workflow did not register a handler for nope. Registered queries: [count]" };
    await engine.respondQueryTask(q!.taskToken, { failure });
    const err = await answer;
    expect(err).toBeInstanceOf(QueryFailedError);
    expect(err).toMatchObject({ code: 'CHR_QUERY_FAILED', workflowId, runId, queryType: 'nope', failure });
    expect((err as Error).message).toBe(`Query 'nope' of workflow '${workflowId}' (run ${runId}) failed: ${failure.message}`);
    expect(await queryRows()).toBe(0);
  });

  it('times out clearly when no worker answers, and leaves nothing behind', async () => {
    const { workflowId, runId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const began = Date.now();
    const err = await engine.queryWorkflow({ workflowId }, { queryType: 'q', timeoutMs: 300 }).catch((e: unknown) => e);
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect(err).toMatchObject({ code: 'CHR_QUERY_TIMEOUT', workflowId, runId, taskQueue, timeoutMs: 300 });
    expect((err as Error).message).toBe(
      `Query 'q' of workflow '${workflowId}' (run ${runId}): no worker of task queue '${taskQueue}' answered within 300 ms; is a worker running for that task queue?`,
    );
    expect(await queryRows()).toBe(0);
  });

  it('says so when the run never completed its first task', async () => {
    const { workflowId, taskQueue } = await start();
    const err = await engine.queryWorkflow({ workflowId }, { queryType: 'q', timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryTimeoutError);
    expect((err as Error).message).toContain(
      `The run has not completed its first workflow task yet, so its query handlers are not registered: check that a worker polls task queue '${taskQueue}' and runs workflow type 'counter'.`,
    );
  });

  it('stops waiting on abort, with the signal reason, and deletes the query', async () => {
    const { workflowId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const ac = new AbortController();
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'q', signal: ac.signal }).catch((e: unknown) => e);
    await waitUntil(async () => (await queryRows()) === 1, { message: 'query row inserted' });
    ac.abort(new Error('caller gave up'));
    expect(await answer).toMatchObject({ message: 'caller gave up' });
    expect(await queryRows()).toBe(0);
    // An answer that arrives after the caller left is ignored.
    expect(await pollQueries(taskQueue, 200)).toEqual([]);
  });

  it('ignores an answer for an unknown or already answered query, and refuses a malformed token', async () => {
    await expect(engine.respondQueryTask(`q1.${randomUUID()}`, { result: 1 })).resolves.toBeUndefined();
    const err = await engine.respondQueryTask('w1.not-a-query', { result: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toMatchObject({ field: 'taskToken' });

    const { workflowId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'q' });
    const [q] = await pollQueries(taskQueue);
    await engine.respondQueryTask(q!.taskToken, { result: 'first' });
    await engine.respondQueryTask(q!.taskToken, { result: 'second' });
    expect(await answer).toBe('first');
  });

  it('answers a result that cannot be returned as a failure, and tells the worker too', async () => {
    const { workflowId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'q' }).catch((e: unknown) => e);
    const [q] = await pollQueries(taskQueue);
    const big = 'x'.repeat(engine.limits.payloadMaxBytes);
    await expect(engine.respondQueryTask(q!.taskToken, { result: big })).rejects.toMatchObject({ field: 'outcome.result' });
    const err = await answer;
    expect(err).toBeInstanceOf(QueryFailedError);
    expect((err as QueryFailedError).failure).toMatchObject({ failureType: 'application', type: 'CHR_INVALID_ARGUMENT' });
    expect((err as Error).message).toMatch(/the query handler's result cannot be returned: outcome.result: is \d+ bytes as JSON/);
  });

  it('gives a query whose worker lost its lease to another worker after the reaper ran', async () => {
    const { workflowId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answer = engine.queryWorkflow({ workflowId }, { queryType: 'q', timeoutMs: 10_000 });
    const [lost] = await pollQueries(taskQueue);
    expect(await pollQueries(taskQueue, 100)).toEqual([]);
    // The lease is 10 s; move it into the past instead of waiting.
    await sql`UPDATE chronicle.query_tasks SET lease_expires_at = now() - interval '1 second'`.execute(t.db);
    const notifier = new Notifier(t.db, quietLog);
    expect(await reapQueryTasks(t.db, notifier)).toEqual({ requeued: 1, deleted: 0 });
    await notifier.drain();
    const [again] = await pollQueries(taskQueue);
    expect(again!.taskToken).toBe(lost!.taskToken);
    await engine.respondQueryTask(again!.taskToken, { result: 'second worker' });
    expect(await answer).toBe('second worker');
  });

  it('reaps rows whose caller vanished once they expired', async () => {
    const { runId, taskQueue } = await start();
    await sql`
      INSERT INTO chronicle.query_tasks (id, namespace, task_queue, run_id, query_type, args, expires_at)
      VALUES (${randomUUID()}, 'default', ${taskQueue}, ${runId}, 'q', '[]', now() - interval '1 minute'),
             (${randomUUID()}, 'default', ${taskQueue}, ${runId}, 'q', '[]', now() + interval '1 minute')`.execute(t.db);
    const notifier = new Notifier(t.db, quietLog);
    expect(await reapQueryTasks(t.db, notifier)).toEqual({ requeued: 0, deleted: 1 });
    expect(await queryRows()).toBe(1);
    await sql`DELETE FROM chronicle.query_tasks`.execute(t.db);
  });

  it('lets concurrent pollers claim disjoint queries', async () => {
    const { workflowId, taskQueue } = await start();
    await completeFirstTask(taskQueue);
    const answers = Array.from({ length: 6 }, (_, i) => engine.queryWorkflow({ workflowId }, { queryType: `q${i}` }));
    await waitUntil(async () => (await queryRows()) === 6, { message: 'six query rows' });
    const claims = await Promise.all(Array.from({ length: 4 }, () => claimQueryTasks(t.db, 'default', taskQueue, 2)));
    const claimed = claims.flat();
    expect(new Set(claimed.map((q) => q.taskToken)).size).toBe(claimed.length);
    expect(claimed.length).toBe(6);
    await Promise.all(claimed.map((q) => engine.respondQueryTask(q.taskToken, { result: q.queryType })));
    expect(await Promise.all(answers)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5']);
  });

  it('validates its input and names the field', async () => {
    const { workflowId } = await start();
    await expect(engine.queryWorkflow({ workflowId }, { queryType: '' })).rejects.toMatchObject({ field: 'queryType' });
    await expect(engine.queryWorkflow({ workflowId }, { queryType: 'q', timeoutMs: 0 })).rejects.toMatchObject({ field: 'timeoutMs' });
    await expect(engine.queryWorkflow({ workflowId }, { queryType: 'q', args: [() => 1] })).rejects.toMatchObject({ field: 'args[0]' });
    await expect(engine.queryWorkflow({ workflowId: 'missing' }, { queryType: 'q' })).rejects.toBeInstanceOf(WorkflowNotFoundError);
    await expect(engine.pollQueryTasks({ taskQueue: '', maxTasks: 1, identity })).rejects.toMatchObject({ field: 'taskQueue' });
    await expect(engine.pollQueryTasks({ taskQueue: 'q', maxTasks: 0, identity })).rejects.toMatchObject({ field: 'maxTasks' });
    await expect(engine.respondQueryTask(`q1.${randomUUID()}`, {} as never)).rejects.toMatchObject({ field: 'outcome' });
    expect(await queryRows()).toBe(0);
  });
});
