/**
 * The pg connection pool and the kysely instance every engine module queries through.
 *
 * Everything here is per pool: Chronicle never calls `pg.types.setTypeParser`, so an
 * application that embeds the engine keeps whatever global parsers it chose, and the engine
 * still gets the value shapes `database.ts` promises.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';

export interface PoolOptions {
  /** Most connections the pool opens. Default 10. */
  readonly max?: number;
  /**
   * Server-side `statement_timeout` for every statement, in ms; 0 disables it. Default 30 s.
   * A client-side read timeout of this plus 5 s backs it up for a server that stops answering
   * (the server's own timeout fires first in the normal case and gives the clearer error).
   */
  readonly statementTimeoutMs?: number;
  /**
   * Server-side `idle_in_transaction_session_timeout`, in ms; 0 disables it. Default 60 s: a
   * process that stalls inside a transaction must not hold row locks (a claimed task, a run)
   * forever.
   */
  readonly idleInTransactionTimeoutMs?: number;
  /** How long to wait for a new connection, in ms. Default 10 s. */
  readonly connectionTimeoutMs?: number;
  /** How long an idle connection stays open, in ms. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** `application_name`, shown in pg_stat_activity. Default 'chronicle'. A value in the URL wins. */
  readonly applicationName?: string;
  /**
   * Receives connection errors that happen outside a query (the server restarted, a network
   * drop on an idle connection). Default: one line on stderr. The pool drops the broken
   * connection and opens a new one on demand either way; the process never crashes.
   */
  readonly onError?: (error: Error, context: PoolErrorContext) => void;
}

export interface PoolErrorContext {
  /** `user@host:port/database`, never the password. */
  readonly target: string;
  readonly applicationName: string;
  /** Whether the connection was idle in the pool or checked out (with no query running). */
  readonly connectionState: 'idle' | 'checked-out';
}

const DEFAULT_MAX = 10;
const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
const CLIENT_READ_TIMEOUT_MARGIN_MS = 5_000;

/**
 * Opens a pg Pool for `databaseUrl` configured the way the engine needs it: bounded size,
 * TCP keepalive (a half-open connection behind a NAT or load balancer is found in seconds,
 * not when the next query hangs), statement timeouts, and per-pool type parsers (bigint as
 * decimal string, timestamptz as Date).
 *
 * Errors on connections that are not running a query are reported to `options.onError` and
 * never thrown: without a listener, pg would re-emit them as an uncaught 'error' event and
 * take the process down when, say, Postgres restarts.
 */
export function createPool(databaseUrl: string, options: PoolOptions = {}): pg.Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const idleInTransactionTimeoutMs = options.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS;
  const applicationName = options.applicationName ?? 'chronicle';
  const onError = options.onError ?? logPoolError;
  const context = { target: describeTarget(databaseUrl), applicationName };

  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? DEFAULT_MAX,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    // Sent in the start-up packet, so they hold for every statement on the connection
    // without an extra round trip. pg leaves a setting out when it is 0.
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: idleInTransactionTimeoutMs,
    query_timeout: statementTimeoutMs > 0 ? statementTimeoutMs + CLIENT_READ_TIMEOUT_MARGIN_MS : undefined,
    types: chronicleTypes,
  });

  // A broken connection can emit several errors (the server's 57P01, then "Connection
  // terminated unexpectedly"); the first one says what happened, so report one per client.
  const reported = new WeakSet<object>();
  const report = (client: object, error: Error, connectionState: PoolErrorContext['connectionState']): void => {
    if (reported.has(client)) return;
    reported.add(client);
    onError(error, { ...context, connectionState });
  };
  // pg-pool re-emits an idle connection's error on the pool (after discarding the client);
  // a pool 'error' without a listener is an uncaught exception.
  pool.on('error', (error, client) => report(client, error, 'idle'));
  // While a client is checked out, pg-pool removes its own listener; an error that arrives
  // between queries (server restart while a worker holds a LISTEN connection) would then be
  // an uncaught 'error' event. The query in flight, if any, is rejected separately.
  // Listener order on a client changes with every checkout (pg-pool re-adds its listener on
  // release), so decide on the next tick, once the pool's listener has run if it was idle.
  pool.on('connect', (client) => {
    client.on('error', (error: Error) => {
      process.nextTick(() => report(client, error, 'checked-out'));
    });
  });
  return pool;
}

/**
 * A kysely instance over `pool`. `db.destroy()` ends the pool too, but only once kysely has
 * run a query through it (its driver initialises lazily). To close both in every case:
 * `await db.destroy(); if (!pool.ended) await pool.end();` (`pool.end()` twice throws).
 */
export function createDb(pool: pg.Pool): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

export function logPoolError(error: Error, context: PoolErrorContext): void {
  const code = (error as { code?: unknown }).code;
  console.error(
    `[chronicle] PostgreSQL connection error on ${context.connectionState === 'idle' ? 'an idle' : 'a checked-out'} connection ` +
      `(${context.target}, application_name=${context.applicationName}): ${error.message}` +
      (typeof code === 'string' ? ` [${code}]` : '') +
      (context.connectionState === 'idle'
        ? '. The pool discarded it and opens a new connection when needed.'
        : '. Its holder gets an error on its next query; the pool replaces it once released.'),
  );
}

/**
 * `databaseUrl` pointing at another database of the same server (credentials, host and
 * query parameters such as `sslmode` kept).
 */
export function withDatabaseName(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** `user@host:port/database` from a connection URL, without the password. */
export function describeTarget(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
    return `${user}${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname || '/'}`;
  } catch {
    return '(unparseable database URL)';
  }
}

// --- type parsers ---------------------------------------------------------------------

const OID_INT8 = 20;
const OID_INT8_ARRAY = 1016;
const OID_TIMESTAMPTZ = 1184;

type TypeParser = (value: string) => unknown;
/** pg's (global) parser registry; @types/pg types its oid parameter as a closed enum. */
const pgTypeParser = pg.types.getTypeParser as unknown as (oid: number, format?: 'text' | 'binary') => TypeParser;

/** Per-pool parsers: pins the three types the engine depends on, defers the rest to pg. */
const chronicleTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === OID_INT8) return parseInt8;
      if (oid === OID_INT8_ARRAY) return parseInt8Array;
      if (oid === OID_TIMESTAMPTZ) return parseTimestamptz;
    }
    return pgTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** int8 as its decimal text: ids and counters outgrow 2^53, and a silent rounding is worse than a string. */
function parseInt8(text: string): string {
  return text;
}

/** A one-dimensional int8[] (`{1,2,NULL}`) as decimal strings. */
export function parseInt8Array(text: string): (string | null)[] {
  if (text === '{}') return [];
  const inner = text.slice(1, -1);
  if (text[0] !== '{' || text[text.length - 1] !== '}' || inner.includes('{')) {
    // Not a plain one-dimensional array (bounds decoration, nested): pg's parser handles it.
    return pgTypeParser(OID_INT8_ARRAY, 'text')(text) as (string | null)[];
  }
  return inner.split(',').map((item) => (item === 'NULL' ? null : item));
}

// Postgres's ISO output: `2024-05-01 12:34:56.789012+02`, `…+05:30`, `…-00:00:36` (LMT
// zones), a ` BC` suffix for years before 1.
const TIMESTAMPTZ_ISO = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?( BC)?$/;
const MAX_DATE_MS = 8.64e15;

/**
 * timestamptz as a Date, parsed here rather than by pg's global parser so that an
 * application's `setTypeParser(1184, …)` cannot change what the engine reads. Sub-millisecond
 * digits are truncated. `infinity` maps to the largest Date and `-infinity` to the smallest.
 */
export function parseTimestamptz(text: string): Date {
  if (text === 'infinity') return new Date(MAX_DATE_MS);
  if (text === '-infinity') return new Date(-MAX_DATE_MS);
  const m = TIMESTAMPTZ_ISO.exec(text);
  if (!m) {
    throw new Error(
      `Cannot parse timestamptz '${text}': Chronicle expects PostgreSQL's ISO output. ` +
        `Set DateStyle to 'ISO' for this database or role (ALTER DATABASE … SET datestyle = 'ISO, MDY').`,
    );
  }
  const [, y, mo, d, h, mi, s, fraction, sign, oh, om, os, bc] = m;
  const year = bc ? 1 - Number(y) : Number(y);
  const ms = fraction ? Math.floor(Number(fraction.padEnd(6, '0')) / 1000) : 0;
  const local = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  local.setUTCFullYear(year, Number(mo) - 1, Number(d));
  local.setUTCHours(Number(h), Number(mi), Number(s), ms);
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0));
  return new Date(local.getTime() - offsetSeconds * 1000);
}
