import { resolveActivityOptions, type ActivityOptions as ScheduleOptions } from '../../engine/protocol/activity-options.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { activityProxy, type ActivityInterfaceFor, type UntypedActivities } from './activities.js';
import { CancellationScope } from './cancellation-scope.js';
import { resolveActivityCancellationType, type ActivityCancellationType } from './cancellation-types.js';
import { getActivator } from './context.js';

/** Options of `proxyLocalActivities` (Temporal's `LocalActivityOptions`, the ones Chronicle runs). */
export interface LocalActivityOptions extends Pick<ScheduleOptions, 'startToCloseTimeout' | 'scheduleToCloseTimeout' | 'retry'> {
  /**
   * Default TRY_CANCEL. The worker runs a local activity to its end within the workflow
   * task, so on cancellation TRY_CANCEL and ABANDON reject the call at once (the outcome,
   * when it comes, is dropped) and WAIT_CANCELLATION_COMPLETED waits for the outcome.
   */
  readonly cancellationType?: ActivityCancellationType;
}

/**
 * Like `proxyActivities`, but each call runs as a *local activity*: in the worker that runs
 * the workflow, within the current workflow task (no activity task, no task queue round
 * trip), retried locally by its retry policy. Its outcome is recorded in history as a
 * `core_local_activity` marker, so a replay reads the marker and never runs it again. Use it
 * for short calls (milliseconds to seconds); a call that must outlive a workflow task, or
 * heartbeat, belongs in `proxyActivities`.
 *
 * Safe at module top level; options are validated at once.
 *
 * @example
 * const { lookupRate } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '5s' });
 */
export function proxyLocalActivities<A = UntypedActivities>(options: LocalActivityOptions): ActivityInterfaceFor<A> {
  for (const unsupported of ['taskQueue', 'heartbeatTimeout', 'priority'] as const) {
    if ((options as Record<string, unknown>)?.[unsupported] !== undefined) {
      throw new InvalidArgumentError(unsupported, `local activities run in the workflow's own worker and task; remove ${unsupported} or use proxyActivities`);
    }
  }
  const { options: scheduleOptions } = resolveActivityOptions(options);
  const cancellationType = resolveActivityCancellationType(options.cancellationType);
  return activityProxy<A>((activityType) => (...args: unknown[]) =>
    getActivator(`Calling local activity '${activityType}'`).localActivities.schedule(activityType, args, scheduleOptions, cancellationType, CancellationScope.current()),
  );
}
