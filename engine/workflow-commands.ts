import type { Kysely } from 'kysely';
import type { Database } from './db/database.js';
import {
  prepareCancelExternal,
  prepareSignalExternal,
  prepareStartChild,
  validateMemo,
  validateSeq,
  validateTimeoutMs,
  type ChildStartRow,
  type ExternalCancelRow,
  type ExternalSignalRow,
} from './children.js';
import { InvalidArgumentError } from './errors.js';
import type { NewEvent } from './history.js';
import type { LimitSettings } from './limits.js';
import { assertNever, type SearchAttributes, type SearchAttributeValue, type WorkflowCommand } from './protocol/index.js';
import { getSearchAttributeTypes, mergeSearchAttributes, validateSearchAttributes, type SearchAttributeTypes } from './search-attributes.js';
import { validateName, validatePayload, validatePayloads, validatePayloadSize } from './validation.js';

/**
 * A completion's commands as the parameters of chronicle.record_workflow_task
 * (migrations/0004): one history event per command (RejectUpdate records none), the rows to
 * create, the run's close, and `effects` for everything else (null when the batch only
 * schedules activities and timers, the hot path).
 */
export interface PreparedCommands {
  readonly commandEvents: string;
  readonly activities: string;
  readonly timers: string;
  readonly canceledTimers: number[];
  readonly close: string | null;
  readonly effects: string | null;
}

export interface CommandContext {
  readonly limits: LimitSettings;
  /** The namespace's declared search attributes; needed when a command carries search attributes. */
  readonly searchAttributeTypes?: SearchAttributeTypes;
  /** Recorded in the WorkflowTaskCompleted event (what the task reported to the workflow). */
  readonly taskInfo?: { readonly historySizeBytes?: number; readonly continueAsNewSuggested?: boolean };
}

/** The update commands of a batch, one final state per update id. */
interface UpdateRow {
  update_id: string;
  stage: 'ACCEPTED' | 'COMPLETED';
  outcome: unknown;
  name?: string;
  args?: readonly unknown[];
}

interface Effects {
  wtc?: { historySizeBytes?: number; continueAsNewSuggested?: boolean };
  upsert?: SearchAttributes;
  updates?: UpdateRow[];
  children?: ChildStartRow[];
  signals?: ExternalSignalRow[];
  cancels?: ExternalCancelRow[];
  cancelActivities?: number[];
}

/** True when some command carries search attributes, which need the namespace's declarations. */
export function commandsNeedSearchAttributeTypes(commands: readonly WorkflowCommand[]): boolean {
  return commands.some(
    (c) =>
      c.kind === 'UpsertSearchAttributes' ||
      ((c.kind === 'StartChildWorkflow' || c.kind === 'ContinueAsNew') && c.searchAttributes !== undefined),
  );
}

/**
 * prepareCommands, reading the namespace's search attribute declarations first when a
 * command needs them (one query; never on the activity-and-timer hot path).
 */
export async function prepareCompletionCommands(
  db: Kysely<Database>,
  namespace: string,
  commands: readonly WorkflowCommand[],
  ctx: CommandContext,
): Promise<PreparedCommands> {
  if (!Array.isArray(commands)) throw new InvalidArgumentError('commands', 'must be an array of workflow commands');
  const types = commandsNeedSearchAttributeTypes(commands) ? await getSearchAttributeTypes(db, namespace) : undefined;
  return prepareCommands(commands, { ...ctx, ...(types ? { searchAttributeTypes: types } : {}) });
}

/**
 * Validates commands and turns them into the parameters of chronicle.record_workflow_task.
 * Throws InvalidArgumentError naming the command and field before anything is written; the
 * worker then fails the task with cause BAD_COMMAND.
 */
export function prepareCommands(commands: readonly WorkflowCommand[], ctx: CommandContext): PreparedCommands {
  const commandEvents: NewEvent[] = [];
  const activities: Record<string, unknown>[] = [];
  const timers: { seq: number; duration_ms: number }[] = [];
  const canceledTimers: number[] = [];
  const effects: Effects = {};
  const updates = new Map<string, UpdateRow>();
  let close: Record<string, unknown> | undefined;
  const types = ctx.searchAttributeTypes;

  for (const [i, cmd] of commands.entries()) {
    const field = `commands[${i}]`;
    if (close) throw new InvalidArgumentError(field, `follows a command that closes the run (${String(close.status)}); a workflow ends with its last command`);
    switch (cmd.kind) {
      case 'ScheduleActivity': {
        validatePayloads(`${field}.args`, cmd.args);
        const o = cmd.options;
        if (!(o.startToCloseTimeoutMs > 0)) throw new InvalidArgumentError(`${field}.options.startToCloseTimeoutMs`, 'must be a positive number of milliseconds');
        if (!Number.isInteger(o.priority) || o.priority < 0 || o.priority > 100) {
          throw new InvalidArgumentError(`${field}.options.priority`, `must be an integer from 0 to 100, got ${o.priority}`);
        }
        // Without a task queue the activity runs on the workflow's; the completing
        // transaction fills it in (it knows the run's queue, this code does not).
        commandEvents.push({
          eventType: 'ActivityTaskScheduled',
          attributes: { seq: cmd.seq, activityType: cmd.activityType, taskQueue: cmd.taskQueue as string, args: cmd.args, options: cmd.options },
        });
        activities.push({
          seq: cmd.seq,
          activity_type: cmd.activityType,
          task_queue: cmd.taskQueue ?? null,
          args: cmd.args,
          priority: o.priority,
          start_to_close_ms: o.startToCloseTimeoutMs,
          heartbeat_timeout_ms: o.heartbeatTimeoutMs ?? null,
          schedule_to_close_ms: o.scheduleToCloseTimeoutMs ?? null,
          retry_policy: o.retry,
        });
        break;
      }
      case 'RequestCancelActivity':
        validateSeq(`${field}.seq`, cmd.seq);
        commandEvents.push({ eventType: 'ActivityTaskCancelRequested', attributes: { seq: cmd.seq } });
        (effects.cancelActivities ??= []).push(cmd.seq);
        break;
      case 'StartTimer': {
        const durationMs = Math.max(1, Math.round(cmd.durationMs));
        if (!Number.isFinite(durationMs)) throw new InvalidArgumentError(`${field}.durationMs`, 'must be a finite number');
        // fireAt is filled in by the completing transaction from the database clock, never a worker's.
        commandEvents.push({ eventType: 'TimerStarted', attributes: { seq: cmd.seq, durationMs, fireAt: 0 } });
        timers.push({ seq: cmd.seq, duration_ms: durationMs });
        break;
      }
      case 'CancelTimer':
        commandEvents.push({ eventType: 'TimerCanceled', attributes: { seq: cmd.seq } });
        canceledTimers.push(cmd.seq);
        break;
      case 'RecordMarker': {
        const markerName = validateName(`${field}.markerName`, cmd.markerName);
        if (typeof cmd.details !== 'object' || cmd.details === null || Array.isArray(cmd.details)) {
          throw new InvalidArgumentError(`${field}.details`, 'must be an object');
        }
        validatePayload(`${field}.details`, cmd.details);
        commandEvents.push({ eventType: 'MarkerRecorded', attributes: { markerName, details: cmd.details } });
        break;
      }
      case 'UpsertSearchAttributes': {
        const delta = validateSearchAttributes(`${field}.searchAttributes`, cmd.searchAttributes, types ?? new Map(), { forUpsert: true });
        commandEvents.push({ eventType: 'UpsertWorkflowSearchAttributes', attributes: { searchAttributes: delta } });
        effects.upsert = mergeUpsert(effects.upsert, delta);
        break;
      }
      case 'StartChildWorkflow': {
        const { event, row } = prepareStartChild(cmd, field, types);
        commandEvents.push(event);
        (effects.children ??= []).push(row);
        break;
      }
      case 'SignalExternalWorkflow': {
        const { event, row } = prepareSignalExternal(cmd, field);
        commandEvents.push(event);
        (effects.signals ??= []).push(row);
        break;
      }
      case 'RequestCancelExternalWorkflow': {
        const { event, row } = prepareCancelExternal(cmd, field);
        commandEvents.push(event);
        (effects.cancels ??= []).push(row);
        break;
      }
      case 'AcceptUpdate': {
        const updateId = validateName(`${field}.updateId`, cmd.updateId);
        const name = validateName(`${field}.name`, cmd.name);
        validatePayloads(`${field}.args`, cmd.args);
        commandEvents.push({ eventType: 'WorkflowExecutionUpdateAccepted', attributes: { updateId, name, args: cmd.args } });
        const prior = updates.get(updateId);
        if (prior?.stage === 'COMPLETED') throw new InvalidArgumentError(field, `accepts update '${updateId}', which an earlier command of this task completed or rejected`);
        updates.set(updateId, { update_id: updateId, stage: 'ACCEPTED', outcome: null, name, args: cmd.args });
        break;
      }
      case 'RejectUpdate': {
        // No history event: a rejected update leaves no trace in the run (SEMANTICS 4).
        const updateId = validateName(`${field}.updateId`, cmd.updateId);
        if (typeof cmd.failure !== 'object' || cmd.failure === null) throw new InvalidArgumentError(`${field}.failure`, 'must be a FailureInfo');
        validatePayload(`${field}.failure`, cmd.failure);
        if (updates.has(updateId)) throw new InvalidArgumentError(field, `rejects update '${updateId}', which an earlier command of this task accepted or completed`);
        updates.set(updateId, { update_id: updateId, stage: 'COMPLETED', outcome: { failure: cmd.failure } });
        break;
      }
      case 'CompleteUpdate': {
        const updateId = validateName(`${field}.updateId`, cmd.updateId);
        const o = cmd.outcome as { result?: unknown; failure?: unknown } | undefined;
        if (typeof o !== 'object' || o === null || !('result' in o || 'failure' in o)) {
          throw new InvalidArgumentError(`${field}.outcome`, 'must be { result } or { failure }');
        }
        validatePayload(`${field}.outcome`, o);
        const outcome = 'failure' in o && o.failure !== undefined ? { failure: o.failure } : { result: o.result === undefined ? null : o.result };
        commandEvents.push({ eventType: 'WorkflowExecutionUpdateCompleted', attributes: { updateId, outcome } as never });
        const prior = updates.get(updateId);
        updates.set(updateId, { ...(prior ?? { update_id: updateId }), stage: 'COMPLETED', outcome });
        break;
      }
      case 'CompleteWorkflow':
        validatePayload(`${field}.result`, cmd.result);
        commandEvents.push({ eventType: 'WorkflowExecutionCompleted', attributes: { result: cmd.result === undefined ? null : cmd.result } });
        close = { status: 'COMPLETED', result: cmd.result === undefined ? null : cmd.result };
        break;
      case 'FailWorkflow':
        if (typeof cmd.failure !== 'object' || cmd.failure === null) throw new InvalidArgumentError(`${field}.failure`, 'must be a FailureInfo');
        commandEvents.push({ eventType: 'WorkflowExecutionFailed', attributes: { failure: cmd.failure } });
        close = { status: 'FAILED', failure: cmd.failure };
        break;
      case 'CancelWorkflow':
        commandEvents.push({ eventType: 'WorkflowExecutionCanceled', attributes: cmd.details === undefined ? {} : { details: cmd.details } });
        close = { status: 'CANCELLED', ...(cmd.details !== undefined ? { result: cmd.details } : {}) };
        break;
      case 'ContinueAsNew': {
        const workflowType = cmd.workflowType === undefined ? undefined : validateName(`${field}.workflowType`, cmd.workflowType);
        const taskQueue = cmd.taskQueue === undefined ? undefined : validateName(`${field}.taskQueue`, cmd.taskQueue);
        validatePayloads(`${field}.args`, cmd.args);
        const searchAttributes = cmd.searchAttributes === undefined ? undefined : validateSearchAttributes(`${field}.searchAttributes`, cmd.searchAttributes, types ?? new Map());
        const memo = validateMemo(`${field}.memo`, cmd.memo);
        const runTimeout = validateTimeoutMs(`${field}.workflowRunTimeoutMs`, cmd.workflowRunTimeoutMs);
        const next = {
          ...(workflowType ? { workflowType } : {}),
          ...(taskQueue ? { taskQueue } : {}),
          args: cmd.args,
          ...(searchAttributes ? { searchAttributes } : {}),
          ...(memo ? { memo } : {}),
          ...(runTimeout ? { workflowRunTimeoutMs: runTimeout } : {}),
        };
        // newExecutionRunId (and a defaulted type or queue) is filled in by the completing
        // transaction, which chooses the new run's id.
        commandEvents.push({ eventType: 'WorkflowExecutionContinuedAsNew', attributes: next as never });
        close = { status: 'CONTINUED_AS_NEW', continueAsNew: next };
        break;
      }
      default:
        assertNever(cmd, 'workflow command');
    }
  }

  if (updates.size) effects.updates = [...updates.values()];
  const info = ctx.taskInfo;
  if (info && (info.historySizeBytes !== undefined || info.continueAsNewSuggested !== undefined)) {
    effects.wtc = {
      ...(Number.isSafeInteger(info.historySizeBytes) ? { historySizeBytes: info.historySizeBytes } : {}),
      ...(typeof info.continueAsNewSuggested === 'boolean' ? { continueAsNewSuggested: info.continueAsNewSuggested } : {}),
    };
  }

  const commandEventsJson = JSON.stringify(commandEvents);
  const effectsJson = Object.keys(effects).length ? JSON.stringify(effects) : null;
  checkPayloadSizes(commands, commandEventsJson, effectsJson, ctx.limits.payloadMaxBytes);
  return {
    commandEvents: commandEventsJson,
    activities: JSON.stringify(activities),
    timers: JSON.stringify(timers),
    canceledTimers,
    close: close ? JSON.stringify(close) : null,
    effects: effectsJson,
  };
}

/** Later keys of an upsert win; the SQL merge applies the combined delta once. */
function mergeUpsert(prior: SearchAttributes | undefined, delta: SearchAttributes): SearchAttributes {
  const out: Record<string, readonly SearchAttributeValue[]> = { ...(prior ?? {}) };
  for (const [k, v] of Object.entries(delta)) out[k] = v;
  return out;
}

/**
 * Each payload a command carries must fit `payloadMaxBytes`. Every payload is inside the
 * JSON of the command events or of the effects (a rejection's failure), so when those are
 * below the limit no single payload can exceed it: the common case costs two lengths.
 */
function checkPayloadSizes(commands: readonly WorkflowCommand[], eventsJson: string, effectsJson: string | null, maxBytes: number): void {
  // UTF-8 bytes ≤ 3 × UTF-16 length.
  const chars = eventsJson.length + (effectsJson?.length ?? 0);
  if (chars * 3 <= maxBytes || Buffer.byteLength(eventsJson, 'utf8') + Buffer.byteLength(effectsJson ?? '', 'utf8') <= maxBytes) return;
  for (const [i, cmd] of commands.entries()) {
    const f = `commands[${i}]`;
    switch (cmd.kind) {
      case 'ScheduleActivity':
      case 'StartChildWorkflow':
      case 'SignalExternalWorkflow':
      case 'AcceptUpdate':
      case 'ContinueAsNew':
        cmd.args.forEach((a, j) => validatePayloadSize(`${f}.args[${j}]`, a, maxBytes));
        if ((cmd.kind === 'StartChildWorkflow' || cmd.kind === 'ContinueAsNew') && cmd.memo !== undefined) {
          validatePayloadSize(`${f}.memo`, cmd.memo, maxBytes);
        }
        break;
      case 'CompleteWorkflow':
        validatePayloadSize(`${f}.result`, cmd.result, maxBytes);
        break;
      case 'FailWorkflow':
      case 'RejectUpdate':
        validatePayloadSize(`${f}.failure`, cmd.failure, maxBytes);
        break;
      case 'CancelWorkflow':
        if (cmd.details !== undefined) validatePayloadSize(`${f}.details`, cmd.details, maxBytes);
        break;
      case 'CompleteUpdate':
        validatePayloadSize(`${f}.outcome`, cmd.outcome, maxBytes);
        break;
      case 'RecordMarker':
        validatePayloadSize(`${f}.details`, cmd.details, maxBytes);
        break;
      case 'UpsertSearchAttributes':
        validatePayloadSize(`${f}.searchAttributes`, cmd.searchAttributes, maxBytes);
        break;
      case 'RequestCancelActivity':
      case 'StartTimer':
      case 'CancelTimer':
      case 'RequestCancelExternalWorkflow':
        break;
      default:
        assertNever(cmd, 'workflow command');
    }
  }
}
