/**
 * Child workflows (plan §7, §14): the start in the parent's transaction, the child's close
 * delivered to its parent, the parent close policy applied to open children.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadlockRetryCount } from '../../engine/deadlock-retry.js';
import { StaleTaskError } from '../../engine/errors.js';
import type { ParentClosePolicy, WorkflowCommand } from '../../engine/protocol/index.js';
import { complete, drivenEngine, Driver, only, status, types, unique, type Driven } from './engine-driver.js';

let d: Driven;
let w: Driver;
beforeAll(async () => {
  d = await drivenEngine();
  w = new Driver(d.engine);
});
afterAll(async () => d?.close());

const startChild = (seq: number, workflowId: string, taskQueue: string, parentClosePolicy: ParentClosePolicy = 'TERMINATE', args: unknown[] = []): WorkflowCommand => ({
  kind: 'StartChildWorkflow',
  seq,
  workflowId,
  workflowType: 'child',
  taskQueue,
  args,
  parentClosePolicy,
  cancellationType: 'WAIT_CANCELLATION_COMPLETED',
});

/** A parent run that has started one child (and seen ChildWorkflowExecutionStarted). */
async function parentWithChild(policy: ParentClosePolicy = 'TERMINATE') {
  const parent = await w.start();
  const child = { workflowId: unique('child'), taskQueue: unique('cq') };
  await w.step(parent.taskQueue, [startChild(1, child.workflowId, child.taskQueue, policy, ['in'])]);
  const started = await w.poll(parent.taskQueue);
  expect(started.events).toEqual([
    { eventType: 'ChildWorkflowExecutionStarted', attributes: { seq: 1, workflowId: child.workflowId, runId: expect.any(String) } },
  ]);
  const childRunId = (started.events[0]!.attributes as { runId: string }).runId;
  return { parent, child: { ...child, runId: childRunId }, started };
}

describe('starting a child', () => {
  it('inserts the child run with its parent in the same transaction and tells the parent', async () => {
    const { parent, child, started } = await parentWithChild('ABANDON');
    expect(only(await w.history(parent.workflowId), 'StartChildWorkflowExecutionInitiated')).toEqual({
      seq: 1,
      workflowId: child.workflowId,
      workflowType: 'child',
      taskQueue: child.taskQueue,
      args: ['in'],
      parentClosePolicy: 'ABANDON',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    });
    const described = await d.engine.describeWorkflow({ workflowId: child.workflowId });
    expect(described).toMatchObject({
      status: 'RUNNING',
      workflowType: 'child',
      taskQueue: child.taskQueue,
      parent: { workflowId: parent.workflowId, runId: parent.runId },
      firstExecutionRunId: child.runId,
    });
    const first = await w.poll(child.taskQueue);
    expect(first.events[0]).toMatchObject({
      eventType: 'WorkflowExecutionStarted',
      attributes: {
        workflowId: child.workflowId,
        runId: child.runId,
        args: ['in'],
        firstExecutionRunId: child.runId,
        parent: { namespace: 'default', workflowId: parent.workflowId, runId: parent.runId, seq: 1, parentClosePolicy: 'ABANDON' },
      },
    });
    await w.complete(first, [complete('child result')]);
    // The child's close goes to the parent's inbox, in its own batch after the start.
    await w.complete(started, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    const closedTask = await w.poll(parent.taskQueue);
    expect(closedTask.events).toEqual([
      {
        eventType: 'ChildWorkflowExecutionCompleted',
        attributes: { seq: 1, workflowId: child.workflowId, runId: child.runId, workflowType: 'child', result: 'child result' },
      },
    ]);
    await w.complete(closedTask, [complete()]);
  });

  it('defaults the child task queue to the parent’s', async () => {
    const parent = await w.start();
    const childId = unique('child');
    await w.step(parent.taskQueue, [{ kind: 'StartChildWorkflow', seq: 1, workflowId: childId, workflowType: 'child', args: [], parentClosePolicy: 'TERMINATE', cancellationType: 'TRY_CANCEL' }]);
    expect((await d.engine.describeWorkflow({ workflowId: childId })).taskQueue).toBe(parent.taskQueue);
    expect(only(await w.history(parent.workflowId), 'StartChildWorkflowExecutionInitiated')).toMatchObject({ taskQueue: parent.taskQueue });
    await d.engine.terminateWorkflow({ workflowId: parent.workflowId });
    expect(await d.engine.describeWorkflow({ workflowId: childId })).toMatchObject({ status: 'TERMINATED' });
  });

  it('fails the start when the workflow id has an open run (WORKFLOW_ALREADY_EXISTS)', async () => {
    const existing = await w.start();
    const parent = await w.start();
    await w.step(parent.taskQueue, [
      startChild(1, existing.workflowId, existing.taskQueue),
      startChild(2, existing.workflowId + '-new', existing.taskQueue),
      startChild(3, existing.workflowId + '-new', existing.taskQueue),
      startChild(4, parent.workflowId, existing.taskQueue),
    ]);
    const t = await w.poll(parent.taskQueue);
    expect(t.events.map((e) => [e.eventType, (e.attributes as { seq: number }).seq])).toEqual([
      ['StartChildWorkflowExecutionFailed', 1],
      ['ChildWorkflowExecutionStarted', 2],
      ['StartChildWorkflowExecutionFailed', 3],
      ['StartChildWorkflowExecutionFailed', 4],
    ]);
    expect(t.events[0]!.attributes).toEqual({ seq: 1, workflowId: existing.workflowId, workflowType: 'child', cause: 'WORKFLOW_ALREADY_EXISTS' });
    await w.complete(t, [complete()]);
    await d.engine.terminateWorkflow({ workflowId: existing.workflowId });
  });
});

describe('a child closing', () => {
  it.each([
    ['FailWorkflow', { kind: 'FailWorkflow', failure: { failureType: 'application', message: 'boom' } }, 'ChildWorkflowExecutionFailed', { failure: { failureType: 'application', message: 'boom' }, retryState: 'RETRY_POLICY_NOT_SET' }],
    ['CancelWorkflow', { kind: 'CancelWorkflow', details: 'bye' }, 'ChildWorkflowExecutionCanceled', { details: 'bye' }],
  ] as const)('%s tells the parent', async (_name, command, eventType, extra) => {
    const { parent, child, started } = await parentWithChild();
    await w.complete(started, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    await w.step(child.taskQueue, [command as WorkflowCommand]);
    const t = await w.poll(parent.taskQueue);
    expect(t.events).toEqual([{ eventType, attributes: { seq: 1, workflowId: child.workflowId, runId: child.runId, workflowType: 'child', ...extra } }]);
    await w.complete(t, [complete()]);
  });

  it('terminated tells the parent with the reason', async () => {
    const { parent, child, started } = await parentWithChild();
    await w.complete(started, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    await d.engine.terminateWorkflow({ workflowId: child.workflowId }, { reason: 'operator' });
    const t = await w.poll(parent.taskQueue);
    expect(t.events).toEqual([
      { eventType: 'ChildWorkflowExecutionTerminated', attributes: { seq: 1, workflowId: child.workflowId, runId: child.runId, workflowType: 'child', reason: 'operator' } },
    ]);
    await w.complete(t, [complete()]);
  });
});

describe('parent close policy', () => {
  it('ABANDON: the child survives its parent’s close and later closes without anyone to tell', async () => {
    const { parent, child, started } = await parentWithChild('ABANDON');
    await w.complete(started, [complete('parent done')]);
    expect(await status(d.t, parent.runId)).toBe('COMPLETED');
    expect(await status(d.t, child.runId)).toBe('RUNNING');
    await w.step(child.taskQueue, [complete('child done')]);
    expect(await d.engine.awaitOutcome({ workflowId: child.workflowId })).toMatchObject({ status: 'COMPLETED', result: 'child done' });
    const { rows } = await d.t.pool.query(`SELECT count(*)::int n FROM chronicle.workflow_inbox WHERE run_id = $1`, [parent.runId]);
    expect(rows[0].n).toBe(0);
    expect(await w.types(parent.workflowId)).not.toContain('ChildWorkflowExecutionCompleted');
  });

  it('TERMINATE: the child (and its own TERMINATE child) end with the parent', async () => {
    const { parent, child, started } = await parentWithChild('TERMINATE');
    const grandchild = { workflowId: unique('grandchild'), taskQueue: unique('gq') };
    await w.step(child.taskQueue, [startChild(1, grandchild.workflowId, grandchild.taskQueue, 'TERMINATE')]);
    await w.complete(started, [complete()]);
    expect(await d.engine.awaitOutcome({ workflowId: child.workflowId })).toMatchObject({
      status: 'TERMINATED',
      reason: expect.stringContaining('parent close policy is TERMINATE'),
    });
    expect(await d.engine.awaitOutcome({ workflowId: grandchild.workflowId })).toMatchObject({ status: 'TERMINATED' });
    expect(await w.types(child.workflowId)).toEqual([
      'WorkflowExecutionStarted',
      'StartChildWorkflowExecutionInitiated',
      'WorkflowTaskCompleted',
      'WorkflowExecutionTerminated',
    ]);
    // Nothing of the closed runs is left to run.
    await w.expectNoTask(child.taskQueue);
    await w.expectNoTask(grandchild.taskQueue);
    expect(await w.types(parent.workflowId)).not.toContain('ChildWorkflowExecutionTerminated');
  });

  it('TERMINATE also when the parent is terminated, times out or continues as new', async () => {
    const a = await parentWithChild('TERMINATE');
    await d.engine.terminateWorkflow({ workflowId: a.parent.workflowId });
    expect(await status(d.t, a.child.runId)).toBe('TERMINATED');

    const b = await parentWithChild('TERMINATE');
    await w.complete(b.started, [{ kind: 'ContinueAsNew', args: [] }]);
    expect(await status(d.t, b.child.runId)).toBe('TERMINATED');
    await d.engine.terminateWorkflow({ workflowId: b.parent.workflowId });
  });

  it('REQUEST_CANCEL: the child gets a cancel request and decides', async () => {
    const { parent, child, started } = await parentWithChild('REQUEST_CANCEL');
    await w.complete(started, [complete()]);
    expect(await status(d.t, child.runId)).toBe('RUNNING');
    const t = await w.poll(child.taskQueue);
    expect(t.events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionCancelRequested']);
    expect(t.events[1]!.attributes).toMatchObject({ reason: expect.stringContaining('REQUEST_CANCEL') });
    await w.complete(t, [{ kind: 'CancelWorkflow' }]);
    expect(await d.engine.awaitOutcome({ workflowId: child.workflowId })).toMatchObject({ status: 'CANCELLED' });
    expect(await status(d.t, parent.runId)).toBe('COMPLETED');
  });

  it('children closing while their parents are terminated at the same instant: every close recorded once, none stuck', async () => {
    const pairs = await Promise.all(Array.from({ length: 8 }, () => parentWithChild('TERMINATE')));
    for (const p of pairs) await w.complete(p.started, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    const childTasks = await Promise.all(pairs.map((p) => w.poll(p.child.taskQueue)));
    const deadlocksBefore = deadlockRetryCount();
    const outcomes = await Promise.all(
      pairs.flatMap((p, i) => [
        d.engine.terminateWorkflow({ workflowId: p.parent.workflowId }).catch((e: Error) => e),
        w.complete(childTasks[i]!, [complete('raced')]).catch((e: Error) => e),
      ]),
    );
    // A child's completion may find its run already terminated by its parent's close; no other error.
    for (const o of outcomes) if (o instanceof Error) expect(o).toBeInstanceOf(StaleTaskError);
    console.log(`parent/child close races: ${deadlockRetryCount() - deadlocksBefore} deadlock(s) detected and retried`);
    for (const p of pairs) {
      const childTypes = await w.types(p.child.workflowId);
      const terminal = childTypes.filter((t) => t === 'WorkflowExecutionCompleted' || t === 'WorkflowExecutionTerminated');
      expect(terminal).toHaveLength(1);
      expect(await status(d.t, p.parent.runId)).toBe('TERMINATED');
      // The parent closed either before (child terminated) or after the child's close (then it got the event, and dropped it on close).
      const { rows } = await d.t.pool.query(
        `SELECT (SELECT count(*) FROM chronicle.workflow_inbox WHERE run_id = $1) + (SELECT count(*) FROM chronicle.workflow_tasks WHERE run_id = $1) AS n`,
        [p.parent.runId],
      );
      expect(Number(rows[0].n)).toBe(0);
    }
  });
});
