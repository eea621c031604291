import { ERROR_CODES } from '../../../engine/protocol/codes.js';
import { COMMAND_EVENT, assertNever, type WorkflowCommand } from '../../../engine/protocol/commands.js';
import { ChronicleError } from '../../../engine/protocol/errors.js';
import type { HistoryEvent } from '../../../engine/protocol/events.js';

/** A recorded command event, reduced to what replay compares. */
export interface RecordedCommand {
  readonly eventId: number;
  readonly eventType: string;
  readonly seq?: number;
  readonly activityType?: string;
}

/** A produced command, reduced to what replay compares. */
export interface ProducedCommand {
  readonly kind: WorkflowCommand['kind'];
  readonly seq?: number;
  readonly activityType?: string;
}

/**
 * Replayed workflow code did not produce the commands its history recorded. The workflow
 * *task* fails (and is retried, so deploying compatible code recovers the run); the workflow
 * itself is not failed. Names both sides and the history event where they diverge.
 */
export class NonDeterminismError extends ChronicleError {
  /** The history event id where replay diverged (for an extra command: where it would have gone). */
  readonly eventId: number;
  /** What the history has there; undefined when the workflow produced more commands than recorded. */
  readonly recorded: RecordedCommand | undefined;
  /** What the workflow produced there; undefined when it produced fewer commands than recorded. */
  readonly produced: ProducedCommand | undefined;
  /** What a worker reports to `failWorkflowTask` as the cause. */
  readonly taskFailureCause = 'NON_DETERMINISM' as const;

  constructor(eventId: number, recorded: RecordedCommand | undefined, produced: ProducedCommand | undefined) {
    const has = recorded ? `history has ${describeRecorded(recorded)}` : 'history has no further command in this workflow task';
    const made = produced ? `the workflow produced ${describeProduced(produced)}` : 'the workflow produced no command there';
    super(
      ERROR_CODES.NON_DETERMINISM,
      `Non-determinism at event ${eventId}: ${has} but ${made}. ` +
        `Workflow code must issue the same commands in the same order when it replays a history; ` +
        `deploy code that does for runs already in flight (keep the old code path for them), or terminate those runs. ` +
        `The workflow task fails and is retried; the run stays open.`,
    );
    this.eventId = eventId;
    this.recorded = recorded;
    this.produced = produced;
  }
}

export interface MatchOptions {
  /**
   * Event id reported when the workflow produced more commands than the history recorded:
   * the id of the batch's WorkflowTaskCompleted (where the extra command's event would have
   * been). Default: the id after the last recorded command, or 0.
   */
  readonly extraCommandEventId?: number;
}

/**
 * Checks one replayed activation: the produced commands must equal the recorded command
 * events one by one, by kind, seq and (for activities) activity type. Arguments, options and
 * timer durations are not compared (as in Temporal): changing them is a compatible change.
 * PURE.
 *
 * @throws NonDeterminismError at the first difference (a different kind/seq/type, a missing
 *   or an extra command).
 */
export function matchCommands(produced: readonly WorkflowCommand[], recorded: readonly HistoryEvent[], options: MatchOptions = {}): void {
  const n = Math.max(produced.length, recorded.length);
  for (let i = 0; i < n; i++) {
    const p = i < produced.length ? summarizeProduced(produced[i]) : undefined;
    const r = i < recorded.length ? summarizeRecorded(recorded[i]) : undefined;
    if (p && r && same(p, r)) continue;
    const eventId = r?.eventId ?? options.extraCommandEventId ?? (recorded.length > 0 ? recorded[recorded.length - 1].eventId + 1 : 0);
    throw new NonDeterminismError(eventId, r, p);
  }
}

function same(p: ProducedCommand, r: RecordedCommand): boolean {
  return COMMAND_EVENT[p.kind] === r.eventType && p.seq === r.seq && p.activityType === r.activityType;
}

export function summarizeProduced(command: WorkflowCommand): ProducedCommand {
  switch (command.kind) {
    case 'ScheduleActivity':
      return { kind: command.kind, seq: command.seq, activityType: command.activityType };
    case 'StartTimer':
    case 'CancelTimer':
      return { kind: command.kind, seq: command.seq };
    case 'CompleteWorkflow':
    case 'FailWorkflow':
    case 'CancelWorkflow':
      return { kind: command.kind };
    default:
      return assertNever(command, 'command');
  }
}

export function summarizeRecorded(event: HistoryEvent): RecordedCommand {
  switch (event.eventType) {
    case 'ActivityTaskScheduled':
      return { eventId: event.eventId, eventType: event.eventType, seq: event.attributes.seq, activityType: event.attributes.activityType };
    case 'TimerStarted':
    case 'TimerCanceled':
      return { eventId: event.eventId, eventType: event.eventType, seq: event.attributes.seq };
    default:
      return { eventId: event.eventId, eventType: event.eventType };
  }
}

function args(seq: number | undefined, activityType: string | undefined): string {
  const parts: string[] = [];
  if (seq !== undefined) parts.push(`seq ${seq}`);
  if (activityType !== undefined) parts.push(`'${activityType}'`);
  return parts.length ? `(${parts.join(', ')})` : '';
}

function describeRecorded(r: RecordedCommand): string {
  return `${r.eventType}${args(r.seq, r.activityType)}`;
}

function describeProduced(p: ProducedCommand): string {
  return `${p.kind}${args(p.seq, p.activityType)}`;
}
