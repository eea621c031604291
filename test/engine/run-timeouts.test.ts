/** Workflow run and execution timeouts (engine/run-timeouts.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaleTaskError } from '../../engine/errors.js';
import { msUntilNextRunDeadline, timeOutExpiredRuns } from '../../engine/run-timeouts.js';
import { complete, drivenEngine, Driver, only, status, unique, type Driven } from './engine-driver.js';
import { waitUntil } from '../helpers/database.js';

let d: Driven;
let w: Driver;
beforeAll(async () => {
  d = await drivenEngine();
  w = new Driver(d.engine);
});
afterAll(async () => d?.close());

/** Runs the timeout pass until the run is closed (its deadline is judged by the database clock). */
async function timeOut(runId: string): Promise<void> {
  await waitUntil(async () => {
    await d.engine.timeOutExpiredRuns();
    return (await status(d.t, runId)) !== 'RUNNING';
  }, { message: `run ${runId} timed out`, timeoutMs: 10_000, intervalMs: 50 });
}

describe('run timeouts', () => {
  it('times out a run past its run deadline: WorkflowExecutionTimedOut, TIMED_OUT, its in-flight task stale, nothing left', async () => {
    const { workflowId, runId, taskQueue } = await w.start({ workflowRunTimeoutMs: 300 });
    const t1 = await w.poll(taskQueue);
    const before = await msUntilNextRunDeadline(d.t.db);
    expect(before).toBeDefined();
    expect(before!).toBeLessThanOrEqual(300);
    await timeOut(runId);
    expect(await d.engine.awaitOutcome({ workflowId })).toEqual({ status: 'TIMED_OUT', runId });
    const h = await w.history(workflowId);
    expect(h.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionTimedOut']);
    expect(h[1]!.attributes).toEqual({ timeoutType: 'WORKFLOW_RUN_TIMEOUT', retryState: 'RETRY_POLICY_NOT_SET' });
    await expect(w.complete(t1, [complete()])).rejects.toBeInstanceOf(StaleTaskError);
    expect(await d.engine.describeWorkflow({ workflowId })).toMatchObject({ status: 'TIMED_OUT', pendingEventCount: 0, pendingTimerCount: 0 });
    // A second pass finds nothing.
    expect(await timeOutExpiredRuns(d.t.db)).toBe(0);
  });

  it('times out by the execution deadline of the chain, also in a later run', async () => {
    const { workflowId, runId, taskQueue } = await w.start({ workflowExecutionTimeoutMs: 600, workflowRunTimeoutMs: 3_600_000 });
    await w.step(taskQueue, [{ kind: 'ContinueAsNew', args: [] }]);
    const next = await d.engine.describeWorkflow({ workflowId });
    expect(next.runId).not.toBe(runId);
    await timeOut(next.runId);
    expect(only(await w.history({ workflowId, runId: next.runId }), 'WorkflowExecutionTimedOut')).toEqual({
      timeoutType: 'WORKFLOW_EXECUTION_TIMEOUT',
      retryState: 'RETRY_POLICY_NOT_SET',
    });
  });

  it('tells the parent of a child that timed out', async () => {
    const parent = await w.start();
    const childId = unique('child');
    const childQueue = unique('cq');
    await w.step(parent.taskQueue, [
      { kind: 'StartChildWorkflow', seq: 1, workflowId: childId, workflowType: 'child', taskQueue: childQueue, args: [], parentClosePolicy: 'TERMINATE', cancellationType: 'TRY_CANCEL', workflowRunTimeoutMs: 200 },
    ]);
    const started = await w.poll(parent.taskQueue);
    const childRunId = (started.events[0]!.attributes as { runId: string }).runId;
    await w.complete(started, [{ kind: 'StartTimer', seq: 1, durationMs: 600_000 }]);
    await timeOut(childRunId);
    const t = await w.poll(parent.taskQueue);
    expect(t.events).toEqual([
      { eventType: 'ChildWorkflowExecutionTimedOut', attributes: { seq: 1, workflowId: childId, runId: childRunId, workflowType: 'child', retryState: 'RETRY_POLICY_NOT_SET' } },
    ]);
    await w.complete(t, [complete()]);
  });

  it('leaves runs without a deadline, or before it, alone', async () => {
    const a = await w.start();
    const b = await w.start({ workflowRunTimeoutMs: 3_600_000 });
    await d.engine.timeOutExpiredRuns();
    expect(await status(d.t, a.runId)).toBe('RUNNING');
    expect(await status(d.t, b.runId)).toBe('RUNNING');
    await d.engine.terminateWorkflow({ workflowId: a.workflowId });
    await d.engine.terminateWorkflow({ workflowId: b.workflowId });
  });
});
