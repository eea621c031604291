import { sql, type Kysely } from 'kysely';
import type { Database } from './db/database.js';
import type { Logger } from './logger.js';

/** A notification to send: [channel, payload]. */
export type Notification = readonly [channel: string, payload: string];

/**
 * Sends NOTIFYs after the transaction that made them true has committed, in a transaction
 * of their own with asynchronous commit.
 *
 * Why not NOTIFY inside the writing transaction: Postgres serializes notifying commits on a
 * database-wide lock held until the commit is flushed, so every start and every run close
 * would wait for the fsync of the previous one (see migrations/0002). A notify-only
 * transaction with synchronous_commit off holds that lock for microseconds.
 *
 * Fire and forget: the caller does not wait, and a failure is logged, not thrown. A NOTIFY
 * is only ever a latency hint; pollers fall back to polling.
 */
export class Notifier {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  send(notifications: readonly Notification[]): void {
    if (notifications.length === 0) return;
    const channels = notifications.map((n) => n[0]);
    const payloads = notifications.map((n) => n[1]);
    const sent = sql`SELECT set_config('synchronous_commit', 'off', true), count(pg_notify(c, p))
        FROM unnest(${channels}::text[], ${payloads}::text[]) AS n(c, p)`
      .execute(this.db)
      .catch((err) => this.log.warn('NOTIFY failed; waiters will find the work by polling', { error: err, channels }))
      .finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** Waits for the notifications already handed over (before the pool closes). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
