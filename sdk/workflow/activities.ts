import { resolveActivityOptions, type ActivityOptions as ScheduleOptions } from '../../engine/protocol/activity-options.js';
import { CancellationScope } from './cancellation-scope.js';
import { resolveActivityCancellationType, type ActivityCancellationType } from './cancellation-types.js';
import { getActivator } from './context.js';

/** Any activity: an async (or sync) function of JSON arguments. */
export type ActivityFunction<P extends unknown[] = any[], R = any> = (...args: P) => R | Promise<R>;

/** The activities object of an untyped proxy: any name is an activity type. */
export type UntypedActivities = Record<string, ActivityFunction>;

/**
 * What `proxyActivities<typeof activities>()` returns: every activity, called from a workflow,
 * returns a promise of its result.
 */
export type ActivityInterfaceFor<A> = {
  [K in keyof A]: A[K] extends (...args: infer P) => infer R ? (...args: P) => Promise<Awaited<R>> : never;
};

/** Options of `proxyActivities`: the scheduling options plus what cancelling a call does. */
export interface ActivityOptions extends ScheduleOptions {
  /**
   * What cancelling the call's scope does; default `ActivityCancellationType.TRY_CANCEL`
   * (sdk-typescript's effective default). See `ActivityCancellationType`.
   */
  readonly cancellationType?: ActivityCancellationType;
}

/**
 * Returns an object whose properties schedule activities: `acts.chargeCard(order)` issues a
 * ScheduleActivity command for activity type `'chargeCard'` (the property name) and resolves
 * with the activity's result, or rejects with an `ActivityFailure` whose `cause` says why.
 *
 * Each call belongs to the current CancellationScope; when the scope is cancelled,
 * `cancellationType` decides what happens (TRY_CANCEL: the engine is asked to cancel it and
 * the call rejects at once with `ActivityFailure(cause: CancelledFailure)`).
 *
 * Safe to call at module top level and outside a workflow (a client importing the workflow
 * file): the options are validated here, at once, and nothing else happens. Only *calling* an
 * activity needs a running workflow; outside one it throws `NotInWorkflowContextError`
 * (CHR_NOT_IN_WORKFLOW_CONTEXT). Arguments must be JSON values (`PayloadNotSerializableError`
 * otherwise, naming `args[i]…`).
 *
 * @throws InvalidArgumentError (CHR_INVALID_ARGUMENT) naming the bad option: at least one of
 *   `startToCloseTimeout`/`scheduleToCloseTimeout` is required, intervals must be positive,
 *   `retry.backoffCoefficient` ≥ 1, `retry.maximumInterval` ≥ `retry.initialInterval`,
 *   `priority` an integer 0–100, `cancellationType` one of ActivityCancellationType.
 *
 * @example
 * import type * as activities from './activities.js';
 * const { chargeCard } = proxyActivities<typeof activities>({
 *   startToCloseTimeout: '1 minute',
 *   retry: { maximumAttempts: 5 },
 * });
 */
export function proxyActivities<A = UntypedActivities>(options: ActivityOptions): ActivityInterfaceFor<A> {
  const { options: scheduleOptions, taskQueue } = resolveActivityOptions(options);
  const cancellationType = resolveActivityCancellationType(options.cancellationType);
  return activityProxy<A>((activityType) => (...args: unknown[]) =>
    getActivator(`Calling activity '${activityType}'`).activities.schedule(
      { activityType, args, options: scheduleOptions, taskQueue, cancellationType },
      CancellationScope.current(),
    ),
  );
}

/**
 * A proxy whose every string property is a (memoised) function made by `make`. Symbols
 * (inspection, coercion) and `then` (so the proxy is never mistaken for a promise when
 * returned from an async function) are not activity names.
 */
export function activityProxy<A>(make: (activityType: string) => ActivityFunction): ActivityInterfaceFor<A> {
  const functions = new Map<string, ActivityFunction>();
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get(_target, name) {
      if (typeof name !== 'string' || name === 'then') return undefined;
      let fn = functions.get(name);
      if (fn === undefined) {
        fn = make(name);
        Object.defineProperty(fn, 'name', { value: name });
        functions.set(name, fn);
      }
      return fn;
    },
  });
}
