/** Starting runs: id conflict and reuse policies, concurrent starters, search attributes, memo, timeouts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, WorkflowExecutionAlreadyStartedError } from '../../engine/errors.js';
import type { StartWorkflowRequest } from '../../engine/engine.js';
import { startExecution } from '../../engine/executions.js';
import { addSearchAttributes, getSearchAttributeTypes } from '../../engine/search-attributes.js';
import { complete, drivenEngine, Driver, only, status, unique, type Driven } from './engine-driver.js';

let d: Driven;
let w: Driver;
beforeAll(async () => {
  d = await drivenEngine();
  w = new Driver(d.engine);
});
afterAll(async () => d?.close());

const req = (workflowId: string, over: Partial<StartWorkflowRequest> = {}): StartWorkflowRequest => ({
  workflowId,
  workflowType: 'wf',
  taskQueue: 'policies',
  args: [],
  ...over,
});

async function runsOf(workflowId: string): Promise<{ run_id: string; status: string }[]> {
  const { rows } = await d.t.pool.query(`SELECT run_id, status FROM chronicle.executions WHERE workflow_id = $1 ORDER BY started_at`, [workflowId]);
  return rows;
}

/** Starts a run of `id` and closes it with `how`. */
async function closedRun(id: string, how: 'COMPLETED' | 'FAILED' | 'TERMINATED'): Promise<string> {
  const taskQueue = unique('q');
  const { runId } = await d.engine.startWorkflow(req(id, { taskQueue }));
  if (how === 'TERMINATED') await d.engine.terminateWorkflow({ workflowId: id });
  else await w.step(taskQueue, [how === 'COMPLETED' ? complete() : { kind: 'FailWorkflow', failure: { failureType: 'application', message: 'x' } }]);
  return runId;
}

describe('workflowIdConflictPolicy (a run of the id is open)', () => {
  it('FAIL (default) refuses with WorkflowExecutionAlreadyStartedError naming the open run', async () => {
    const id = unique('fail');
    const { runId, started } = await d.engine.startWorkflow(req(id));
    expect(started).toBe(true);
    await expect(d.engine.startWorkflow(req(id))).rejects.toMatchObject({ code: 'CHR_WORKFLOW_ALREADY_STARTED', runId });
    await expect(d.engine.startWorkflow(req(id, { workflowIdConflictPolicy: 'FAIL' }))).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await runsOf(id)).toHaveLength(1);
  });

  it('USE_EXISTING returns the open run, started: false', async () => {
    const id = unique('use');
    const first = await d.engine.startWorkflow(req(id));
    expect(await d.engine.startWorkflow(req(id, { workflowIdConflictPolicy: 'USE_EXISTING' }))).toEqual({ runId: first.runId, started: false });
    expect(await runsOf(id)).toHaveLength(1);
  });

  it('TERMINATE_EXISTING (and legacy TERMINATE_IF_RUNNING) terminates the open run and starts a new one', async () => {
    const id = unique('term');
    const first = await d.engine.startWorkflow(req(id));
    const second = await d.engine.startWorkflow(req(id, { workflowIdConflictPolicy: 'TERMINATE_EXISTING', identity: 'starter' }));
    expect(second.started).toBe(true);
    expect(second.runId).not.toBe(first.runId);
    expect(only(await w.history({ workflowId: id, runId: first.runId }), 'WorkflowExecutionTerminated')).toEqual({
      reason: expect.stringContaining('TERMINATE_EXISTING'),
      identity: 'starter',
    });
    const third = await d.engine.startWorkflow(req(id, { workflowIdReusePolicy: 'TERMINATE_IF_RUNNING' }));
    expect((await runsOf(id)).map((r) => [r.run_id, r.status])).toEqual([
      [first.runId, 'TERMINATED'],
      [second.runId, 'TERMINATED'],
      [third.runId, 'RUNNING'],
    ]);
  });

  it('refuses contradictory or unknown policies, writing nothing', async () => {
    const id = unique('bad');
    await expect(d.engine.startWorkflow(req(id, { workflowIdReusePolicy: 'TERMINATE_IF_RUNNING', workflowIdConflictPolicy: 'FAIL' }))).rejects.toMatchObject({
      field: 'workflowIdReusePolicy',
    });
    await expect(d.engine.startWorkflow(req(id, { workflowIdConflictPolicy: 'NOPE' as never }))).rejects.toMatchObject({ field: 'workflowIdConflictPolicy' });
    await expect(d.engine.startWorkflow(req(id, { workflowIdReusePolicy: 'NOPE' as never }))).rejects.toMatchObject({ field: 'workflowIdReusePolicy' });
    expect(await runsOf(id)).toHaveLength(0);
  });
});

describe('workflowIdReusePolicy (no run of the id is open)', () => {
  it('ALLOW_DUPLICATE (default) starts after any close', async () => {
    const id = unique('dup');
    await closedRun(id, 'COMPLETED');
    expect((await d.engine.startWorkflow(req(id))).started).toBe(true);
  });

  it('REJECT_DUPLICATE refuses once any run had the id', async () => {
    const id = unique('reject');
    expect((await d.engine.startWorkflow(req(id, { workflowIdReusePolicy: 'REJECT_DUPLICATE', taskQueue: 'rq' }))).started).toBe(true);
    await d.engine.terminateWorkflow({ workflowId: id });
    const refused = d.engine.startWorkflow(req(id, { workflowIdReusePolicy: 'REJECT_DUPLICATE' }));
    await expect(refused).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    await expect(refused).rejects.toMatchObject({ message: expect.stringContaining('REJECT_DUPLICATE') });
    expect(await runsOf(id)).toHaveLength(1);
  });

  it('ALLOW_DUPLICATE_FAILED_ONLY refuses after a COMPLETED run, allows after a failed or terminated one', async () => {
    const done = unique('failed-only');
    await closedRun(done, 'COMPLETED');
    await expect(d.engine.startWorkflow(req(done, { workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' }))).rejects.toMatchObject({
      code: 'CHR_WORKFLOW_ALREADY_STARTED',
      message: expect.stringContaining('COMPLETED'),
    });
    const failed = unique('failed-only');
    await closedRun(failed, 'FAILED');
    expect((await d.engine.startWorkflow(req(failed, { workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' }))).started).toBe(true);
    const terminated = unique('failed-only');
    await closedRun(terminated, 'TERMINATED');
    expect((await d.engine.startWorkflow(req(terminated, { workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' }))).started).toBe(true);
  });
});

describe('concurrent starters of one workflow id', () => {
  it.each([
    ['FAIL', {}],
    ['USE_EXISTING', { workflowIdConflictPolicy: 'USE_EXISTING' }],
    ['REJECT_DUPLICATE', { workflowIdReusePolicy: 'REJECT_DUPLICATE' }],
    ['TERMINATE_EXISTING', { workflowIdConflictPolicy: 'TERMINATE_EXISTING' }],
  ] as const)('%s: exactly one open run at the end', async (policy, over) => {
    const id = unique(`race-${policy}`);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => d.engine.startWorkflow(req(id, over))));
    const ok = results.filter((r): r is PromiseFulfilledResult<{ runId: string; started: boolean }> => r.status === 'fulfilled').map((r) => r.value);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    const runs = await runsOf(id);
    expect(runs.filter((r) => r.status === 'RUNNING')).toHaveLength(1);
    if (policy === 'TERMINATE_EXISTING') {
      // Every caller started a run; all but the last were terminated by the next.
      expect(ok).toHaveLength(8);
      expect(runs).toHaveLength(8);
    } else {
      expect(runs).toHaveLength(1);
      expect(ok.filter((r) => r.started)).toHaveLength(1);
      if (policy === 'USE_EXISTING') {
        expect(ok).toHaveLength(8);
        expect(new Set(ok.map((r) => r.runId))).toEqual(new Set([runs[0]!.run_id]));
      }
    }
  });
});

describe('start options', () => {
  it('stores search attributes (checked, normalized), memo and deadlines, and records them in event 1', async () => {
    await addSearchAttributes(d.t.db, 'default', { Region: 'Keyword', Placed: 'Datetime' });
    const id = unique('opts');
    const { runId } = await d.engine.startWorkflow(
      req(id, {
        args: ['a'],
        identity: 'client-1',
        searchAttributes: { Region: ['eu'], Placed: ['2024-05-01T00:00:00+02:00'] },
        memo: { owner: { name: 'Ada' } },
        workflowExecutionTimeoutMs: 60_000,
        workflowRunTimeoutMs: 30_000,
      }),
    );
    const described = await d.engine.describeWorkflow({ workflowId: id });
    expect(described).toMatchObject({
      searchAttributes: { Region: ['eu'], Placed: ['2024-04-30T22:00:00.000Z'] },
      memo: { owner: { name: 'Ada' } },
      firstExecutionRunId: runId,
      historyLength: 1,
      historySizeBytes: expect.any(Number),
    });
    expect(described.parent).toBeUndefined();
    expect(only(await w.history(id), 'WorkflowExecutionStarted')).toEqual({
      workflowType: 'wf',
      workflowId: id,
      runId,
      taskQueue: 'policies',
      args: ['a'],
      identity: 'client-1',
      firstExecutionRunId: runId,
      searchAttributes: { Region: ['eu'], Placed: ['2024-04-30T22:00:00.000Z'] },
      memo: { owner: { name: 'Ada' } },
      workflowExecutionTimeoutMs: 60_000,
      workflowRunTimeoutMs: 30_000,
    });
    const { rows } = await d.t.pool.query(
      `SELECT extract(epoch FROM execution_deadline - started_at)::int AS exec_s, extract(epoch FROM run_deadline - started_at)::int AS run_s
       FROM chronicle.executions WHERE run_id = $1`,
      [runId],
    );
    expect(rows[0]).toEqual({ exec_s: 60, run_s: 30 });
    expect(described.historySizeBytes).toBeGreaterThan(100);
  });

  it('refuses undeclared search attributes, wrong types, bad memo and bad timeouts, naming the field, and writes nothing', async () => {
    const id = unique('refused');
    const cases: [Partial<StartWorkflowRequest>, string][] = [
      [{ searchAttributes: { Undeclared: ['x'] } }, 'searchAttributes.Undeclared'],
      [{ searchAttributes: { CustomIntField: [1.5] } }, 'searchAttributes.CustomIntField[0]'],
      [{ searchAttributes: { CustomDatetimeField: ['yesterday'] } }, 'searchAttributes.CustomDatetimeField[0]'],
      [{ memo: [] as never }, 'memo'],
      [{ workflowRunTimeoutMs: -1 }, 'workflowRunTimeoutMs'],
      [{ workflowExecutionTimeoutMs: Number.NaN }, 'workflowExecutionTimeoutMs'],
    ];
    for (const [over, field] of cases) {
      const p = d.engine.startWorkflow(req(id, over));
      await expect(p, field).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(p, field).rejects.toMatchObject({ field });
    }
    expect(await runsOf(id)).toHaveLength(0);
  });

  it('runs inside a caller’s transaction, which commits or rolls back the start with its own writes', async () => {
    const id = unique('in-trx');
    await expect(
      d.t.db.transaction().execute(async (trx) => {
        const r = await startExecution(trx, 'default', req(id));
        expect(r.started).toBe(true);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await runsOf(id)).toHaveLength(0);
    const r = await d.t.db.transaction().execute((trx) => startExecution(trx, 'default', req(id, { workflowIdConflictPolicy: 'TERMINATE_EXISTING' })));
    expect(r).toMatchObject({ started: true, notifications: [['chronicle_wft', 'default/policies']] });
    expect(await status(d.t, r.runId)).toBe('RUNNING');
  });
});

describe('search attribute declarations', () => {
  it('declares idempotently, refuses a type change, a reserved name and a bad name', async () => {
    await addSearchAttributes(d.t.db, 'other-ns', { Color: 'Keyword' });
    await addSearchAttributes(d.t.db, 'other-ns', { Color: 'Keyword' });
    expect((await getSearchAttributeTypes(d.t.db, 'other-ns')).get('Color')).toBe('Keyword');
    await expect(addSearchAttributes(d.t.db, 'other-ns', { Color: 'Int' })).rejects.toMatchObject({ field: 'searchAttributes.Color', message: expect.stringContaining('Keyword') });
    await expect(addSearchAttributes(d.t.db, 'other-ns', { WorkflowId: 'Keyword' })).rejects.toMatchObject({ field: 'searchAttributes.WorkflowId' });
    await expect(addSearchAttributes(d.t.db, 'other-ns', { 'has space': 'Keyword' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(addSearchAttributes(d.t.db, 'other-ns', { Weird: 'Blob' as never })).rejects.toMatchObject({ field: 'searchAttributes.Weird' });
  });
});

describe('declaring search attributes', () => {
  it('adds a typed attribute that starts and list filters can use, and refuses a type change', async () => {
    const e = d.engine;
    await e.addSearchAttributes({ OrderTotal: 'Double' });
    await e.addSearchAttributes({ OrderTotal: 'Double' }); // same type again: a no-op
    expect((await e.listSearchAttributes()).OrderTotal).toBe('Double');
    await expect(e.addSearchAttributes({ OrderTotal: 'Keyword' })).rejects.toMatchObject({ code: 'CHR_INVALID_ARGUMENT', field: 'searchAttributes.OrderTotal' });
    expect((await e.listSearchAttributes()).OrderTotal).toBe('Double');
    await e.startWorkflow(req(unique('sa'), { searchAttributes: { OrderTotal: [12.5] } }));
    expect((await e.countWorkflows('OrderTotal > 10'))).toBe(1);
  });
});
