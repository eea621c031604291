import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PgEngine, type PgEngineOptions } from '../../engine/pg-engine.js';
import { Client, Connection } from '../client/index.js';
import { NativeConnection } from '../worker/connection.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export interface LocalTestEnvironmentOptions {
  /**
   * Server to create the test database on. Default: DATABASE_URL if set, else an embedded
   * PostgreSQL started in a temporary directory (and removed by `teardown`).
   */
  readonly databaseUrl?: string;
  /** Engine tuning; tests usually want short leases so recovery is quick. */
  readonly engineOptions?: Partial<PgEngineOptions>;
}

/**
 * A Chronicle for tests: a fresh, migrated database (on an embedded PostgreSQL unless you
 * give a server), an engine running its timer and recovery loops, a `client`, and a
 * `nativeConnection` to pass to `Worker.create`. Temporal's `TestWorkflowEnvironment`.
 *
 * @example
 * const env = await TestWorkflowEnvironment.createLocal();
 * const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'test', workflowsPath, activities });
 * const result = await worker.runUntil(env.client.workflow.execute(hello, { workflowId: 'w1', taskQueue: 'test', args: ['Ada'] }));
 * await env.teardown();
 */
export class TestWorkflowEnvironment {
  private constructor(
    readonly databaseUrl: string,
    readonly engine: PgEngine,
    readonly client: Client,
    readonly nativeConnection: NativeConnection,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async createLocal(options: LocalTestEnvironmentOptions = {}): Promise<TestWorkflowEnvironment> {
    let serverUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    let stopServer = async () => {};
    if (!serverUrl) {
      const dir = await mkdtemp(join(tmpdir(), 'chronicle-test-'));
      const server = await startEmbeddedPostgres({ dataDir: join(dir, 'pgdata'), persistent: false });
      serverUrl = server.url;
      stopServer = async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      };
    }
    const name = `chronicle_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();
    const engine = await PgEngine.connect({ databaseUrl, workflowTaskTimeoutMs: 2000, pollIntervalMs: 250, reaperIntervalMs: 250, ...options.engineOptions });
    engine.startBackgroundLoops();
    return new TestWorkflowEnvironment(
      databaseUrl,
      engine,
      new Client({ connection: Connection.fromEngine(engine) }),
      NativeConnection.fromEngine(engine),
      async () => {
        await engine.close();
        const a = new pg.Client({ connectionString: serverUrl });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).finally(() => a.end());
        await stopServer();
      },
    );
  }

  /** Stops the engine, drops the database and stops the embedded server (if one was started). */
  async teardown(): Promise<void> {
    await this.cleanup();
  }
}
