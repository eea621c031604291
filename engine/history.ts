import type { Kysely, Transaction } from 'kysely';
import type { Database } from './db/database.js';
import type { EventType, HistoryEvent, PendingEvent } from './protocol/index.js';

type Db = Kysely<Database> | Transaction<Database>;

/** An event about to be appended; ids are assigned densely by `appendEvents`. */
export type NewEvent = PendingEvent & { readonly headers?: Readonly<Record<string, string>> };

interface HistoryRow {
  event_id: number;
  event_type: string;
  attributes: unknown;
  headers: unknown;
  created_at: Date;
}

export function toHistoryEvent(row: HistoryRow): HistoryEvent {
  return {
    eventId: row.event_id,
    eventType: row.event_type as EventType,
    timestamp: row.created_at.getTime(),
    attributes: row.attributes,
    ...(row.headers ? { headers: row.headers as Record<string, string> } : {}),
  } as HistoryEvent;
}

/**
 * Appends `events` to a run's history as ids `firstEventId …`, in one INSERT. The caller
 * holds the run's executions row lock and has checked that `firstEventId` is the run's
 * `next_event_id`: the primary key (run_id, event_id) turns any slip into an error rather
 * than a gap or a duplicate.
 */
export async function appendEvents(trx: Db, runId: string, firstEventId: number, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await trx
    .insertInto('chronicle.history_events')
    .values(
      events.map((e, i) => ({
        run_id: runId,
        event_id: firstEventId + i,
        event_type: e.eventType,
        attributes: JSON.stringify(e.attributes),
        headers: e.headers && Object.keys(e.headers).length ? JSON.stringify(e.headers) : null,
      })) as never,
    )
    .execute();
}

/** Reads events `fromEventId … toEventId` (inclusive), at most `limit`, in order. */
export async function readHistory(
  db: Db,
  runId: string,
  opts: { fromEventId: number; toEventId?: number; limit: number },
): Promise<HistoryEvent[]> {
  let q = db
    .selectFrom('chronicle.history_events')
    .select(['event_id', 'event_type', 'attributes', 'headers', 'created_at'])
    .where('run_id', '=', runId)
    .where('event_id', '>=', opts.fromEventId);
  if (opts.toEventId !== undefined) q = q.where('event_id', '<=', opts.toEventId);
  const rows = await q.orderBy('event_id').limit(opts.limit).execute();
  return rows.map((r) => toHistoryEvent(r as unknown as HistoryRow));
}
