import { sql, type Kysely } from 'kysely';
import type { Database } from './db/database.js';
import { retryOnDeadlock } from './deadlock-retry.js';
import type { Notification, Notifier } from './notifier.js';

/**
 * Workflow run and execution timeouts (`workflowRunTimeoutMs`, `workflowExecutionTimeoutMs`).
 * A start stores them as deadlines on the run (run_deadline, execution_deadline; a
 * continue-as-new keeps the execution deadline and starts a new run deadline). A background
 * loop calls timeOutExpiredRuns: each open run past a deadline, by the database clock, gets
 * WorkflowExecutionTimedOut and status TIMED_OUT, and its close effects (parent told, children's
 * policy applied, work rows deleted). Safe in any number of processes: each run is decided
 * under its row lock and re-checked there (chronicle.time_out_run, migrations/0004).
 */

/**
 * Times out up to `limit` runs whose deadline has passed, each in its own transaction (one
 * run's trouble does not hold back the others; the first error is thrown after the rest were
 * tried, for the loop to log). Each run's wake-ups (its close, its parent's task) go to
 * `notifier` as soon as it committed. Returns how many runs were timed out.
 */
export async function timeOutExpiredRuns(db: Kysely<Database>, notifier?: Pick<Notifier, 'send'>, limit = 100): Promise<number> {
  // Matches the partial index executions_deadlines (0003): its predicate, then its expression.
  const { rows: due } = await sql<{ run_id: string }>`
    SELECT run_id FROM chronicle.executions
    WHERE status = 'RUNNING' AND (execution_deadline IS NOT NULL OR run_deadline IS NOT NULL)
      AND least(execution_deadline, run_deadline) <= now()
    ORDER BY least(execution_deadline, run_deadline)
    LIMIT ${limit}`.execute(db);
  let timedOut = 0;
  let firstError: unknown;
  for (const { run_id } of due) {
    try {
      const { rows } = await retryOnDeadlock(() =>
        sql<{ notes: Notification[] | null }>`SELECT chronicle.time_out_run(${run_id}::uuid) AS notes`.execute(db),
      );
      const notes = rows[0]?.notes;
      if (notes) {
        timedOut++;
        notifier?.send(notes);
      }
    } catch (err) {
      firstError ??= err;
    }
  }
  if (firstError !== undefined) {
    throw new Error(`timing out ${due.length} expired runs: at least one failed (${timedOut} timed out); the next tick retries`, { cause: firstError });
  }
  return timedOut;
}

/** Milliseconds (database clock) until the next open run's deadline; undefined when none has one. */
export async function msUntilNextRunDeadline(db: Kysely<Database>): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    SELECT (extract(epoch FROM min(least(execution_deadline, run_deadline)) - now()) * 1000)::float8 AS ms
    FROM chronicle.executions
    WHERE status = 'RUNNING' AND (execution_deadline IS NOT NULL OR run_deadline IS NOT NULL)`.execute(db);
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}
