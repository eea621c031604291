/** Continue-as-new (plan §9): the old run closes, the next run of the chain starts in the same transaction. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowCommand } from '../../engine/protocol/index.js';
import { complete, drivenEngine, Driver, only, status, unique, type Driven } from './engine-driver.js';

let d: Driven;
let w: Driver;
beforeAll(async () => {
  d = await drivenEngine();
  w = new Driver(d.engine);
});
afterAll(async () => d?.close());

const continueAsNew = (args: unknown[], over: Partial<Extract<WorkflowCommand, { kind: 'ContinueAsNew' }>> = {}): WorkflowCommand => ({
  kind: 'ContinueAsNew',
  args,
  ...over,
});

describe('continue-as-new', () => {
  it('closes the run CONTINUED_AS_NEW and starts the next with the same id, inheriting what it does not override', async () => {
    const { workflowId, runId, taskQueue } = await w.start({
      args: [0],
      searchAttributes: { CustomKeywordField: ['k0'] },
      memo: { note: 'kept' },
      workflowRunTimeoutMs: 3_600_000,
    });
    await w.step(taskQueue, [{ kind: 'UpsertSearchAttributes', searchAttributes: { CustomIntField: [1] } }, continueAsNew([1])]);

    expect(await d.engine.awaitOutcome({ workflowId, runId })).toEqual({ status: 'CONTINUED_AS_NEW', runId, newRunId: expect.any(String) });
    const { newRunId } = (await d.engine.awaitOutcome({ workflowId, runId })) as { newRunId: string };
    const cont = only(await w.history({ workflowId, runId }), 'WorkflowExecutionContinuedAsNew');
    expect(cont).toEqual({ newExecutionRunId: newRunId, workflowType: 'wf', taskQueue, args: [1] });

    const next = await d.engine.describeWorkflow({ workflowId });
    expect(next).toMatchObject({
      runId: newRunId,
      status: 'RUNNING',
      workflowType: 'wf',
      taskQueue,
      firstExecutionRunId: runId,
      searchAttributes: { CustomKeywordField: ['k0'], CustomIntField: [1] },
      memo: { note: 'kept' },
      historyLength: 1,
    });
    const first = await w.poll(taskQueue);
    expect(first.runId).toBe(newRunId);
    expect(first.events).toEqual([
      expect.objectContaining({
        eventType: 'WorkflowExecutionStarted',
        attributes: {
          workflowType: 'wf',
          workflowId,
          runId: newRunId,
          taskQueue,
          args: [1],
          continuedExecutionRunId: runId,
          firstExecutionRunId: runId,
          searchAttributes: { CustomKeywordField: ['k0'], CustomIntField: [1] },
          memo: { note: 'kept' },
          workflowRunTimeoutMs: 3_600_000,
        },
      }),
    ]);
    await w.complete(first, [complete('end')]);
    expect(await d.engine.awaitOutcome({ workflowId })).toMatchObject({ status: 'COMPLETED', result: 'end', runId: newRunId });
  });

  it('runs a chain of runs linked by continued_from and one first run; overrides type, queue, attributes and memo', async () => {
    const { workflowId, runId: firstRun, taskQueue } = await w.start({ args: [0] });
    let queue = taskQueue;
    const runs = [firstRun];
    for (let i = 1; i <= 4; i++) {
      const nextQueue = i === 3 ? unique('other-q') : queue;
      const { task } = await w.step(queue, [
        continueAsNew([i], i === 3 ? { taskQueue: nextQueue, workflowType: 'wf2', searchAttributes: { CustomBoolField: [true] }, memo: { gen: 3 } } : {}),
      ]);
      expect(task.runId).toBe(runs[runs.length - 1]);
      queue = nextQueue;
      runs.push((await d.engine.describeWorkflow({ workflowId })).runId);
    }
    const { rows } = await d.t.pool.query(
      `SELECT run_id, status, first_execution_run_id, continued_from_run_id, workflow_type, task_queue, search_attributes, memo
       FROM chronicle.executions WHERE workflow_id = $1 ORDER BY started_at`,
      [workflowId],
    );
    expect(rows.map((r) => r.run_id)).toEqual(runs);
    expect(rows.map((r) => r.status)).toEqual(['CONTINUED_AS_NEW', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW', 'RUNNING']);
    expect(rows.every((r) => r.first_execution_run_id === firstRun)).toBe(true);
    expect(rows.map((r) => r.continued_from_run_id)).toEqual([null, ...runs.slice(0, -1)]);
    // Run 4 got the overrides; run 5 inherits them from run 4.
    expect(rows.slice(3).map((r) => [r.workflow_type, r.task_queue, r.search_attributes, r.memo])).toEqual([
      ['wf2', queue, { CustomBoolField: [true] }, { gen: 3 }],
      ['wf2', queue, { CustomBoolField: [true] }, { gen: 3 }],
    ]);
    // Each closed run's outcome names its successor.
    for (let i = 0; i < 4; i++) {
      expect(await d.engine.awaitOutcome({ workflowId, runId: runs[i] })).toMatchObject({ status: 'CONTINUED_AS_NEW', newRunId: runs[i + 1] });
    }
    await w.step(queue, [complete(4)]);
  });

  it('keeps the execution deadline of the chain', async () => {
    const { workflowId, runId, taskQueue } = await w.start({ workflowExecutionTimeoutMs: 3_600_000 });
    await w.step(taskQueue, [continueAsNew([])]);
    const { rows } = await d.t.pool.query(
      `SELECT run_id, execution_deadline FROM chronicle.executions WHERE workflow_id = $1 ORDER BY started_at`,
      [workflowId],
    );
    expect(rows[0].run_id).toBe(runId);
    expect(rows[1].execution_deadline.getTime()).toBe(rows[0].execution_deadline.getTime());
    await d.engine.terminateWorkflow({ workflowId });
  });

  it('of a child: the parent hears nothing until the chain’s last run closes, and then the last run id', async () => {
    const parent = await w.start();
    const childId = unique('child');
    const childQueue = unique('cq');
    await w.step(parent.taskQueue, [
      { kind: 'StartChildWorkflow', seq: 1, workflowId: childId, workflowType: 'child', taskQueue: childQueue, args: [], parentClosePolicy: 'TERMINATE', cancellationType: 'TRY_CANCEL' },
    ]);
    await w.step(parent.taskQueue, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]); // sees ChildWorkflowExecutionStarted
    const { task: c1 } = await w.step(childQueue, [continueAsNew([1])]);
    await w.expectNoTask(parent.taskQueue);
    const second = await d.engine.describeWorkflow({ workflowId: childId });
    expect(second).toMatchObject({ parent: { workflowId: parent.workflowId, runId: parent.runId }, firstExecutionRunId: c1.runId });
    const c2 = await w.poll(childQueue);
    expect(only(c2.events, 'WorkflowExecutionStarted')).toMatchObject({
      parent: { workflowId: parent.workflowId, runId: parent.runId, seq: 1, parentClosePolicy: 'TERMINATE' },
    });
    await w.complete(c2, [complete('last')]);
    const t = await w.poll(parent.taskQueue);
    expect(t.events).toEqual([
      { eventType: 'ChildWorkflowExecutionCompleted', attributes: { seq: 1, workflowId: childId, runId: second.runId, workflowType: 'child', result: 'last' } },
    ]);
    await w.complete(t, [complete()]);
    expect(await status(d.t, c1.runId)).toBe('CONTINUED_AS_NEW');
  });
});
