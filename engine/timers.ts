import { sql, type Kysely } from 'kysely';
import type { Database } from './db/database.js';
import { deliverTail } from './inbox.js';

/**
 * Turns due timers into TimerFired inbox events, at most `limit` per call; returns how many
 * fired. "Due" is judged by the database clock (`fire_at <= now()`), so a timer never fires
 * early whatever the worker clocks say.
 *
 * Exactly once across processes: the runs' executions rows are locked first (the global
 * lock order: run before its rows), then the timer rows are deleted; a process that lost the
 * race finds nothing left to delete. The run rows are taken with SKIP LOCKED: a run whose row
 * is held (a completion, a close, another timer pass) keeps its timers for the next pass, a
 * few milliseconds later. Waiting instead could deadlock: a child's close locks its parent,
 * then the child, and no order of run ids matches that for every pair.
 */
export async function fireDueTimers(db: Kysely<Database>, limit = 500): Promise<number> {
  const { rows: due } = await sql<{ run_id: string; seq: number }>`
    SELECT run_id, seq FROM chronicle.timers WHERE fire_at <= now() ORDER BY fire_at LIMIT ${limit}`.execute(db);
  if (due.length === 0) return 0;
  const runIds = [...new Set(due.map((d) => d.run_id))].sort();
  return db.transaction().execute(async (trx) => {
    const { rows: locked } = await sql<{ run_id: string }>`
      SELECT run_id FROM chronicle.executions WHERE run_id = ANY(${runIds}::uuid[]) ORDER BY run_id FOR NO KEY UPDATE SKIP LOCKED`.execute(trx);
    const mine = new Set(locked.map((r) => r.run_id));
    const ready = due.filter((d) => mine.has(d.run_id));
    if (ready.length === 0) return 0;
    const { rows } = await sql<{ delivered: number }>`
      WITH fired AS (
        DELETE FROM chronicle.timers t
        USING unnest(${ready.map((d) => d.run_id)}::uuid[], ${ready.map((d) => d.seq)}::int[]) AS d(run_id, seq)
        WHERE t.run_id = d.run_id AND t.seq = d.seq AND t.fire_at <= now()
        RETURNING t.run_id, t.seq, t.namespace, t.workflow_task_queue, t.fire_at
      ), delivered AS (
        SELECT run_id, namespace, workflow_task_queue AS task_queue, 'TimerFired'::text AS event_type,
               jsonb_build_object('seq', seq) AS attributes,
               row_number() OVER (ORDER BY fire_at, seq) AS ord
        FROM fired
      ) ${deliverTail()}`.execute(trx);
    return rows[0]?.delivered ?? 0;
  });
}

/** Milliseconds (by the database clock) until the next timer is due; undefined when none. */
export async function msUntilNextTimer(db: Kysely<Database>): Promise<number | undefined> {
  const { rows } = await sql<{ ms: number | null }>`
    SELECT (extract(epoch FROM min(fire_at) - now()) * 1000)::float8 AS ms FROM chronicle.timers`.execute(db);
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}
