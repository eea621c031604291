import { canonicalJson } from '../../engine/canonical-json.js';
import type { Logger } from '../../engine/logger.js';
import type { ActivityResolution, LocalActivityRequest, WorkflowRunInfo } from '../../engine/protocol/activation.js';
import { toFailureInfo, type FailureInfo } from '../../engine/protocol/failures.js';
import { findNonJsonValue } from '../../engine/protocol/payloads.js';
import { decideRetry } from '../../engine/retry.js';
import { activityInfoFromTask, Context, runWithContext } from '../activity/context.js';
import type { ActivityFunction } from './activity-runner.js';

/** The outcome of one local activity, as the workflow gets it back (a ResolveLocalActivity job). */
export interface LocalActivityResolution {
  readonly seq: number;
  readonly result: ActivityResolution;
  /** The attempt that produced the outcome. */
  readonly attempt: number;
}

export interface LocalActivityContext {
  readonly run: WorkflowRunInfo;
  readonly activities: Readonly<Record<string, ActivityFunction>>;
  readonly identity: string;
  readonly log: Logger;
  /**
   * When the workflow task's lease runs out (ms since epoch, this process's clock). Attempts
   * and backoffs never run past it: a local activity lives inside one workflow task.
   */
  readonly deadline: number;
  readonly random?: () => number;
}

/**
 * Runs the local activities one activation asked for, concurrently, each with local retries
 * per its retry policy (Temporal retries local activities in the worker too). Never throws:
 * every request ends in a resolution, a failure when attempts, the schedule-to-close time or
 * the workflow task's deadline run out.
 */
export function runLocalActivities(requests: readonly LocalActivityRequest[], ctx: LocalActivityContext): Promise<LocalActivityResolution[]> {
  return Promise.all(requests.map((req) => runOne(req, ctx)));
}

async function runOne(req: LocalActivityRequest, ctx: LocalActivityContext): Promise<LocalActivityResolution> {
  const fn = Object.prototype.hasOwnProperty.call(ctx.activities, req.activityType) ? ctx.activities[req.activityType] : undefined;
  if (typeof fn !== 'function') {
    const known = Object.keys(ctx.activities).sort();
    return failed(req, 1, 'NON_RETRYABLE_FAILURE', {
      failureType: 'application',
      type: 'ActivityNotRegisteredError',
      message:
        `Local activity '${req.activityType}' is not registered on worker ${ctx.identity}: local activities run in the worker ` +
        `that runs the workflow, so register it in that worker's activities; registered: ${known.join(', ') || 'none'}`,
      nonRetryable: true,
    });
  }
  const scheduledAt = Date.now();
  const scheduleToClose = req.options.scheduleToCloseTimeoutMs;
  const deadline = Math.min(ctx.deadline, scheduleToClose ? scheduledAt + scheduleToClose : Infinity);
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(fn, req, ctx, attempt, scheduledAt, deadline);
    if ('result' in outcome) return { seq: req.seq, attempt, result: { status: 'completed', result: outcome.result } };
    const decision = decideRetry({
      policy: req.options.retry,
      attempt,
      failure: outcome.failure,
      now: Date.now(),
      scheduleToCloseDeadline: deadline,
      random: ctx.random ?? Math.random,
    });
    if (!decision.retry) return failed(req, attempt, decision.retryState, outcome.failure);
    ctx.log.debug('local activity failed; retrying in the worker', { activityType: req.activityType, attempt, inMs: decision.delayMs });
    await new Promise((r) => setTimeout(r, decision.delayMs));
  }
}

async function attemptOnce(
  fn: ActivityFunction,
  req: LocalActivityRequest,
  ctx: LocalActivityContext,
  attempt: number,
  scheduledAt: number,
  deadline: number,
): Promise<{ result: unknown } | { failure: FailureInfo }> {
  const startedAt = Date.now();
  const timeoutMs = Math.max(1, Math.min(req.options.startToCloseTimeoutMs, deadline - startedAt));
  const controller = new AbortController();
  const info = activityInfoFromTask(
    {
      taskToken: '',
      namespace: ctx.run.namespace,
      workflowId: ctx.run.workflowId,
      runId: ctx.run.runId,
      workflowType: ctx.run.workflowType,
      activityType: req.activityType,
      activityId: String(req.seq),
      taskQueue: ctx.run.taskQueue,
      args: req.args,
      attempt,
      priority: req.options.priority,
      scheduledAt,
      startedAt,
      leaseExpiresAt: startedAt + timeoutMs,
      startToCloseTimeoutMs: req.options.startToCloseTimeoutMs,
      ...(req.options.scheduleToCloseTimeoutMs ? { scheduleToCloseTimeoutMs: req.options.scheduleToCloseTimeoutMs } : {}),
    },
    { isLocal: true },
  );
  // Local activities have no engine-side lease: heartbeats are accepted and go nowhere.
  const context = new Context(info, { heartbeat: () => undefined, signal: controller.signal });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<{ failure: FailureInfo }>((resolve) => {
    timer = setTimeout(() => {
      const failure: FailureInfo = { failureType: 'timeout', timeoutType: 'START_TO_CLOSE', message: `local activity start-to-close timeout (${timeoutMs} ms)` };
      controller.abort(new Error(failure.message));
      resolve({ failure });
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([
      runWithContext(context, async () => fn(...req.args)).then(
        (result): { result: unknown } | { failure: FailureInfo } => {
          const problem = findNonJsonValue(result, 'result');
          if (problem) {
            return { failure: { failureType: 'application', type: 'PayloadNotSerializableError', message: `local activity '${req.activityType}' returned ${problem}`, nonRetryable: true } };
          }
          // As it will read back from the marker's jsonb, so the live run and a replay see the same value.
          return { result: canonicalJson(result) };
        },
        (err: unknown) => ({ failure: toFailureInfo(err) }),
      ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function failed(req: LocalActivityRequest, attempt: number, retryState: NonNullable<FailureInfo['activity']>['retryState'], cause: FailureInfo): LocalActivityResolution {
  return {
    seq: req.seq,
    attempt,
    result: {
      status: 'failed',
      failure: {
        failureType: 'activity',
        message: 'Local activity failed',
        activity: { activityType: req.activityType, activityId: String(req.seq), retryState },
        cause,
      },
    },
  };
}
