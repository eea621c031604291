/**
 * vitest globalSetup of the `integration` and `fault` projects: one PostgreSQL server and one
 * migrated template database per project run; every test file clones the template
 * (test/helpers/database.ts), which costs a CREATE DATABASE instead of a migration.
 *
 * - `DATABASE_URL` set: that server is used, through that URL, as the admin connection (it
 *   needs CREATEDB). Otherwise an embedded PostgreSQL starts in a temporary directory on a
 *   free port and is deleted at teardown.
 * - Each project that lists this file runs it once, in the same vitest process, possibly at
 *   the same time as another project: the template's name carries the pid and the project's
 *   name, so two runs (or two checkouts on one server) never touch each other's template.
 */
import { adminQuery } from './admin-query.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createPool, withDatabaseName } from '../../engine/db/connect.js';
import { migrate } from '../../engine/db/migrate.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../sdk/testing/embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser (or CREATEDB) URL of the test server; test files create their databases through it. */
    chronicleAdminUrl: string;
    /** The migrated template database that each test file clones. */
    chronicleTemplateDatabase: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedPostgres | undefined;
  let temporaryDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    temporaryDir = await mkdtemp(join(tmpdir(), 'chronicle-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir: join(temporaryDir, 'data'), persistent: false });
    adminUrl = embedded.url;
  }
  const template = `chronicle_template_${process.pid}_${project.name.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`.slice(0, 63);

  const teardown = async (): Promise<void> => {
    try {
      if (!embedded) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(template)} WITH (FORCE)`);
    } finally {
      // Stopping a non-persistent server deletes its data dir; the temporary parent remains.
      await embedded?.stop();
      if (temporaryDir) await rm(temporaryDir, { recursive: true, force: true });
    }
  };

  try {
    await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(template)} WITH (FORCE)`);
    // template0, not the server's template1: a shared server's template1 may hold objects
    // that would leak into every test database.
    await adminQuery(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(template)} TEMPLATE template0`);
    const pool = createPool(withDatabaseName(adminUrl, template), { max: 1 });
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
    // CREATE DATABASE … TEMPLATE fails while anyone is connected to the template; refusing
    // connections keeps a stray psql or a mistaken test from breaking every clone.
    await adminQuery(adminUrl, `ALTER DATABASE ${pg.escapeIdentifier(template)} WITH ALLOW_CONNECTIONS false`);
  } catch (error) {
    await teardown().catch(() => {});
    throw error;
  }

  project.provide('chronicleAdminUrl', adminUrl);
  project.provide('chronicleTemplateDatabase', template);
  return teardown;
}
