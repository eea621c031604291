/**
 * A database per test file, cloned from the migrated template that global-setup.ts made,
 * plus `waitUntil` for conditions that become true asynchronously.
 */
import { adminQuery } from './admin-query.js';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { createDb, createPool, withDatabaseName, type PoolOptions } from '../../engine/db/connect.js';
import type { Database } from '../../engine/db/database.js';

export interface TestDatabase {
  /** `t_<random hex>` */
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  /** Kysely over `pool`. */
  readonly db: Kysely<Database>;
  /**
   * Closes `pool` (and `db`) and drops the database, ending any session still connected.
   * Pass the suite that vitest gives `afterAll` (`afterAll(({}, suite) => t.drop(suite))`; vitest 4 insists on the destructuring pattern):
   * with `CHRONICLE_KEEP_TEST_DB=1` the database is kept, and its URL printed, when a test
   * of that suite failed (or when no suite was passed). Idempotent.
   */
  drop(suite?: TaskLike): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** false: an empty database (from template0) instead of a clone of the migrated template. Default true. */
  readonly migrated?: boolean;
  /** Passed to `createPool` (default `max` here: 5). */
  readonly pool?: PoolOptions;
}

/** The part of a vitest task that tells whether something failed. */
export interface TaskLike {
  readonly result?: { readonly state?: string };
  readonly tasks?: readonly TaskLike[];
}

/**
 * Creates `t_<random>` on the test server: a clone of the migrated template (the cost of a
 * CREATE DATABASE, not of running migrations), or an empty database with `migrated: false`.
 * Call it in a test file's `beforeAll` and `drop()` it in `afterAll`, or let
 * `useTestDatabase()` do both.
 *
 * @example
 * let t: TestDatabase;
 * beforeAll(async () => { t = await createTestDatabase(); });
 * afterAll(({}, suite) => t?.drop(suite));
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = inject('chronicleAdminUrl');
  const source = options.migrated === false ? 'template0' : inject('chronicleTemplateDatabase');
  if (!adminUrl || !source) {
    throw new Error('No test database server: run this file through a vitest project whose globalSetup is test/helpers/global-setup.ts (integration or fault).');
  }
  const name = `t_${randomBytes(8).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(source)}`);
  const url = withDatabaseName(adminUrl, name);
  const pool = createPool(url, { max: 5, ...options.pool });
  const db = createDb(pool);

  let dropped: Promise<void> | undefined;
  const drop = async (suite?: TaskLike): Promise<void> => {
    // db.destroy() ends the pool only if kysely ever used it (its driver connects lazily).
    await db.destroy();
    if (!pool.ended) await pool.end();
    if (process.env.CHRONICLE_KEEP_TEST_DB === '1' && (suite === undefined || hasFailure(suite))) {
      console.error(
        `[chronicle] kept test database ${name}: ${url}` +
          (process.env.DATABASE_URL ? '' : ' (embedded server: it is deleted when the run ends; set DATABASE_URL to keep it)'),
      );
      return;
    }
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  };
  return { name, url, pool, db, drop: (suite) => (dropped ??= drop(suite)) };
}

/**
 * Registers `beforeAll`/`afterAll` that create and drop a test database for the enclosing
 * file (or describe block) and returns it. Its fields are readable from `beforeAll` on;
 * the failure state for `CHRONICLE_KEEP_TEST_DB` is taken from the suite.
 *
 * @example
 * const t = useTestDatabase();
 * it('reads', async () => { expect(await t.db.selectFrom('chronicle.executions').selectAll().execute()).toEqual([]); });
 */
export function useTestDatabase(options: CreateTestDatabaseOptions = {}): TestDatabase {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await createTestDatabase(options);
  });
  afterAll(async ({}, suite) => {
    await current?.drop(suite);
  });
  const get = (): TestDatabase => {
    if (!current) throw new Error('useTestDatabase(): the database exists only from beforeAll on; read its fields inside hooks or tests');
    return current;
  };
  return {
    get name() {
      return get().name;
    },
    get url() {
      return get().url;
    },
    get pool() {
      return get().pool;
    },
    get db() {
      return get().db;
    },
    drop: (suite) => get().drop(suite),
  };
}

function hasFailure(task: TaskLike): boolean {
  return task.result?.state === 'fail' || (task.tasks ?? []).some(hasFailure);
}

export interface WaitUntilOptions {
  /** Give up after this long. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Time between checks. Default 20 ms. */
  readonly intervalMs?: number;
  /** What was awaited, for the timeout error ("activity task claimed"). */
  readonly message?: string;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Re-evaluates `condition` until it returns a truthy value, and returns that value. A
 * condition that throws (an `expect` that does not hold yet) counts as not yet true; on
 * timeout the error names `message` and carries the last thrown error. Use it instead of
 * sleeping for a guessed duration.
 *
 * @example
 * const row = await waitUntil(() => findTask(pool, id), { message: 'task claimed' });
 */
export async function waitUntil<T>(condition: () => T | Promise<T>, options: WaitUntilOptions = {}): Promise<Truthy<Awaited<T>>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Truthy<Awaited<T>>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? '' : `; last error: ${(lastError as Error)?.message ?? String(lastError)}`;
      throw new Error(`waitUntil: ${options.message ?? 'condition'} did not hold within ${timeoutMs} ms${why}`, { cause: lastError });
    }
    await new Promise((resolveTimer) => setTimeout(resolveTimer, intervalMs));
  }
}
