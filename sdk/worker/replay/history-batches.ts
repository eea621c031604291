import { InvalidArgumentError } from '../../../engine/protocol/errors.js';
import {
  COMMAND_EVENT_TYPES,
  ENGINE_EVENT_TYPES,
  INBOX_EVENT_TYPES,
  type EventType,
  type HistoryEvent,
  type HistoryEventOf,
} from '../../../engine/protocol/events.js';

/**
 * One workflow task as the history recorded it: the input events it saw, the events of the
 * commands it produced, and the WorkflowTaskCompleted that closed it.
 */
export interface HistoryBatch {
  /**
   * WorkflowExecutionStarted (first batch only), then what arrived through the inbox:
   * activity and child results, timer firings, signals, cancel requests, … (INBOX_EVENT_TYPES).
   */
  readonly inputs: readonly HistoryEvent[];
  /**
   * The events of the commands the task produced, in order (COMMAND_EVENT_TYPES): scheduled
   * activities, timers, markers, accepted and completed updates, the terminal event, …
   */
  readonly commandEvents: readonly HistoryEvent[];
  readonly completed: HistoryEventOf<'WorkflowTaskCompleted'>;
}

export interface SplitHistory {
  /** Every completed workflow task, in order: what replay re-runs. */
  readonly batches: readonly HistoryBatch[];
  /** Input events after the last WorkflowTaskCompleted: the next task has yet to see them. */
  readonly openInputs: readonly HistoryEvent[];
}

const INPUT_TYPES: ReadonlySet<EventType> = new Set<EventType>(['WorkflowExecutionStarted', ...INBOX_EVENT_TYPES]);
const COMMAND_TYPES: ReadonlySet<EventType> = new Set<EventType>(COMMAND_EVENT_TYPES);
/** Appended between batches by the engine (task failures, terminations, timeouts); they carry nothing the workflow sees. */
const IGNORED_TYPES: ReadonlySet<EventType> = new Set<EventType>(ENGINE_EVENT_TYPES);

/**
 * Splits a history into the batches the original execution saw. PURE.
 *
 * Within a batch inputs precede command events (the engine appends them in that order in one
 * transaction); engine events (WorkflowTaskFailed, WorkflowExecutionTerminated,
 * WorkflowExecutionTimedOut) are skipped. Inbox-only events (WorkflowExecutionUpdateAdmitted)
 * never appear in a history and are refused.
 *
 * @throws InvalidArgumentError (field `history[i]`) when the history is not one the engine
 *   writes: ids not increasing, no WorkflowExecutionStarted first, an input event after a
 *   command event of the same batch, command events with no WorkflowTaskCompleted after them.
 */
export function splitHistory(history: readonly HistoryEvent[]): SplitHistory {
  const batches: HistoryBatch[] = [];
  let inputs: HistoryEvent[] = [];
  let commandEvents: HistoryEvent[] = [];
  let previousId = 0;

  history.forEach((event, i) => {
    const field = `history[${i}]`;
    if (!(event.eventId > previousId)) {
      throw new InvalidArgumentError(field, `event ids must increase; event ${event.eventId} follows event ${previousId}`);
    }
    previousId = event.eventId;
    if (i === 0 && event.eventType !== 'WorkflowExecutionStarted') {
      throw new InvalidArgumentError(field, `a history starts with WorkflowExecutionStarted, not ${event.eventType}`);
    }
    if (i > 0 && event.eventType === 'WorkflowExecutionStarted') {
      throw new InvalidArgumentError(field, `WorkflowExecutionStarted may only be the first event (found again as event ${event.eventId})`);
    }

    if (IGNORED_TYPES.has(event.eventType)) return;
    if (INPUT_TYPES.has(event.eventType)) {
      if (commandEvents.length > 0) {
        throw new InvalidArgumentError(
          field,
          `input event ${event.eventId} (${event.eventType}) follows command event ${commandEvents[commandEvents.length - 1].eventId} ` +
            `with no WorkflowTaskCompleted between them`,
        );
      }
      inputs.push(event);
    } else if (COMMAND_TYPES.has(event.eventType)) {
      commandEvents.push(event);
    } else if (event.eventType === 'WorkflowTaskCompleted') {
      batches.push({ inputs, commandEvents, completed: event });
      inputs = [];
      commandEvents = [];
    } else {
      throw new InvalidArgumentError(field, `unexpected event type ${event.eventType}`);
    }
  });

  if (commandEvents.length > 0) {
    throw new InvalidArgumentError(
      `history[${history.length - 1}]`,
      `command event ${commandEvents[0].eventId} (${commandEvents[0].eventType}) is not followed by a WorkflowTaskCompleted; the history is truncated`,
    );
  }
  return { batches, openInputs: inputs };
}

/**
 * What `workflowInfo().historyLength` was while the batch's task ran: the number of events
 * in the history once the task's inputs were recorded (the event before its first command,
 * or before its WorkflowTaskCompleted when it produced none). A live task sees the same
 * number: the history length at claim plus the pending events it is handed.
 */
export function batchHistoryLength(batch: HistoryBatch): number {
  const first = batch.commandEvents[0] ?? batch.completed;
  return first.eventId - 1;
}
