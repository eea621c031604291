import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../engine/protocol/errors.js';
import type { EventAttributes, EventType, HistoryEvent } from '../../../engine/protocol/events.js';
import { batchHistoryLength, splitHistory } from './history-batches.js';

let nextId = 1;
function ev<T extends EventType>(eventType: T, attributes: Partial<EventAttributes[T]> = {}, eventId = nextId++): HistoryEvent {
  return { eventId, eventType, timestamp: 0, attributes } as HistoryEvent;
}

function history(...events: Array<[EventType, object?]>): HistoryEvent[] {
  nextId = 1;
  return events.map(([type, attributes]) => ev(type, attributes as never));
}

const ids = (events: readonly HistoryEvent[]) => events.map((e) => e.eventId);

describe('splitHistory', () => {
  it('splits into batches of inputs, command events and the completion', () => {
    const h = history(
      ['WorkflowExecutionStarted'], // 1
      ['ActivityTaskScheduled', { seq: 1 }], // 2
      ['WorkflowTaskCompleted'], // 3
      ['ActivityTaskCompleted', { seq: 1 }], // 4
      ['TimerFired', { seq: 1 }], // 5
      ['ActivityTaskScheduled', { seq: 2 }], // 6
      ['TimerStarted', { seq: 2 }], // 7
      ['WorkflowTaskCompleted'], // 8
      ['WorkflowTaskFailed'], // 9: ignored
      ['ActivityTaskCompleted', { seq: 2 }], // 10
      ['WorkflowExecutionCompleted'], // 11
      ['WorkflowTaskCompleted'], // 12
    );
    const { batches, openInputs } = splitHistory(h);
    expect(batches.map((b) => [ids(b.inputs), ids(b.commandEvents), b.completed.eventId])).toEqual([
      [[1], [2], 3],
      [[4, 5], [6, 7], 8],
      [[10], [11], 12],
    ]);
    expect(openInputs).toEqual([]);
    expect(batches.map(batchHistoryLength)).toEqual([1, 5, 10]);
  });

  it('returns the trailing inputs that no task has completed yet', () => {
    const h = history(['WorkflowExecutionStarted'], ['TimerStarted', { seq: 1 }], ['WorkflowTaskCompleted'], ['WorkflowTaskFailed'], ['TimerFired', { seq: 1 }]);
    const { batches, openInputs } = splitHistory(h);
    expect(batches).toHaveLength(1);
    expect(ids(openInputs)).toEqual([5]);
  });

  it('a first task that is still open yields no batch', () => {
    expect(splitHistory(history(['WorkflowExecutionStarted']))).toEqual({ batches: [], openInputs: [expect.objectContaining({ eventId: 1 })] });
    expect(splitHistory([])).toEqual({ batches: [], openInputs: [] });
  });

  it('a batch that produced no commands has the completion as its history length bound', () => {
    const h = history(['WorkflowExecutionStarted'], ['WorkflowTaskCompleted']);
    const { batches } = splitHistory(h);
    expect(batchHistoryLength(batches[0])).toBe(1);
  });

  it.each([
    ['an input after a command of the same batch', [['WorkflowExecutionStarted'], ['TimerStarted', { seq: 1 }], ['TimerFired', { seq: 1 }]], 'history[2]', 'input event 3 (TimerFired) follows command event 2'],
    ['commands without a completion', [['WorkflowExecutionStarted'], ['TimerStarted', { seq: 1 }]], 'history[1]', 'is not followed by a WorkflowTaskCompleted'],
    ['a history not starting with WorkflowExecutionStarted', [['TimerFired', { seq: 1 }]], 'history[0]', 'a history starts with WorkflowExecutionStarted'],
    ['a second WorkflowExecutionStarted', [['WorkflowExecutionStarted'], ['WorkflowExecutionStarted']], 'history[1]', 'may only be the first event'],
  ] as const)('refuses %s', (_what, events, field, text) => {
    const run = () => splitHistory(history(...(events as unknown as Array<[EventType, object?]>)));
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(`${field}: `);
    expect(run).toThrow(text);
  });

  it('refuses ids that do not increase', () => {
    nextId = 1;
    const h = [ev('WorkflowExecutionStarted', {}, 1), ev('WorkflowTaskCompleted', {}, 1)];
    expect(() => splitHistory(h)).toThrow('history[1]: event ids must increase; event 1 follows event 1');
  });
});

describe('splitHistory: the programming model', () => {
  it('knows the new inputs and command events; engine events (timed out) are skipped; inbox-only events are refused', () => {
    const h = history(
      ['WorkflowExecutionStarted'], // 1
      ['WorkflowExecutionSignaled', { signalName: 's', args: [] }], // 2
      ['MarkerRecorded', { markerName: 'core_patch', details: {} }], // 3
      ['StartChildWorkflowExecutionInitiated', { seq: 1 }], // 4
      ['WorkflowExecutionUpdateAccepted', { updateId: 'u' }], // 5
      ['WorkflowTaskCompleted'], // 6
      ['ChildWorkflowExecutionStarted', { seq: 1 }], // 7
      ['ExternalWorkflowExecutionSignaled', { seq: 1 }], // 8
      ['WorkflowExecutionContinuedAsNew'], // 9
      ['WorkflowTaskCompleted'], // 10
      ['WorkflowExecutionTimedOut'], // 11
    );
    const { batches, openInputs } = splitHistory(h);
    expect(batches.map((b) => [ids(b.inputs), ids(b.commandEvents), b.completed.eventId])).toEqual([
      [[1, 2], [3, 4, 5], 6],
      [[7, 8], [9], 10],
    ]);
    expect(openInputs).toEqual([]);
    expect(() => splitHistory(history(['WorkflowExecutionStarted'], ['WorkflowExecutionUpdateAdmitted']))).toThrow('unexpected event type WorkflowExecutionUpdateAdmitted');
  });
});
