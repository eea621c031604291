import type { Engine } from '../../engine/engine.js';
import { ChronicleError, StaleTaskError } from '../../engine/errors.js';
import { failpoint } from '../../engine/failpoints.js';
import type { Logger } from '../../engine/logger.js';
import { toFailureInfo, type ActivityTask, type FailureInfo, type WorkflowCommand, type WorkflowTask } from '../../engine/protocol/index.js';
import type { ActivityAndWorkflowTaskCompletionResult } from '../../engine/engine.js';
import { activityInfoFromTask, Context, runWithContext } from '../activity/context.js';
import { CompleteAsyncError } from '../activity/index.js';

/** An activity implementation: any async function; its arguments and result are JSON. */
export type ActivityFunction = (...args: any[]) => Promise<unknown> | unknown;

export interface ActivityRunnerOptions {
  readonly engine: Engine;
  readonly activities: Readonly<Record<string, ActivityFunction>>;
  readonly identity: string;
  readonly log: Logger;
  /**
   * Eager workflow tasks: when the worker also runs workflows, a completed activity can take
   * its run's next workflow task straight from the completing transaction. `reserve` takes a
   * workflow-task slot and returns the worker's queue (or undefined when none is free);
   * `run` runs a task in the reserved slot; `release` gives the slot back unused.
   */
  readonly eagerWorkflowTasks?: {
    reserve(): string | undefined;
    release(): void;
    run(task: WorkflowTask): void;
  };
  /**
   * One commit for a result and the workflow task it unblocks: `prepare` runs the workflow
   * over the result on the worker's cached copy of the run (undefined when the run is not
   * cached here, busy, or no slot is free); `finish` settles that copy with the engine's
   * answer (undefined when the call failed).
   */
  readonly speculation?: {
    prepare(task: ActivityTask, result: unknown): SpeculativeWorkflowTask | undefined;
    finish(spec: SpeculativeWorkflowTask, outcome: ActivityAndWorkflowTaskCompletionResult | undefined): void;
  };
}

/** A workflow task run ahead of the activity result's commit, waiting to be sent with it. */
export interface SpeculativeWorkflowTask {
  readonly previousCompletedEventId: number;
  readonly workflowTime: number;
  readonly commands: readonly WorkflowCommand[];
  readonly eagerActivitySlots: number;
  readonly eagerWorkflowTaskQueue: string;
  readonly historySizeBytes?: number;
  readonly continueAsNewSuggested?: boolean;
}

/** Tries at reporting an outcome before leaving it to the lease's expiry. */
const REPORT_ATTEMPTS = 4;

/** Heartbeats are sent at most this often when no heartbeat timeout is set (Temporal's default). */
const DEFAULT_HEARTBEAT_THROTTLE_MS = 30_000;

/**
 * Runs one activity attempt: context, heartbeats (throttled, carrying cancellation back),
 * a local start-to-close deadline, and the report of the outcome to the engine.
 */
export class ActivityRunner {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly opts: ActivityRunnerOptions) {}

  /** Aborts every running attempt (worker shutdown after its grace time). */
  abortAll(reason: string): void {
    for (const c of this.running.values()) c.abort(new AttemptAborted('shutdown', reason));
  }

  async run(task: ActivityTask): Promise<void> {
    const { engine, identity, log } = this.opts;
    const fn = Object.prototype.hasOwnProperty.call(this.opts.activities, task.activityType)
      ? this.opts.activities[task.activityType]
      : undefined;
    if (typeof fn !== 'function') {
      // Retryable on purpose: deploying a worker that has the activity fixes the run.
      const known = Object.keys(this.opts.activities).sort();
      await this.report(task, {
        failure: {
          failureType: 'application',
          type: 'ActivityNotRegisteredError',
          message: `Activity '${task.activityType}' is not registered on worker ${identity} (task queue '${task.taskQueue}'); registered: ${known.join(', ') || 'none'}`,
        },
      });
      return;
    }

    const controller = new AbortController();
    this.running.set(task.taskToken, controller);
    const heartbeats = new HeartbeatSender(engine, task, controller, log);
    const ctx = new Context(activityInfoFromTask(task), {
      heartbeat: (details?: unknown) => heartbeats.record(details),
      signal: controller.signal,
    });
    // Stop the attempt locally when its start-to-close time is up; the engine times the
    // lease out on its own clock regardless, so this only saves wasted work.
    const deadline = setTimeout(
      () => controller.abort(new AttemptAborted('timeout', `activity start-to-close timeout (${task.startToCloseTimeoutMs} ms)`)),
      task.startToCloseTimeoutMs,
    );
    deadline.unref?.();
    try {
      let outcome: { result: unknown } | { failure: FailureInfo } | undefined;
      try {
        const result = await runWithContext(ctx, async () => fn(...task.args));
        outcome = { result };
      } catch (err) {
        if (err instanceof CompleteAsyncError) {
          outcome = undefined; // completed later by task token, or times out
        } else {
          outcome = { failure: attemptFailure(err, controller.signal) };
        }
      }
      await failpoint('activity.afterExecute');
      await heartbeats.stop();
      if (outcome) await this.report(task, outcome);
    } finally {
      clearTimeout(deadline);
      this.running.delete(task.taskToken);
    }
  }

  /**
   * Reports the outcome, retrying transient errors (a dropped connection, a Postgres
   * restart) a few times with backoff: giving up means the lease runs out and the activity
   * runs again, so a short retry here saves a duplicate execution.
   */
  private async report(task: ActivityTask, outcome: { result: unknown } | { failure: FailureInfo }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.reportOnce(task, outcome);
      } catch (err) {
        if (attempt >= REPORT_ATTEMPTS || err instanceof ChronicleError) throw err;
        this.opts.log.warn('could not report the activity outcome; retrying', { activityType: task.activityType, attempt, error: err });
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
      }
    }
  }

  private async reportOnce(task: ActivityTask, outcome: { result: unknown } | { failure: FailureInfo }): Promise<void> {
    const { engine, identity, log } = this.opts;
    const eager = 'result' in outcome ? this.opts.eagerWorkflowTasks : undefined;
    let reservedQueue: string | undefined;
    try {
      await failpoint('activity.beforeCompleteCommit');
      if ('result' in outcome) {
        const spec = this.opts.speculation?.prepare(task, outcome.result);
        if (spec) {
          let settled: ActivityAndWorkflowTaskCompletionResult | undefined;
          try {
            settled = await engine.completeActivityAndWorkflowTask(task.taskToken, { result: outcome.result, identity, ...spec });
          } catch (err) {
            // Stale: handled below. Anything else: the result still has to be recorded, so
            // fall through to the ordinary completion (the speculation is dropped).
            if (err instanceof StaleTaskError) throw err;
            log.warn('combined completion failed; recording the activity result alone', { activityType: task.activityType, error: err });
          } finally {
            this.opts.speculation!.finish(spec, settled);
          }
          if (settled) return;
        }
        reservedQueue = eager?.reserve();
        const done = await engine.completeActivityTask(task.taskToken, {
          result: outcome.result,
          identity,
          ...(reservedQueue ? { eagerWorkflowTaskQueue: reservedQueue } : {}),
        });
        if (done.eagerWorkflowTask && reservedQueue) {
          reservedQueue = undefined;
          eager!.run(done.eagerWorkflowTask);
        }
      } else {
        await engine.failActivityTask(task.taskToken, { failure: outcome.failure, identity });
      }
    } catch (err) {
      if (err instanceof StaleTaskError) {
        log.warn('activity result dropped: this attempt no longer holds its lease (it timed out and was retried, or the run closed)', {
          activityType: task.activityType,
          workflowId: task.workflowId,
          attempt: task.attempt,
        });
        return;
      }
      const refused = resultRefusal(err);
      if ('result' in outcome && refused) {
        // The activity returned something the engine cannot store (not JSON, or over the
        // payload limit): that is the attempt's failure, and retrying returns the same.
        await this.reportOnce(task, { failure: { failureType: 'application', type: refused, message: (err as Error).message, nonRetryable: true } });
        return;
      }
      throw err;
    } finally {
      if (reservedQueue) eager!.release();
    }
  }
}

/** The failure type for a result the engine refused to store, or undefined for any other error. */
function resultRefusal(err: unknown): string | undefined {
  const e = err as { code?: string; field?: string };
  if (e.code === 'CHR_PAYLOAD_NOT_SERIALIZABLE') return 'PayloadNotSerializableError';
  if (e.code === 'CHR_INVALID_ARGUMENT' && e.field === 'result') return 'PayloadTooLargeError';
  return undefined;
}

/** Why the worker aborted an attempt's cancellation signal. */
class AttemptAborted extends Error {
  constructor(
    readonly kind: 'shutdown' | 'timeout' | 'cancel' | 'lease-lost',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The failure an attempt is reported with. A plain Error becomes a retryable application
 * failure of type `err.name` (Temporal's rule). When the worker itself aborted the attempt,
 * the reason decides, not what the activity threw in response: a requested cancellation is
 * a cancellation (not retried), while a shutdown or a local timeout must be retried.
 */
function attemptFailure(err: unknown, signal: AbortSignal): FailureInfo {
  const cause = toFailureInfo(err);
  const reason = signal.aborted ? signal.reason : undefined;
  if (!(reason instanceof AttemptAborted) || reason.kind === 'cancel') return cause;
  if (reason.kind === 'timeout') return { failureType: 'timeout', timeoutType: 'START_TO_CLOSE', message: reason.message, cause };
  return {
    failureType: 'application',
    type: reason.kind === 'shutdown' ? 'WorkerShutdown' : 'LeaseLost',
    message: reason.kind === 'shutdown' ? 'the worker shut down before the activity finished' : 'the attempt lost its lease',
    cause,
  };
}

/**
 * Throttles heartbeats to one in flight and at most one per interval (0.8 × heartbeat
 * timeout, else 30 s), always sending the latest details. A response saying the run asked
 * for cancellation, or a lost lease, aborts the attempt's signal.
 */
class HeartbeatSender {
  private latest: { details: unknown } | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSentAt = 0;
  private stopped = false;
  private readonly throttleMs: number;

  constructor(
    private readonly engine: Engine,
    private readonly task: ActivityTask,
    private readonly controller: AbortController,
    private readonly log: Logger,
  ) {
    this.throttleMs = task.heartbeatTimeoutMs ? Math.max(50, task.heartbeatTimeoutMs * 0.8) : DEFAULT_HEARTBEAT_THROTTLE_MS;
  }

  record(details: unknown): void {
    if (this.stopped) return;
    this.latest = { details };
    this.schedule();
  }

  private schedule(): void {
    if (this.inFlight || this.timer || !this.latest) return;
    const wait = this.lastSentAt + this.throttleMs - Date.now();
    if (wait > 0 && this.lastSentAt > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      this.timer.unref?.();
      return;
    }
    const { details } = this.latest;
    this.latest = undefined;
    this.lastSentAt = Date.now();
    this.inFlight = this.engine
      .heartbeatActivityTask(this.task.taskToken, details)
      .then((res) => {
        if (res.cancelRequested) this.controller.abort(new AttemptAborted('cancel', 'activity cancellation requested'));
      })
      .catch((err) => {
        if (err instanceof StaleTaskError) {
          this.controller.abort(new AttemptAborted('lease-lost', 'activity lease lost'));
          return;
        }
        this.log.warn('heartbeat failed; will retry with the next one', { activityType: this.task.activityType, error: err });
      })
      .finally(() => {
        this.inFlight = undefined;
        if (!this.stopped) this.schedule();
      });
  }

  /** Sends nothing more; waits for a heartbeat in flight so it cannot race the completion. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}
