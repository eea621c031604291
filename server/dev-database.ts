/**
 * Where `npm start` and `npm run example` find their database when the user has not set
 * one up: `DATABASE_URL` if set, else an embedded PostgreSQL kept under `.chronicle/`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { withDatabaseName } from '../engine/db/connect.js';
import { startEmbeddedPostgres } from '../sdk/testing/embedded-postgres.js';

export interface ResolveDatabaseOptions {
  /** Directory for the embedded cluster (`<dataDir>/pgdata`) and `connection.json`. Default '.chronicle'. */
  readonly dataDir?: string;
  /** Progress lines ("embedded PostgreSQL on 127.0.0.1:54329"). Default: silent. */
  readonly log?: (message: string) => void;
}

export interface DevDatabase {
  readonly databaseUrl: string;
  /** true when this call started an embedded server (and `stop()` stops it). */
  readonly embedded: boolean;
  /** Stops the embedded server and removes `connection.json`; nothing for DATABASE_URL. */
  stop(): Promise<void>;
}

/** The embedded server's port when free, so that the URL stays the same across restarts. */
export const DEFAULT_EMBEDDED_PORT = 54329;
const DATABASE_NAME = 'chronicle';
const CONNECTION_FILE = 'connection.json';

/**
 * The database for a development server: `process.env.DATABASE_URL` when set (nothing is
 * started or written then); otherwise an embedded PostgreSQL whose data persists in
 * `<dataDir>/pgdata`, on port 54329 unless that is taken, with a database `chronicle`
 * created on first use. Its URL is written to `<dataDir>/connection.json` so that other
 * commands of the same checkout (`npm run example`) find it through `readDevConnection`.
 *
 * The schema is not migrated here; the server does that when it starts.
 */
export async function resolveDatabase(options: ResolveDatabaseOptions = {}): Promise<DevDatabase> {
  const log = options.log ?? (() => {});
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) {
    log('using DATABASE_URL');
    return { databaseUrl: fromEnv, embedded: false, stop: async () => {} };
  }

  const dataDir = resolve(options.dataDir ?? '.chronicle');
  const server = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pgdata'), preferredPort: DEFAULT_EMBEDDED_PORT, persistent: true });
  try {
    await createDatabaseIfMissing(server.url, DATABASE_NAME);
    const databaseUrl = withDatabaseName(server.url, DATABASE_NAME);
    const connectionFile = join(dataDir, CONNECTION_FILE);
    await writeConnectionFile(connectionFile, databaseUrl);
    log(`embedded PostgreSQL on 127.0.0.1:${server.port}, data in ${server.dataDir}`);

    let stopped: Promise<void> | undefined;
    const stop = async (): Promise<void> => {
      // Only remove the file if it is still ours: another checkout of the dev server may
      // have replaced it since.
      const current = await readConnectionFile(connectionFile).catch(() => undefined);
      if (current === databaseUrl) await rm(connectionFile, { force: true });
      await server.stop();
    };
    return { databaseUrl, embedded: true, stop: () => (stopped ??= stop()) };
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  }
}

/**
 * The database URL for a command that talks to the development setup (`npm run example`):
 * `DATABASE_URL` when set, else the URL `npm start` recorded in `<dataDir>/connection.json`.
 * Throws, saying what to do, when neither exists.
 */
export function readDevConnection(dataDir = '.chronicle'): string {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return fromEnv;
  const file = join(resolve(dataDir), CONNECTION_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(
      `No database to connect to: DATABASE_URL is not set and ${file} does not exist. ` +
        `Run 'npm start' first (it starts an embedded PostgreSQL and records its URL there), ` +
        `or set DATABASE_URL=postgres://user:password@host:5432/database.`,
    );
  }
  return parseConnectionFile(file, text);
}

async function createDatabaseIfMissing(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } catch (error) {
      // 42P04 duplicate_database: another process created it between the check and here.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  } finally {
    await client.end();
  }
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
async function writeConnectionFile(file: string, databaseUrl: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  // 0600: the URL carries the (local-only) password.
  await writeFile(temporary, `${JSON.stringify({ databaseUrl }, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}

async function readConnectionFile(file: string): Promise<string> {
  return parseConnectionFile(file, await readFile(file, 'utf8'));
}

function parseConnectionFile(file: string, text: string): string {
  let databaseUrl: unknown;
  try {
    databaseUrl = (JSON.parse(text) as { databaseUrl?: unknown }).databaseUrl;
  } catch {
    databaseUrl = undefined;
  }
  if (typeof databaseUrl !== 'string' || databaseUrl === '') {
    throw new Error(`${file} is not a valid connection file (expected {"databaseUrl": "postgres://…"}). Delete it and run 'npm start' again.`);
  }
  return databaseUrl;
}
