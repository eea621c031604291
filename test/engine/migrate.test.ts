import { mkdtemp, copyFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../../engine/db/connect.js';
import { codeSchemaVersion, listMigrations, migrate } from '../../engine/db/migrate.js';
import { DatabaseNewerThanCodeError, MigrationFailedError } from '../../engine/errors.js';
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import { startEmbeddedPostgres } from '../../sdk/testing/embedded-postgres.js';
import { createTestDatabase, useTestDatabase, type TestDatabase } from '../helpers/database.js';

const ALL_MIGRATIONS = listMigrations().map((m) => m.name);

/** Everything `migrate` could have changed: the tables of schema chronicle and the migration rows. */
async function schemaSnapshot(pool: pg.Pool): Promise<{ tables: string[]; migrations: { id: number; name: string }[] }> {
  const tables = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'chronicle' ORDER BY table_name`,
  );
  const hasMigrations = tables.rows.some((row) => row.table_name === 'migrations');
  const migrations = hasMigrations
    ? (await pool.query<{ id: number; name: string }>('SELECT id, name FROM chronicle.migrations ORDER BY id')).rows
    : [];
  return { tables: tables.rows.map((row) => row.table_name), migrations };
}

describe('migrate', () => {
  const databases: TestDatabase[] = [];
  async function emptyDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase({ migrated: false });
    databases.push(database);
    return database;
  }
  afterAll(async ({}, suite) => {
    await Promise.all(databases.map((database) => database.drop(suite)));
  });

  it('applies every migration to a fresh database, then finds nothing to do', async () => {
    const { pool } = await emptyDatabase();
    expect(ALL_MIGRATIONS[0]).toBe('0001_init');

    const first = await migrate(pool);
    expect(first).toEqual({ applied: ALL_MIGRATIONS, version: codeSchemaVersion() });
    const after = await schemaSnapshot(pool);
    expect(after.tables).toEqual(
      expect.arrayContaining(['executions', 'history_events', 'workflow_inbox', 'workflow_tasks', 'activity_tasks', 'timers', 'migrations']),
    );
    expect(after.migrations.map((m) => m.name)).toEqual(ALL_MIGRATIONS);

    const second = await migrate(pool);
    expect(second).toEqual({ applied: [], version: codeSchemaVersion() });
    expect(await schemaSnapshot(pool)).toEqual(after);
  });

  it('applies each migration exactly once when five processes migrate at the same time', async () => {
    const { url } = await emptyDatabase();
    // One pool per "process", so that nothing but the advisory lock serialises them.
    const pools = Array.from({ length: 5 }, () => createPool(url, { max: 1 }));
    try {
      const results = await Promise.all(pools.map((pool) => migrate(pool)));
      expect(results.map((r) => r.version)).toEqual(Array(5).fill(codeSchemaVersion()));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL_MIGRATIONS);
      const { migrations } = await schemaSnapshot(pools[0]);
      expect(migrations.map((m) => m.name)).toEqual(ALL_MIGRATIONS);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('refuses a database migrated by newer code, and changes nothing', async () => {
    const { pool } = await emptyDatabase();
    // A newer Chronicle recorded migration 9999 (and this code's migrations are not applied).
    await pool.query(`CREATE SCHEMA chronicle;
      CREATE TABLE chronicle.migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz DEFAULT now());
      INSERT INTO chronicle.migrations (id, name) VALUES (9999, '9999_from_the_future');`);
    const before = await schemaSnapshot(pool);

    const error = await migrate(pool).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseNewerThanCodeError);
    expect(error).toMatchObject({
      code: ERROR_CODES.DATABASE_NEWER_THAN_CODE,
      databaseVersion: 9999,
      codeVersion: codeSchemaVersion(),
    });
    expect((error as Error).message).toMatch(/upgrade this process/);
    expect(ERROR_CODES.DATABASE_NEWER_THAN_CODE).toBe('CHR_DATABASE_NEWER_THAN_CODE');
    expect(await schemaSnapshot(pool)).toEqual(before);
  });

  it('rolls a failing migration back entirely and reports it as MigrationFailedError', async () => {
    const { pool } = await emptyDatabase();
    const directory = await mkdtemp(join(tmpdir(), 'chronicle-migrations-'));
    try {
      await copyFile(fileURLToPath(new URL('../../migrations/0001_init.sql', import.meta.url)), join(directory, '0001_init.sql'));
      await writeFile(join(directory, '0002_broken.sql'), 'CREATE TABLE chronicle.half_done (id int);\nSELECT 1 / 0;\n');

      const error = await migrate(pool, { directory }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationFailedError);
      expect(error).toMatchObject({ code: ERROR_CODES.MIGRATION_FAILED, migration: '0002_broken' });
      expect((error as Error).message).toMatch(/division by zero/);

      const after = await schemaSnapshot(pool);
      expect(after.migrations.map((m) => m.name)).toEqual(['0001_init']);
      expect(after.tables).not.toContain('half_done');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('history_events', () => {
  const t = useTestDatabase();

  it('cannot be updated: the append-only trigger refuses', async () => {
    const runId = '5b0f3c38-3d5e-4d0e-9a55-0d2b0b5b7c11';
    await t.db
      .insertInto('chronicle.history_events')
      .values({ run_id: runId, event_id: 1, event_type: 'WorkflowExecutionStarted', attributes: JSON.stringify({ args: [1, 2] }) })
      .execute();

    await expect(
      t.db.updateTable('chronicle.history_events').set({ event_type: 'Tampered' }).where('run_id', '=', runId).execute(),
    ).rejects.toThrow(/append-only/);

    const rows = await t.db.selectFrom('chronicle.history_events').selectAll().where('run_id', '=', runId).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event_type: 'WorkflowExecutionStarted', attributes: { args: [1, 2] } });
    expect(rows[0].created_at).toBeInstanceOf(Date);
  });
});

describe('startEmbeddedPostgres', () => {
  it('restarts a persistent cluster with its data, past a stale postmaster.pid', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'chronicle-embedded-'));
    const dataDir = join(parent, 'pgdata');
    try {
      const first = await startEmbeddedPostgres({ dataDir, persistent: true });
      const client = new pg.Client({ connectionString: first.url });
      await client.connect();
      await client.query(`CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')`);
      await client.end();
      await first.stop();

      // What a kill -9 leaves behind: a lock file naming a process that no longer exists.
      const gone = spawnSync(process.execPath, ['-e', '']).pid;
      await writeFile(join(dataDir, 'postmaster.pid'), `${gone}\n${dataDir}\n0\n${first.port}\n\n127.0.0.1\n`);

      const second = await startEmbeddedPostgres({ dataDir, persistent: true });
      try {
        const again = new pg.Client({ connectionString: second.url });
        await again.connect();
        const { rows } = await again.query('SELECT note FROM kept');
        await again.end();
        expect(rows).toEqual([{ note: 'still here' }]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
