import type { Activation, ActivationJob, ActivityResolution, WorkflowRunInfo } from '../../engine/protocol/activation.js';
import type { ScheduleActivityCommand, WorkflowCommand } from '../../engine/protocol/commands.js';
import { PayloadNotSerializableError, UnknownWorkflowTypeError } from '../../engine/protocol/errors.js';
import { toFailureInfo, type FailureInfo } from '../../engine/protocol/failures.js';
import { findNonJsonValue } from '../../engine/protocol/payloads.js';
import type { ActivityScheduleOptions } from '../../engine/protocol/retry-policy.js';
import {
  ActivityFailure,
  CancelledFailure,
  DeterminismViolationError,
  TemporalFailure,
  fromFailureInfo,
  isCancellation,
} from './errors.js';
import { DeterministicRandom } from './random.js';

/** What one activation produced: the commands, or the error that fails the workflow task. */
export type ActivationOutcome =
  | { readonly commands: WorkflowCommand[] }
  | { readonly error: FailureInfo; readonly kind: 'WORKFLOW_ERROR' };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Sends a log line to the worker's logger. Strings only: nothing of the sandbox leaks out. */
export type HostLog = (level: LogLevel, message: string, attributesJson: string) => void;

interface PendingActivity {
  readonly activityType: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingTimer {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Handlers for every job kind; adding a kind to ActivationJob breaks the build until handled here. */
type JobHandlers = { readonly [K in ActivationJob['kind']]: (job: Extract<ActivationJob, { kind: K }>) => void };

type WorkflowFunction = (...args: unknown[]) => unknown;

/**
 * All per-run state of one workflow execution inside its sandbox: the command buffer, the
 * per-kind sequence counters, the promises waiting for activity results and timers, the
 * workflow clock and random source, and how the run ended. One instance per run, created
 * when the sandbox is; the worker reaches it only through `worker-interface.ts`.
 *
 * Workflow-facing APIs (proxyActivities, sleep, …) call into it through `getActivator()`.
 */
export class Activator {
  readonly info: WorkflowRunInfo;
  readonly random: DeterministicRandom;
  /** Workflow time in ms: what `Date.now()` returns. Module evaluation sees the run's start time. */
  now: number;
  isReplaying = false;
  historyLength = 0;
  /** Set once the workflow's cancellation was requested; new cancellable operations reject with it. */
  cancelRequested: CancelledFailure | undefined;

  private readonly hostLog: HostLog | undefined;
  private workflows: Readonly<Record<string, unknown>> = {};
  private nextActivitySeq = 1;
  private nextTimerSeq = 1;
  private readonly activities = new Map<number, PendingActivity>();
  private readonly timers = new Map<number, PendingTimer>();
  private commands: WorkflowCommand[] = [];
  private started = false;
  /** A terminal command was issued; later commands are dropped, as Temporal does. */
  private closed = false;
  /** A plain error escaped the workflow: the task fails and this sandbox must be evicted. */
  private taskFailure: { readonly error: unknown } | undefined;

  private readonly handlers: JobHandlers = {
    StartWorkflow: (job) => this.startWorkflow(job.workflowType, job.args),
    ResolveActivity: (job) => this.resolveActivity(job.seq, job.result),
    FireTimer: (job) => this.fireTimer(job.seq),
    CancelWorkflow: (job) => this.cancelWorkflow(job.reason),
  };

  constructor(info: WorkflowRunInfo, hostLog?: HostLog) {
    this.info = info;
    this.now = info.startTime;
    this.random = new DeterministicRandom(info.runId);
    this.hostLog = hostLog;
  }

  /** The exports of the user's workflow module. */
  registerWorkflows(workflows: Readonly<Record<string, unknown>>): void {
    this.workflows = workflows;
  }

  /**
   * Applies an activation's jobs in the given order, synchronously. Promise continuations
   * (the workflow code after each `await`) run afterwards, when the sandbox drains the
   * microtask queue, so every job of the activation is applied before workflow code resumes.
   */
  activate(activation: Activation): void {
    this.now = activation.timestamp;
    this.isReplaying = activation.isReplaying;
    this.historyLength = activation.historyLength;
    if (this.taskFailure) return;
    try {
      for (const job of activation.jobs) {
        (this.handlers[job.kind] as (j: ActivationJob) => void)(job);
      }
    } catch (err) {
      this.failTask(err);
    }
  }

  /** Hands the activation's commands over (and clears the buffer), or the task failure. */
  conclude(): ActivationOutcome {
    if (this.taskFailure) return { error: toFailureInfo(this.taskFailure.error), kind: 'WORKFLOW_ERROR' };
    const commands = this.commands;
    this.commands = [];
    return { commands };
  }

  /** Records an error that fails the workflow task (not the workflow). The first one wins. */
  failTask(error: unknown): void {
    if (!this.taskFailure) this.taskFailure = { error };
  }

  scheduleActivity(activityType: string, args: readonly unknown[], options: ActivityScheduleOptions, taskQueue: string | undefined): Promise<unknown> {
    if (this.cancelRequested) return quietly(Promise.reject(this.cancelRequested));
    args.forEach((arg, i) => {
      const problem = findNonJsonValue(arg, `args[${i}]`);
      if (problem) throw new PayloadNotSerializableError(`args[${i}]`, `activity '${activityType}': ${problem}`);
    });
    const seq = this.nextActivitySeq++;
    const command: ScheduleActivityCommand = {
      kind: 'ScheduleActivity',
      seq,
      activityType,
      ...(taskQueue !== undefined ? { taskQueue } : {}),
      args: jsonClone(args) as unknown[],
      options,
    };
    return quietly(
      new Promise((resolve, reject) => {
        this.activities.set(seq, { activityType, resolve, reject });
        this.pushCommand(command);
      }),
    );
  }

  /** Starts a durable timer. `seq` is 0 when the workflow is already cancelled (nothing is started). */
  startTimer(durationMs: number): { readonly seq: number; readonly promise: Promise<void> } {
    if (this.cancelRequested) return { seq: 0, promise: quietly(Promise.reject(this.cancelRequested)) };
    const seq = this.nextTimerSeq++;
    const promise = new Promise<void>((resolve, reject) => {
      this.timers.set(seq, { resolve, reject });
      this.pushCommand({ kind: 'StartTimer', seq, durationMs });
    });
    return { seq, promise: quietly(promise) };
  }

  /** Cancels a timer that has not fired (a CancelTimer command); its promise never settles. */
  cancelTimer(seq: number): void {
    if (!this.timers.delete(seq)) return;
    this.pushCommand({ kind: 'CancelTimer', seq });
  }

  /** Routes a log line to the worker's logger; silent while replaying, so logs are not repeated. */
  log(level: LogLevel, message: string, attributes?: Readonly<Record<string, unknown>>): void {
    if (this.isReplaying || !this.hostLog) return;
    let json = '{}';
    try {
      json = JSON.stringify(attributes ?? {}) ?? '{}';
    } catch {
      json = '{"attributes":"(not serializable)"}';
    }
    this.hostLog(level, message, json);
  }

  private pushCommand(command: WorkflowCommand): void {
    if (this.closed) return;
    this.commands.push(command);
    if (command.kind === 'CompleteWorkflow' || command.kind === 'FailWorkflow' || command.kind === 'CancelWorkflow') {
      this.closed = true;
    }
  }

  private startWorkflow(workflowType: string, args: readonly unknown[]): void {
    if (this.started) throw new DeterminismViolationError(`StartWorkflow received twice for run ${this.info.runId}; the history is malformed`);
    const fn = this.workflows[workflowType];
    if (typeof fn !== 'function') {
      const known = Object.keys(this.workflows).filter((k) => typeof this.workflows[k] === 'function');
      throw new UnknownWorkflowTypeError(workflowType, this.info.taskQueue, known);
    }
    this.started = true;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve((fn as WorkflowFunction)(...args));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (value) => this.completeWorkflow(value),
      (err: unknown) => this.workflowThrew(err),
    );
  }

  private completeWorkflow(result: unknown): void {
    if (this.closed) return;
    const problem = findNonJsonValue(result, 'result');
    if (problem) {
      this.failTask(new PayloadNotSerializableError('result', `the workflow's return value: ${problem}`));
      return;
    }
    this.pushCommand({ kind: 'CompleteWorkflow', result: jsonClone(result) });
  }

  /**
   * A TemporalFailure fails the workflow; a cancellation after a cancel request cancels it;
   * anything else (a bug: TypeError, plain Error) fails only the workflow task.
   */
  private workflowThrew(err: unknown): void {
    if (this.closed) return;
    if (this.cancelRequested && isCancellation(err)) {
      this.pushCommand({ kind: 'CancelWorkflow' });
    } else if (err instanceof TemporalFailure) {
      this.pushCommand({ kind: 'FailWorkflow', failure: toFailureInfo(err) });
    } else {
      this.failTask(err);
    }
  }

  private resolveActivity(seq: number, resolution: ActivityResolution): void {
    const pending = this.activities.get(seq);
    if (!pending) {
      if (seq >= this.nextActivitySeq) {
        throw new DeterminismViolationError(`Activity seq ${seq} was resolved, but this workflow has scheduled only ${this.nextActivitySeq - 1} activities`);
      }
      return; // already settled (cancelled by the workflow's cancellation): the late result is dropped
    }
    this.activities.delete(seq);
    if (resolution.status === 'completed') {
      pending.resolve(resolution.result);
    } else {
      pending.reject(activityFailure(pending.activityType, seq, resolution.failure));
    }
  }

  private fireTimer(seq: number): void {
    const pending = this.timers.get(seq);
    if (!pending) {
      if (seq >= this.nextTimerSeq) {
        throw new DeterminismViolationError(`Timer seq ${seq} fired, but this workflow has started only ${this.nextTimerSeq - 1} timers`);
      }
      return; // cancelled before it fired
    }
    this.timers.delete(seq);
    pending.resolve();
  }

  /**
   * Cancels the root scope: every pending timer is cancelled (CancelTimer) and rejects with a
   * CancelledFailure; every pending activity rejects with an ActivityFailure whose cause is
   * that CancelledFailure. Operations started afterwards reject at once.
   */
  private cancelWorkflow(reason: string | undefined): void {
    if (this.cancelRequested || this.closed) return;
    const cancelled = new CancelledFailure(reason ?? 'Workflow cancelled');
    this.cancelRequested = cancelled;
    for (const [seq, pending] of this.activities) {
      pending.reject(new ActivityFailure('Activity task cancelled', pending.activityType, String(seq), 'CANCEL_REQUESTED', undefined, cancelled));
    }
    this.activities.clear();
    for (const [seq, pending] of this.timers) {
      this.pushCommand({ kind: 'CancelTimer', seq });
      pending.reject(cancelled);
    }
    this.timers.clear();
  }
}

/** Builds what an activity call rejects with, filling in what only the workflow knows (its type). */
function activityFailure(activityType: string, seq: number, failure: FailureInfo): ActivityFailure {
  if (failure.failureType === 'activity') {
    const cause = failure.cause ? fromFailureInfo(failure.cause) : undefined;
    return new ActivityFailure(
      failure.message,
      activityType,
      failure.activity?.activityId || String(seq),
      failure.activity?.retryState ?? 'UNSPECIFIED',
      undefined,
      cause,
    );
  }
  return new ActivityFailure('Activity task failed', activityType, String(seq), 'UNSPECIFIED', undefined, fromFailureInfo(failure));
}

/**
 * Marks an SDK promise as handled, so that a workflow which never awaits it (a timer or
 * activity left pending when the workflow is cancelled, say) does not report an unhandled
 * rejection to the worker process. Code that awaits it still sees the rejection.
 */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function jsonClone(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
