/**
 * The activity context: what a running activity knows about itself (`info`) and the three ways
 * it talks to the worker while it runs: heartbeats out, cancellation in (`cancellationSignal`,
 * `cancelled`, and a cancellable `sleep`), and logs. Found through AsyncLocalStorage, so
 * activity code calls `Context.current()` (or the helpers in index.ts) from any depth of its
 * own call chain without threading a parameter, as in Temporal's `@temporalio/activity`.
 *
 * Activities run in the worker's Node realm, not in the workflow sandbox, so node:* is fine here.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { ChronicleError, PayloadNotSerializableError } from '../../engine/protocol/errors.js';
import { findNonJsonValue } from '../../engine/protocol/payloads.js';
import type { ActivityTask } from '../../engine/protocol/tasks.js';
import { CancelledFailure } from '../workflow/errors.js';

/**
 * Facts about the running activity attempt, with Temporal's `ActivityInfo` names (times as
 * `…TimestampMs`, durations as `…Ms`). Fixed for the attempt; a retry gets a new one.
 */
export interface ActivityInfo {
  /**
   * Identifies this attempt's claim. An activity that throws `CompleteAsyncError` hands it to
   * whoever will finish the work, which then calls `client.activity.complete(taskToken, result)`
   * (or `fail`, `heartbeat`, `reportCancellation`). A string, where Temporal's is a
   * `Uint8Array`; store it as is (the client also accepts its UTF-8 bytes). It names this
   * attempt only: after a timeout the retry gets a new token and the old one is refused.
   */
  readonly taskToken: string;
  /** The activity's seq within its run, as a string (`'1'`, `'2'`, …). */
  readonly activityId: string;
  /** The name the activity is registered under: the key in the worker's `activities` object. */
  readonly activityType: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly namespace: string;
  /** 1 for the first attempt, then 2, 3, … after retries. */
  readonly attempt: number;
  /**
   * Details of the last heartbeat recorded for this activity, by this attempt or an earlier
   * one; `undefined` when none. A retried attempt resumes from here (SEMANTICS item 8).
   */
  readonly heartbeatDetails: unknown;
  /** When the workflow scheduled the activity (first attempt), ms since epoch. */
  readonly scheduledTimestampMs: number;
  /** When this attempt was claimed by the worker, ms since epoch. */
  readonly startedTimestampMs: number;
  /**
   * When this attempt became runnable, ms since epoch. The task does not carry this yet, so
   * for attempts after the first it is the claim time, an upper bound on the true value.
   */
  readonly currentAttemptScheduledTimestampMs: number;
  readonly startToCloseTimeoutMs: number;
  readonly heartbeatTimeoutMs?: number;
  readonly scheduleToCloseTimeoutMs?: number;
  /** 0–100, higher was claimed first. */
  readonly priority: number;
  /** True for a local activity, run by the worker that runs the workflow. */
  readonly isLocal: boolean;
}

/** Builds the `ActivityInfo` of a claimed activity task. Pure. */
export function activityInfoFromTask(task: ActivityTask, options: { readonly isLocal?: boolean } = {}): ActivityInfo {
  return {
    taskToken: task.taskToken,
    activityId: task.activityId,
    activityType: task.activityType,
    workflowId: task.workflowId,
    runId: task.runId,
    workflowType: task.workflowType,
    taskQueue: task.taskQueue,
    namespace: task.namespace,
    attempt: task.attempt,
    heartbeatDetails: task.heartbeatDetails,
    scheduledTimestampMs: task.scheduledAt,
    startedTimestampMs: task.startedAt,
    currentAttemptScheduledTimestampMs: task.attempt === 1 ? task.scheduledAt : task.startedAt,
    startToCloseTimeoutMs: task.startToCloseTimeoutMs,
    heartbeatTimeoutMs: task.heartbeatTimeoutMs,
    scheduleToCloseTimeoutMs: task.scheduleToCloseTimeoutMs,
    priority: task.priority,
    isLocal: options.isLocal ?? false,
  };
}

export type LogAttributes = Readonly<Record<string, unknown>>;

/** The logger shape activity code sees as `Context.current().log`, and that a worker may supply. */
export interface Logger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const consoleLogger: Logger = {
  debug: (message, attributes) => (attributes ? console.debug(message, attributes) : console.debug(message)),
  info: (message, attributes) => (attributes ? console.info(message, attributes) : console.info(message)),
  warn: (message, attributes) => (attributes ? console.warn(message, attributes) : console.warn(message)),
  error: (message, attributes) => (attributes ? console.error(message, attributes) : console.error(message)),
};

/** @internal What the worker gives a Context besides the info. */
export interface ContextOptions {
  /**
   * Records a heartbeat. The worker throttles and sends it; it must not throw for transport
   * problems (a lost heartbeat shows up as a heartbeat timeout, which is retried).
   */
  readonly heartbeat: (details?: unknown) => void;
  /** Aborted by the worker when the activity is cancelled, times out, or the worker shuts down. */
  readonly signal: AbortSignal;
  /** Where `log` writes; the console when omitted. */
  readonly logger?: Logger;
}

// The store lives on globalThis under a registered symbol, so that two copies of this module
// (the worker importing it by path, activity code through the `chronicle/activity` export,
// or two installed versions of the package) share one context instead of the activity's
// copy reporting "not in an activity" while the worker's copy holds the context.
const STORAGE_KEY = Symbol.for('chronicle.activity.contextStorage');
const storage: AsyncLocalStorage<Context> = ((globalThis as Record<symbol, unknown>)[STORAGE_KEY] ??=
  new AsyncLocalStorage<Context>()) as AsyncLocalStorage<Context>;

/**
 * `setTimeout` fires at once (with a warning) for delays above 2^31 − 1 ms (~24.8 days), so a
 * longer sleep waits in chunks of at most this much.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The context of one running activity attempt.
 *
 * @example
 * ```ts
 * import { Context } from 'chronicle/activity';
 *
 * export async function copyFiles(files: string[]): Promise<void> {
 *   const ctx = Context.current();
 *   const start = (ctx.info.heartbeatDetails as number | undefined) ?? 0; // resume after a retry
 *   for (let i = start; i < files.length; i++) {
 *     await copy(files[i], { signal: ctx.cancellationSignal });
 *     ctx.heartbeat(i + 1); // also how cancellation reaches this attempt
 *   }
 * }
 * ```
 */
export class Context {
  /**
   * The context of the activity whose code is calling, through any number of awaits.
   *
   * @throws ChronicleError with code `CHR_NOT_IN_ACTIVITY_CONTEXT` outside an activity: at
   * module load, in workflow code, or in a callback that runs after the activity returned.
   */
  static current(): Context {
    const ctx = storage.getStore();
    if (ctx === undefined) {
      throw new ChronicleError(
        ERROR_CODES.NOT_IN_ACTIVITY_CONTEXT,
        'Context.current() was called outside an activity. Activity APIs (Context.current(), activityInfo(), heartbeat(), ' +
          'sleep(), cancellationSignal()) work only while a Chronicle worker is running an activity function, including ' +
          'code it calls and awaits. Call them from inside the activity, not at module load, from workflow code, or from ' +
          'a callback that runs after the activity has returned.',
      );
    }
    return ctx;
  }

  /** Facts about this attempt. Frozen. */
  readonly info: ActivityInfo;

  /**
   * Aborted when the activity is cancelled (or times out, or the worker shuts down). Pass it to
   * `fetch`, streams, child processes, … so they stop too. A cancel request reaches the
   * attempt only through a heartbeat response, so an activity that wants to be cancellable
   * must heartbeat (SEMANTICS item 7).
   */
  readonly cancellationSignal: AbortSignal;

  /**
   * Never resolves; rejects with a `CancelledFailure` when the activity is cancelled. Race it
   * with work that takes no signal: `await Promise.race([ctx.cancelled, work()])`. Nothing
   * needs to await it: an unobserved rejection is handled here and cannot crash the worker.
   */
  readonly cancelled: Promise<never>;

  /** A logger whose messages start with the activity type and attempt: `[chargeCard attempt 3] …`. */
  readonly log: Logger;

  /**
   * Records progress: the worker sends `details` to the engine, which extends the attempt's
   * lease when a heartbeat timeout is set and keeps the details for the next attempt
   * (`info.heartbeatDetails`). Also how a cancel request is learned. Cheap to call often: the
   * worker throttles what it sends.
   *
   * @throws PayloadNotSerializableError when `details` is not a JSON value; thrown here, at the
   * call, rather than failing later where the activity cannot see it.
   */
  readonly heartbeat: (details?: unknown) => void;

  /**
   * Waits `ms` (a number of milliseconds, or a string such as `'5s'` or `'1 minute'`; zero or
   * less waits for the next timer tick, like `setTimeout`), and rejects with a
   * `CancelledFailure` as soon as the activity is cancelled, at once when it already is. Use
   * it instead of `setTimeout` so that cancellation interrupts the wait.
   */
  readonly sleep: (ms: Duration) => Promise<void>;

  private failure: CancelledFailure | undefined;

  /**
   * @internal Built by the worker for each attempt; activity code gets its context from
   * `Context.current()`.
   */
  constructor(info: ActivityInfo, options: ContextOptions) {
    this.info = Object.freeze({ ...info });
    this.cancellationSignal = options.signal;
    const signal = options.signal;

    this.cancelled = new Promise<never>((_resolve, reject) => {
      if (signal.aborted) reject(this.cancellationFailure());
      else signal.addEventListener('abort', () => reject(this.cancellationFailure()), { once: true });
    });
    this.cancelled.catch(() => undefined);

    this.log = prefixedLogger(options.logger ?? consoleLogger, `[${info.activityType} attempt ${info.attempt}] `);

    this.heartbeat = (details?: unknown): void => {
      const problem = findNonJsonValue(details, 'details');
      if (problem !== undefined) throw new PayloadNotSerializableError('heartbeat(details)', problem);
      options.heartbeat(details);
    };

    this.sleep = (ms: Duration): Promise<void> => {
      let remaining: number;
      try {
        remaining = Math.max(0, parseDuration(ms, 'sleep(ms)'));
      } catch (err) {
        return Promise.reject(err);
      }
      if (signal.aborted) return Promise.reject(this.cancellationFailure());
      return new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout>;
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(this.cancellationFailure());
        };
        const wait = (): void => {
          const chunk = Math.min(remaining, MAX_TIMER_MS);
          remaining -= chunk;
          timer = setTimeout(() => {
            if (remaining > 0) return wait();
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, chunk);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        wait();
      });
    };
  }

  /**
   * One failure per context, so `cancelled`, every `sleep` and the worker see the same object.
   * The worker may abort with a CancelledFailure (used as is) or with a reason string such as
   * 'CANCELLED' or 'TIMED_OUT' (becomes the message).
   */
  private cancellationFailure(): CancelledFailure {
    if (this.failure === undefined) {
      const reason: unknown = this.cancellationSignal.reason;
      this.failure =
        reason instanceof CancelledFailure
          ? reason
          : new CancelledFailure(
              typeof reason === 'string'
                ? reason
                : reason instanceof Error && reason.name !== 'AbortError'
                  ? reason.message
                  : 'Activity cancelled',
            );
    }
    return this.failure;
  }
}

/**
 * Runs `fn` with `ctx` as `Context.current()` for everything it calls and awaits.
 * @internal For the worker's activity runner.
 */
export function runWithContext<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  return storage.run(ctx, fn);
}

function prefixedLogger(base: Logger, prefix: string): Logger {
  const log = {} as { -readonly [K in keyof Logger]: Logger[K] };
  for (const level of LOG_LEVELS) {
    log[level] = (message, attributes) => base[level](prefix + message, attributes);
  }
  return Object.freeze(log);
}
