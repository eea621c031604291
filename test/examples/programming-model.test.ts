import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '../../sdk/client/index.js';
import { ApplicationFailure } from '../../sdk/workflow/index.js';
import { EXAMPLES_TASK_QUEUE } from '../../examples/worker.js';
import { approveSignal, rejectSignal, statusQuery, type approval } from '../../examples/approval/workflows.js';
import type { bookTrip } from '../../examples/saga/workflows.js';
import type { batchParent } from '../../examples/batch/workflows.js';
import { balanceQuery, closeSignal, depositUpdate, withdrawUpdate, type account } from '../../examples/entity/workflows.js';
import { clientFor } from '../helpers/chronicle.js';
import { eventTypes, recordGoldenHistory, useExamplesWorker } from './harness.js';

// The examples of the full programming model (issue 3), each run end to end on a real worker.

const engineOf = useExamplesWorker();

const types = eventTypes;

const activityTypes = (events: readonly HistoryEvent[]) =>
  events.flatMap((e) => (e.eventType === 'ActivityTaskScheduled' ? [e.attributes.activityType] : []));
const request = (id: string) => ({ requestId: id, requester: 'ada', amountCents: 12_500 });

describe('approval: a signal awaited with a timeout', () => {
  it('approves when the signal arrives in time, and the query answers before and after', async () => {
    const client = clientFor(engineOf());
    const handle = await client.workflow.start<typeof approval>('approval', { workflowId: 'approval-yes', taskQueue: EXAMPLES_TASK_QUEUE, args: [request('r1'), '1 hour'] });
    expect(await handle.query(statusQuery)).toBe('WAITING');
    await handle.signal(approveSignal, { by: 'grace', comment: 'ok' });
    expect(await handle.result()).toEqual({ status: 'APPROVED', decision: { approved: true, by: 'grace', comment: 'ok' } });
    expect(await handle.query(statusQuery)).toBe('APPROVED');
    const { events } = await handle.fetchHistory();
    expect(types(events)).toContain('WorkflowExecutionSignaled');
    // condition's timer lost the race and was cancelled.
    expect(types(events)).toContain('TimerCanceled');
    recordGoldenHistory('approval', events);
  });

  it('rejects, with the decision sent together with the start (buffered until the handler exists)', async () => {
    const client = clientFor(engineOf());
    const handle = await client.workflow.signalWithStart<typeof approval>('approval', {
      workflowId: 'approval-no',
      taskQueue: EXAMPLES_TASK_QUEUE,
      args: [request('r2'), '1 hour'],
      signal: rejectSignal,
      signalArgs: [{ by: 'grace', comment: 'over budget' }],
    });
    expect(await handle.result()).toEqual({ status: 'REJECTED', decision: { approved: false, by: 'grace', comment: 'over budget' } });
  });

  it('expires when no decision comes in time', async () => {
    const client = clientFor(engineOf());
    const handle = await client.workflow.start<typeof approval>('approval', { workflowId: 'approval-late', taskQueue: EXAMPLES_TASK_QUEUE, args: [request('r3'), '300ms'] });
    expect(await handle.result()).toEqual({ status: 'EXPIRED' });
    expect(types((await handle.fetchHistory()).events)).toContain('TimerFired');
  });
});

describe('saga: compensation in reverse order', () => {
  it('undoes hotel then flight when the car is sold out, and fails with the cause', async () => {
    const handle = await clientFor(engineOf()).workflow.start<typeof bookTrip>('bookTrip', { workflowId: 'saga-car', taskQueue: EXAMPLES_TASK_QUEUE, args: [{ tripId: 't1', failAt: 'car' }] });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('TripBookingFailed');
    const { events } = await handle.fetchHistory();
    expect(activityTypes(events)).toEqual(['bookFlight', 'bookHotel', 'bookCar', 'cancelHotel', 'cancelFlight']);
    recordGoldenHistory('saga', events);
  });

  it('books everything when nothing fails', async () => {
    const handle = await clientFor(engineOf()).workflow.start<typeof bookTrip>('bookTrip', { workflowId: 'saga-ok', taskQueue: EXAMPLES_TASK_QUEUE, args: [{ tripId: 't2' }] });
    expect(await handle.result()).toEqual(['flight:t2', 'hotel:t2', 'car:t2']);
  });
});

describe('batch: fan-out with child workflows', () => {
  it('runs each chunk as a child and sums their results', async () => {
    const items = Array.from({ length: 25 }, (_, i) => i + 1);
    const handle = await clientFor(engineOf()).workflow.start<typeof batchParent>('batchParent', { workflowId: 'batch-1', taskQueue: EXAMPLES_TASK_QUEUE, args: [items, 10] });
    expect(await handle.result()).toEqual({ batches: 3, processed: 25, total: items.reduce((s, i) => s + i * i, 0) });
    const events = (await handle.fetchHistory()).events;
    expect(types(events).filter((x) => x === 'StartChildWorkflowExecutionInitiated')).toHaveLength(3);
    expect(types(events).filter((x) => x === 'ChildWorkflowExecutionCompleted')).toHaveLength(3);
    recordGoldenHistory('batch', events);
    const child = await clientFor(engineOf()).workflow.getHandle('batch-1-chunk-2').describe();
    expect(child.status.name).toBe('COMPLETED');
    expect(child.parentExecution).toMatchObject({ workflowId: 'batch-1' });
  });
});

describe('entity: updates, a query and continue-as-new', () => {
  it('applies updates across a chain of runs, rejects an overdraft without recording it, and ends on close', async () => {
    const client = clientFor(engineOf());
    const handle = await client.workflow.start<typeof account>('account', {
      workflowId: 'account-1',
      taskQueue: EXAMPLES_TASK_QUEUE,
      args: [{ accountId: 'a1', balanceCents: 0, operations: 0 }, 3],
    });
    let balance = 0;
    for (const amount of [100, 200, 300, 400, 500, 600, 700]) {
      balance += amount;
      expect(await handle.executeUpdate(depositUpdate, { args: [amount] })).toBe(balance);
    }
    const overdraft = await handle.executeUpdate(withdrawUpdate, { args: [1_000_000] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(overdraft).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(await handle.executeUpdate(withdrawUpdate, { args: [800] })).toBe(balance - 800);
    expect(await handle.query(balanceQuery)).toBe(balance - 800);
    await handle.signal(closeSignal);
    expect(await handle.result()).toEqual({ accountId: 'a1', balanceCents: balance - 800, operations: 8 });
    // 8 operations at 3 per run: the chain has three runs, the first two CONTINUED_AS_NEW.
    const runs = [];
    for await (const info of client.workflow.list({ query: `WorkflowId = 'account-1'` })) runs.push(info.status.name);
    expect(runs.sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
    // The rejected overdraft left nothing in any history.
    const first = await client.workflow.getHandle('account-1', handle.firstExecutionRunId ?? handle.runId).fetchHistory();
    expect(JSON.stringify(first.events)).not.toContain('1000000');
    expect(types(first.events)).toContain('WorkflowExecutionContinuedAsNew');
    recordGoldenHistory('entity', first.events);
  });
});
