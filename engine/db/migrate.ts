/**
 * Applies the numbered, forward-only SQL files of `migrations/` to a database.
 *
 * Safe to call from every process at start-up: see `migrate`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { DatabaseNewerThanCodeError, MigrationFailedError } from '../errors.js';

export interface Migration {
  /** The file's number: `0001_init.sql` → 1. */
  readonly id: number;
  /** The file's name without `.sql`: `0001_init`. */
  readonly name: string;
  readonly path: string;
}

export interface MigrateOptions {
  /** Progress lines ("applied 0001_init in 41 ms"). Default: silent. */
  readonly log?: (message: string) => void;
  /** Where the `NNNN_name.sql` files are. Default: the package's `migrations/`. For tests. */
  readonly directory?: string | URL;
}

export interface MigrateResult {
  /** Names of the migrations this call applied, in order (`['0001_init']`); empty when up to date. */
  readonly applied: string[];
  /** The database's schema version afterwards: the highest applied migration id. */
  readonly version: number;
}

/** `migrations/` beside `engine/`, found from this module rather than from the cwd. */
const DEFAULT_DIRECTORY = new URL('../../migrations/', import.meta.url);

/** `0001_init.sql`: four digits, an underscore, lower-case words. */
const MIGRATION_FILE = /^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;

/**
 * Key of the session-level advisory lock that serialises migrations within one database
 * ("chronicl" as eight ASCII bytes, read as a big-endian int64). Advisory locks are scoped
 * to the database, so migrating two databases of one cluster does not contend.
 */
const MIGRATION_LOCK_KEY = '7163384708213761388';

/**
 * pg's client-side read timeout is not lifted by `SET statement_timeout = 0`; a per-query
 * `query_timeout` of 0 falls back to the pool's default, so pass the largest timer Node
 * accepts (about 24.8 days) instead.
 */
const NO_CLIENT_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The migration files in `directory`, ordered by id. Throws when the set is malformed (a
 * file that starts with digits but does not match `NNNN_name.sql`, a duplicate or missing
 * number): a typo there would otherwise skip a migration silently. Other files (`schema.sql`,
 * `index.ts`) are ignored.
 */
export function listMigrations(directory: string | URL = DEFAULT_DIRECTORY): Migration[] {
  const dir = typeof directory === 'string' ? directory : fileURLToPath(directory);
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/^\d/.test(file)) continue;
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new Error(`Migration file '${file}' in ${dir} is misnamed: expected NNNN_lower_case_name.sql, e.g. 0002_add_schedules.sql`);
    }
    migrations.push({ id: Number(match[1]), name: file.slice(0, -'.sql'.length), path: join(dir, file) });
  }
  migrations.forEach((migration, index) => {
    if (migration.id !== index + 1) {
      throw new Error(
        `Migrations in ${dir} must be numbered 1, 2, 3, … without gaps or duplicates; ` +
          `found ${migration.name} where number ${index + 1} was expected`,
      );
    }
  });
  return migrations;
}

/** The schema version this code expects: the highest migration id it ships. */
export function codeSchemaVersion(directory: string | URL = DEFAULT_DIRECTORY): number {
  const migrations = listMigrations(directory);
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1].id;
}

/**
 * Brings the database to this code's schema version and returns what it did.
 *
 * - Several processes may start at once (a deploy rolls out N servers; `npm test` runs
 *   workers in parallel), so the whole run happens under a session-level advisory lock on one
 *   dedicated connection: the first caller migrates, the others wait, then find nothing to do.
 *   A session lock (not a transaction lock) because each migration commits on its own.
 * - A database whose highest applied migration is newer than this code's is refused with
 *   `DatabaseNewerThanCodeError` before anything is written: old code on a new schema is how
 *   data gets corrupted quietly.
 * - Each migration runs in its own transaction together with the INSERT that records it, so
 *   a migration is either applied and recorded or neither. A failure is raised as
 *   `MigrationFailedError`; migrations applied before it stay applied.
 * - Statement timeouts are lifted on the migration connection: waiting for the lock, or an
 *   index build on a big table, may legitimately take longer than the pool's 30 s.
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const migrations = listMigrations(options.directory);
  const codeVersion = migrations.length === 0 ? 0 : migrations[migrations.length - 1].id;

  const client = await pool.connect();
  let locked = false;
  try {
    // Session-level, on a connection that is destroyed afterwards (see finally).
    await run(client, 'SET statement_timeout = 0');
    // Blocks until every other migrating process of this database has finished.
    await run(client, 'SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    locked = true;

    await ensureMigrationsTable(client);
    const { rows } = await run<{ id: number }>(client, 'SELECT id FROM chronicle.migrations ORDER BY id');
    const appliedIds = new Set(rows.map((row) => row.id));
    const databaseVersion = rows.length === 0 ? 0 : rows[rows.length - 1].id;
    if (databaseVersion > codeVersion) throw new DatabaseNewerThanCodeError(databaseVersion, codeVersion);

    const applied: string[] = [];
    for (const migration of migrations) {
      if (appliedIds.has(migration.id)) continue;
      const started = Date.now();
      await applyOne(client, migration);
      applied.push(migration.name);
      log(`applied migration ${migration.name} in ${Date.now() - started} ms`);
    }
    if (applied.length === 0) log(`database schema is up to date (version ${databaseVersion})`);
    return { applied, version: Math.max(databaseVersion, codeVersion) };
  } finally {
    if (locked) {
      await run(client, 'SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch(() => {
        // The connection is unusable; destroying it below ends the session, which releases
        // the lock just the same.
      });
    }
    // Destroy the connection rather than return it to the pool: it carries
    // `statement_timeout = 0`, which must not leak to the pool's next user.
    client.release(true);
  }
}

/**
 * Creates schema `chronicle` and its migrations table when absent. Checked first rather than
 * with CREATE SCHEMA IF NOT EXISTS, which requires the CREATE privilege on the database even
 * when the schema exists, so a least-privilege role could not run an up-to-date check.
 * Runs under the migration lock: no concurrent creator.
 */
async function ensureMigrationsTable(client: pg.PoolClient): Promise<void> {
  const { rows } = await run<{ exists: boolean }>(client, `SELECT to_regclass('chronicle.migrations') IS NOT NULL AS exists`);
  if (rows[0].exists) return;
  await run(
    client,
    `CREATE SCHEMA IF NOT EXISTS chronicle;
     CREATE TABLE IF NOT EXISTS chronicle.migrations (
       id          integer PRIMARY KEY,
       name        text NOT NULL,
       applied_at  timestamptz DEFAULT now()
     );`,
  );
}

async function applyOne(client: pg.PoolClient, migration: Migration): Promise<void> {
  let sql: string;
  try {
    sql = readFileSync(migration.path, 'utf8');
  } catch (error) {
    throw new MigrationFailedError(migration.name, error);
  }
  try {
    await run(client, 'BEGIN');
    // No parameters: pg sends it with the simple-query protocol, which runs a whole
    // multi-statement file (including $$-quoted function bodies) in one round trip.
    await run(client, sql);
    await run(client, 'INSERT INTO chronicle.migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
    await run(client, 'COMMIT');
  } catch (error) {
    await run(client, 'ROLLBACK').catch(() => {
      // The connection itself failed; the server rolls back when it goes away.
    });
    throw new MigrationFailedError(migration.name, error);
  }
}

function run<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.PoolClient,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  // `query_timeout` per query is honoured by pg but missing from @types/pg's QueryConfig.
  const config = { text, values, query_timeout: NO_CLIENT_TIMEOUT_MS } as pg.QueryConfig;
  return client.query<R>(config);
}
