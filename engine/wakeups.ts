import pg from 'pg';
import type { Logger } from './logger.js';

/**
 * NOTIFY channels. Payloads: `<namespace>/<task queue>` for task channels (queryTask too), a
 * run id or a time for runClosed and timer, the query id for query (answered),
 * `<runId>/<updateId>` for update (its stage or outcome changed).
 */
export const CHANNELS = {
  workflowTask: 'chronicle_wft',
  activityTask: 'chronicle_act',
  timer: 'chronicle_timer',
  runClosed: 'chronicle_closed',
  queryTask: 'chronicle_query_task',
  query: 'chronicle_query',
  update: 'chronicle_update',
} as const;
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

type Listener = (payload: string) => void;

/**
 * One LISTEN connection per engine, fanned out to in-process subscribers.
 *
 * A NOTIFY is only ever a latency hint: every waiter also polls on a fallback interval, so
 * a lost notification (connection dropped, payload dropped) delays work but never loses it.
 * When the connection drops it is re-established with backoff; after LISTEN succeeds again
 * every subscriber is woken (`'*'`) so it re-scans for work it may have missed meanwhile.
 */
export class Wakeups {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly listeners = new Map<Channel, Set<Listener>>();
  private closed = false;
  private reconnectDelayMs = 100;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  /** Subscribes; returns the unsubscribe function. Starts the connection on first use. */
  subscribe(channel: Channel, listener: Listener): () => void {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(listener);
    void this.ensureConnected();
    return () => set.delete(listener);
  }

  /** Resolves once LISTEN is active (or rejects on the first connection failure). */
  ready(): Promise<void> {
    return this.ensureConnected();
  }

  private ensureConnected(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.client) return Promise.resolve();
    if (!this.connecting) {
      this.connecting = this.connect().finally(() => {
        this.connecting = undefined;
      });
      this.connecting.catch(() => {});
    }
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true, application_name: 'chronicle-listen' });
    // Until the connection is adopted below, a failure must not be ignored by drop() (which
    // only acts on the adopted connection): remember it and retry instead.
    let lostBeforeAdopted = false;
    client.on('error', (err) => {
      this.log.warn('LISTEN connection error; reconnecting', { error: err });
      if (this.client === client) this.drop(client);
      else lostBeforeAdopted = true;
    });
    client.on('end', () => {
      if (this.client === client) this.drop(client);
      else lostBeforeAdopted = true;
    });
    client.on('notification', (msg) => this.dispatch(msg.channel as Channel, msg.payload ?? ''));
    try {
      await client.connect();
      // One round trip for all channels.
      await client.query(Object.values(CHANNELS).map((c) => `LISTEN ${c};`).join(' '));
      if (lostBeforeAdopted) throw new Error('the LISTEN connection ended while subscribing');
    } catch (err) {
      client.removeAllListeners('end');
      client.end().catch(() => {});
      this.scheduleReconnect(err);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.reconnectDelayMs = 100;
    // Anything notified while we were not listening is unknown: wake everyone to re-scan.
    for (const channel of this.listeners.keys()) this.dispatch(channel, '*');
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(err?: unknown): void {
    if (this.closed || this.reconnectTimer) return;
    if (err) this.log.warn('LISTEN connection failed; retrying', { error: err, inMs: this.reconnectDelayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.ensureConnected().catch(() => {});
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
  }

  private dispatch(channel: Channel, payload: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    for (const l of set) {
      try {
        l(payload);
      } catch (err) {
        this.log.error('wake-up listener threw', { channel, error: err });
      }
    }
  }

  /** Test hook: the backend pid of the LISTEN connection, if connected. */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => {});
  }
}

/**
 * A waiter for "something may have changed on this key": `wait()` resolves at the first
 * signal after `arm()` was called, at the timeout, or on abort. Arm before scanning for
 * work so a notification that lands between the scan and the wait is not missed.
 */
export class Doorbell {
  private generation = 0;
  private waiters = new Set<() => void>();

  ring(): void {
    this.generation++;
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  arm(): number {
    return this.generation;
  }

  wait(armedAt: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.generation !== armedAt || signal?.aborted || timeoutMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }
}
