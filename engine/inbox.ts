import { sql, type RawBuilder } from 'kysely';
import { CHANNELS } from './wakeups.js';

/**
 * Delivering events to runs. Producers written in TypeScript (activity failures and
 * timeouts, timer firings, cancel requests) end their statement with this tail; the one
 * producer on the hot path, chronicle.complete_activity_task (migrations/0002), applies the
 * same three rules in PL/pgSQL. The rules:
 *
 * 1. the event goes into the run's inbox (not into history: the next workflow task's
 *    completion appends it, so it is ordered after any task in flight);
 * 2. the run's workflow task row is upserted. A pending row stays pending. A running row
 *    (a task in flight) is marked `dirty`, which makes its completion leave a new pending
 *    task behind. The upsert takes the row lock, so it waits for an in-flight completion
 *    (which holds that lock) and then either sees the row gone and inserts a fresh one, or
 *    marks it dirty: a wake-up cannot fall between the two.
 * 3. a NOTIFY per (namespace, queue) whose task became claimable.
 *
 * The statement before the tail must define a CTE `delivered(run_id, namespace, task_queue,
 * event_type, attributes, ord)` where `task_queue` is the run's workflow task queue and
 * `ord` orders the events within the statement.
 */
export function deliverTail(): RawBuilder<unknown> {
  return sql`
    , ib AS (
        INSERT INTO chronicle.workflow_inbox (run_id, event_type, attributes)
        SELECT run_id, event_type, attributes FROM delivered ORDER BY ord
      )
    , wt AS (
        INSERT INTO chronicle.workflow_tasks (run_id, namespace, task_queue)
        SELECT DISTINCT ON (run_id) run_id, namespace, task_queue FROM delivered
        ON CONFLICT (run_id) DO UPDATE SET dirty = true
        RETURNING status, namespace, task_queue
      )
    SELECT
      (SELECT count(*) FROM delivered)::int AS delivered,
      (SELECT count(pg_notify(${CHANNELS.workflowTask}, ns || '/' || q))
         FROM (SELECT DISTINCT namespace AS ns, task_queue AS q FROM wt WHERE status = 'pending') d)::int AS notified`;
}

export interface DeliveryResult {
  delivered: number;
  notified: number;
}
