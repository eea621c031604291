import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { summarizeHistory } from '../../sdk/client/index.js';
import { EXAMPLES_TASK_QUEUE } from '../../examples/worker.js';
import type { hello } from '../../examples/hello/workflows.js';
import type { order } from '../../examples/order/workflows.js';
import { clientFor } from '../helpers/chronicle.js';
import { eventTypes, recordGoldenHistory, useExamplesWorker } from './harness.js';

const engineOf = useExamplesWorker();

const types = eventTypes;


describe('examples', () => {
  it('hello: greets through one activity', async () => {
    const handle = await clientFor(engineOf()).workflow.start<typeof hello>('hello', { workflowId: 'hello-test', taskQueue: EXAMPLES_TASK_QUEUE, args: ['Ada'] });
    expect(await handle.result()).toBe('Hello, Ada!');
    const { events } = await handle.fetchHistory();
    expect(types(events)).toEqual([
      'WorkflowExecutionStarted',
      'ActivityTaskScheduled',
      'WorkflowTaskCompleted',
      'ActivityTaskCompleted',
      'WorkflowExecutionCompleted',
      'WorkflowTaskCompleted',
    ]);
    expect(summarizeHistory(events)).toContain('greet #1 → "Hello, Ada!"');
    recordGoldenHistory('hello', events);
  });

  it('order: parallel reservations, a flaky charge retried to attempt 3, a durable sleep, then shipping', async () => {
    const items = [
      { sku: 'tea', quantity: 2 },
      { sku: 'mug', quantity: 1 },
      { sku: 'spoon', quantity: 4 },
    ];
    const handle = await clientFor(engineOf()).workflow.start<typeof order>('order', {
      workflowId: 'order-test',
      taskQueue: EXAMPLES_TASK_QUEUE,
      args: ['o-1', items, 4999],
    });
    expect(await handle.result()).toEqual({
      orderId: 'o-1',
      reservations: ['o-1:teax2', 'o-1:mugx1', 'o-1:spoonx4'],
      chargeId: 'charge-o-1-4999',
      shipmentId: 'shipment-o-1 (3 lines)',
    });
    const { events } = await handle.fetchHistory();
    // The fan-out: all three reservations are scheduled by the first workflow task.
    expect(types(events).slice(0, 5)).toEqual([
      'WorkflowExecutionStarted',
      'ActivityTaskScheduled',
      'ActivityTaskScheduled',
      'ActivityTaskScheduled',
      'WorkflowTaskCompleted',
    ]);
    const charge = events.find((e) => e.eventType === 'ActivityTaskScheduled' && e.attributes.activityType === 'chargeCard')!;
    expect(charge.attributes).toMatchObject({ options: { priority: 80 } });
    const charged = events.find(
      (e) => e.eventType === 'ActivityTaskCompleted' && e.attributes.seq === (charge.attributes as { seq: number }).seq,
    )!;
    expect(charged.attributes).toMatchObject({ attempt: 3, lastFailure: { message: 'payment provider unavailable (attempt 2)' } });
    expect(types(events)).toContain('TimerStarted');
    expect(types(events).filter((x) => x === 'TimerFired')).toHaveLength(1);
    expect(types(events).at(-2)).toBe('WorkflowExecutionCompleted');
    recordGoldenHistory('order', events);
  });
});
