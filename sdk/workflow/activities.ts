import { resolveActivityOptions, type ActivityOptions } from '../../engine/protocol/activity-options.js';
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

/**
 * Returns an object whose properties schedule activities: `acts.chargeCard(order)` issues a
 * ScheduleActivity command for activity type `'chargeCard'` (the property name) and resolves
 * with the activity's result, or rejects with an `ActivityFailure` whose `cause` says why.
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
 *   `priority` an integer 0–100.
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
  const functions = new Map<string, ActivityFunction>();
  const activityFunction = (activityType: string): ActivityFunction => {
    let fn = functions.get(activityType);
    if (fn === undefined) {
      fn = (...args: unknown[]) =>
        getActivator(`Calling activity '${activityType}'`).scheduleActivity(activityType, args, scheduleOptions, taskQueue);
      Object.defineProperty(fn, 'name', { value: activityType });
      functions.set(activityType, fn);
    }
    return fn;
  };
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get(_target, name) {
      // Symbols (inspection, coercion) and `then` (so the proxy is never mistaken for a
      // promise when returned from an async function) are not activity names.
      if (typeof name !== 'string' || name === 'then') return undefined;
      return activityFunction(name);
    },
  });
}
