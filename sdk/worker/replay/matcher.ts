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
  readonly workflowType?: string;
  readonly signalName?: string;
  readonly markerName?: string;
  readonly patchId?: string;
  readonly updateId?: string;
}

/** A produced command, reduced to what replay compares. */
export interface ProducedCommand {
  readonly kind: WorkflowCommand['kind'];
  readonly seq?: number;
  readonly activityType?: string;
  readonly workflowType?: string;
  readonly signalName?: string;
  readonly markerName?: string;
  readonly patchId?: string;
  readonly updateId?: string;
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
 * Checks one replayed workflow task: the produced commands must equal the recorded command
 * events one by one, by kind and by what identifies them: seq (and activity type, child
 * workflow type, signal name) for operations; marker name and patch id or seq for markers;
 * update id for updates. Arguments, options, timer durations, marker and search-attribute
 * contents are not compared (as in Temporal): changing them is a compatible change. PURE.
 *
 * RejectUpdate records nothing and is not compared. A recorded *deprecated* `core_patch`
 * marker that the code did not produce is skipped (plan §10): code that dropped the
 * `deprecatePatch` call still replays histories that recorded it.
 *
 * @throws NonDeterminismError at the first difference (a different command, a missing
 *   or an extra command).
 */
export function matchCommands(produced: readonly WorkflowCommand[], recorded: readonly HistoryEvent[], options: MatchOptions = {}): void {
  const made = produced.filter((c) => COMMAND_EVENT[c.kind] !== null).map(summarizeProduced);
  let p = 0;
  let r = 0;
  while (p < made.length || r < recorded.length) {
    const want = r < recorded.length ? summarizeRecorded(recorded[r]) : undefined;
    const got = p < made.length ? made[p] : undefined;
    if (got && want && same(got, want)) {
      p++;
      r++;
      continue;
    }
    if (want && isDeprecatedPatchMarker(recorded[r])) {
      r++;
      continue;
    }
    const eventId = want?.eventId ?? options.extraCommandEventId ?? (recorded.length > 0 ? recorded[recorded.length - 1].eventId + 1 : 0);
    throw new NonDeterminismError(eventId, want, got);
  }
}

const COMPARED = ['seq', 'activityType', 'workflowType', 'signalName', 'markerName', 'patchId', 'updateId'] as const;

function same(p: ProducedCommand, r: RecordedCommand): boolean {
  return COMMAND_EVENT[p.kind] === r.eventType && COMPARED.every((key) => p[key] === r[key]);
}

function isDeprecatedPatchMarker(event: HistoryEvent): boolean {
  return event.eventType === 'MarkerRecorded' && event.attributes.markerName === 'core_patch' && event.attributes.details.deprecated === true;
}

/** What identifies a marker: a patch by its id, a local activity (and any other marker) by its seq. */
function markerKey(markerName: string, details: Readonly<Record<string, unknown>>): Pick<ProducedCommand, 'markerName' | 'patchId' | 'seq' | 'activityType'> {
  if (markerName === 'core_patch') return { markerName, patchId: String(details.patchId) };
  return {
    markerName,
    ...(typeof details.seq === 'number' ? { seq: details.seq } : {}),
    ...(typeof details.activityType === 'string' ? { activityType: details.activityType } : {}),
  };
}

export function summarizeProduced(command: WorkflowCommand): ProducedCommand {
  const kind = command.kind;
  switch (command.kind) {
    case 'ScheduleActivity':
      return { kind, seq: command.seq, activityType: command.activityType };
    case 'StartChildWorkflow':
      return { kind, seq: command.seq, workflowType: command.workflowType };
    case 'SignalExternalWorkflow':
      return { kind, seq: command.seq, signalName: command.signalName };
    case 'RequestCancelActivity':
    case 'StartTimer':
    case 'CancelTimer':
    case 'RequestCancelExternalWorkflow':
      return { kind, seq: command.seq };
    case 'RecordMarker':
      return { kind, ...markerKey(command.markerName, command.details) };
    case 'AcceptUpdate':
    case 'RejectUpdate':
    case 'CompleteUpdate':
      return { kind, updateId: command.updateId };
    case 'UpsertSearchAttributes':
    case 'CompleteWorkflow':
    case 'FailWorkflow':
    case 'CancelWorkflow':
    case 'ContinueAsNew':
      return { kind };
    default:
      return assertNever(command, 'command');
  }
}

export function summarizeRecorded(event: HistoryEvent): RecordedCommand {
  const base = { eventId: event.eventId, eventType: event.eventType };
  switch (event.eventType) {
    case 'ActivityTaskScheduled':
      return { ...base, seq: event.attributes.seq, activityType: event.attributes.activityType };
    case 'StartChildWorkflowExecutionInitiated':
      return { ...base, seq: event.attributes.seq, workflowType: event.attributes.workflowType };
    case 'SignalExternalWorkflowExecutionInitiated':
      return { ...base, seq: event.attributes.seq, signalName: event.attributes.signalName };
    case 'ActivityTaskCancelRequested':
    case 'TimerStarted':
    case 'TimerCanceled':
    case 'RequestCancelExternalWorkflowExecutionInitiated':
      return { ...base, seq: event.attributes.seq };
    case 'MarkerRecorded':
      return { ...base, ...markerKey(event.attributes.markerName, event.attributes.details) };
    case 'WorkflowExecutionUpdateAccepted':
    case 'WorkflowExecutionUpdateCompleted':
      return { ...base, updateId: event.attributes.updateId };
    default:
      return base;
  }
}

function describeFields(c: Omit<ProducedCommand, 'kind'>): string {
  const parts: string[] = [];
  if (c.markerName !== undefined) parts.push(c.markerName);
  if (c.patchId !== undefined) parts.push(`patch '${c.patchId}'`);
  if (c.seq !== undefined) parts.push(`seq ${c.seq}`);
  for (const name of [c.activityType, c.workflowType, c.signalName]) if (name !== undefined) parts.push(`'${name}'`);
  if (c.updateId !== undefined) parts.push(`update '${c.updateId}'`);
  return parts.length ? `(${parts.join(', ')})` : '';
}

function describeRecorded(r: RecordedCommand): string {
  return `${r.eventType}${describeFields(r)}`;
}

function describeProduced(p: ProducedCommand): string {
  return `${p.kind}${describeFields(p)}`;
}
