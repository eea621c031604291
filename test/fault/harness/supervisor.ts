/**
 * The supervisor: forks worker processes (test/fault/worker-process.ts), keeps a log buffer
 * per process, kills, pauses and restarts them, and remembers every kill so that the
 * invariant checker can tell an explained duplicate execution (its process was killed or
 * paused) from an unexplained one (I8), and a process that died on its own from one the test
 * killed (I9).
 *
 * A *slot* is a worker position (index 0 … n-1); `restart(i)` puts a new process in slot i.
 * Every process ever started is kept in `processes`, with its log and how it ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WORKER_SCRIPT = 'test/fault/worker-process.ts';
/** Lines kept per process; older ones are dropped (the count is printed). */
const MAX_LOG_LINES = 3000;

export type KillSignal = 'SIGKILL' | 'SIGSTOP';

export interface KillRecord {
  readonly index: number;
  readonly pid: number;
  readonly signal: KillSignal;
  /** ms since epoch (host clock; comparable with the ledger's clock_timestamp()). */
  readonly killedAt: number;
  /** 'test': the supervisor sent it; 'failpoint': the process killed itself at a failpoint. */
  readonly by: 'test' | 'failpoint';
  /** The failpoint's name, when `by` is 'failpoint'. */
  readonly point?: string;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** ms since epoch */
  readonly at: number;
}

export interface WorkerProcess {
  readonly index: number;
  readonly pid: number;
  readonly failpoints: string | undefined;
  readonly startedAt: number;
  readonly child: ChildProcess;
  readonly log: string[];
  droppedLogLines: number;
  readyAt?: number;
  exit?: ProcessExit;
  /** The test killed it (SIGKILL), or it killed itself at a configured failpoint. */
  killed: boolean;
  /** SIGSTOPped and not SIGCONTed since. */
  paused: boolean;
  /** Alive when stopAll() began (I9: only processes the test killed may be dead by then). */
  aliveAtStop?: boolean;
  /** How stopAll() ended it. */
  stop?: 'graceful' | 'forced' | 'already-dead';
  readonly ready: Promise<void>;
  readonly exited: Promise<ProcessExit>;
}

export interface SupervisorOptions {
  readonly databaseUrl: string;
  readonly taskQueue: string;
  /** Random source for restart delays (pass the test's seeded one). Default Math.random. */
  readonly random?: () => number;
  /** Extra environment for every worker. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long a process may take to print READY. Default 30 s. */
  readonly readyTimeoutMs?: number;
  /** How long stopAll() waits after SIGTERM before SIGKILL. Default 10 s. */
  readonly stopTimeoutMs?: number;
}

export interface SpawnOptions {
  /** CHRONICLE_FAILPOINTS for this process only, e.g. 'wft.afterCommit=kill#1'. */
  readonly failpoints?: string;
  /** Wait for READY (default true). */
  readonly waitReady?: boolean;
}

export interface ProcessCheck {
  readonly name: 'I9';
  readonly description: string;
  readonly checked: number;
  readonly violations: number;
  readonly examples: unknown[];
}

export class Supervisor {
  /** Every process ever started, in start order. */
  readonly processes: WorkerProcess[] = [];
  /** Every SIGKILL / SIGSTOP, by the test or by a failpoint, in time order. */
  readonly kills: KillRecord[] = [];
  private readonly slots: WorkerProcess[] = [];
  private readonly random: () => number;
  private readonly t0 = Date.now();
  private stopping = false;
  private readonly onExit = () => this.killEverything();

  constructor(readonly options: SupervisorOptions) {
    this.random = options.random ?? Math.random;
    process.once('exit', this.onExit);
  }

  /** Starts `count` workers in slots 0 … count-1 (in parallel) and waits until all are READY. */
  async start(count: number, perSlot: (index: number) => SpawnOptions = () => ({})): Promise<void> {
    const first = this.slots.length;
    await Promise.all(Array.from({ length: count }, (_, i) => this.spawnInSlot(first + i, perSlot(first + i))));
  }

  /** Adds one worker in the next free slot; returns its index. */
  async add(options: SpawnOptions = {}): Promise<number> {
    const index = this.slots.length;
    await this.spawnInSlot(index, options);
    return index;
  }

  get size(): number {
    return this.slots.length;
  }

  /** The current process of slot `index`. */
  current(index: number): WorkerProcess {
    const p = this.slots[index];
    if (!p) throw new Error(`supervisor: no worker in slot ${index} (slots: 0…${this.slots.length - 1})`);
    return p;
  }

  pid(index: number): number {
    return this.current(index).pid;
  }

  /** Slot whose current process has `pid`, or -1. */
  indexOfPid(pid: number): number {
    return this.slots.findIndex((p) => p.pid === pid);
  }

  /** Slots whose current process is running, READY and not paused. */
  liveSlots(): number[] {
    return this.slots.flatMap((p, i) => (p.exit || !p.readyAt || p.paused ? [] : [i]));
  }

  isAlive(index: number): boolean {
    return this.current(index).exit === undefined;
  }

  /**
   * Sends `signal` to slot `index`'s current process and records it. SIGKILL and SIGSTOP are
   * recorded as kills (they explain duplicates); SIGCONT resumes a paused process.
   */
  kill(index: number, signal: KillSignal | 'SIGCONT'): KillRecord | undefined {
    const p = this.current(index);
    if (p.exit) throw new Error(`supervisor: worker ${index} (pid ${p.pid}) already exited (${describeExit(p.exit)}); cannot send ${signal}`);
    if (signal === 'SIGCONT') {
      p.child.kill('SIGCONT');
      p.paused = false;
      this.note(p, `supervisor: SIGCONT`);
      return undefined;
    }
    const record: KillRecord = { index, pid: p.pid, signal, killedAt: Date.now(), by: 'test' };
    this.kills.push(record);
    if (signal === 'SIGKILL') p.killed = true;
    else p.paused = true;
    this.note(p, `supervisor: ${signal}`);
    p.child.kill(signal);
    return record;
  }

  /** Resolves when slot `index`'s current process has exited (rejects after `timeoutMs`). */
  async waitForExit(index: number, timeoutMs = 30_000): Promise<ProcessExit> {
    const p = this.current(index);
    return withTimeout(p.exited, timeoutMs, `worker ${index} (pid ${p.pid}) did not exit within ${timeoutMs} ms`);
  }

  /**
   * Starts a new process in slot `index` once the old one has exited (kill it first), after
   * `delayMs`, or after U(0.1, 1) s with `randomDelay`. Resolves when the new one is READY.
   */
  async restart(index: number, options: SpawnOptions & { readonly delayMs?: number; readonly randomDelay?: boolean } = {}): Promise<WorkerProcess> {
    const old = this.current(index);
    await this.waitForExit(index);
    const delayMs = options.delayMs ?? (options.randomDelay ? 100 + this.random() * 900 : 0);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (this.stopping) throw new Error('supervisor: stopAll() was called; not restarting');
    return this.spawnInSlot(index, { failpoints: options.failpoints ?? old.failpoints, ...(options.waitReady !== undefined ? { waitReady: options.waitReady } : {}) });
  }

  /** Waits until slot `index`'s current process is READY. */
  async waitReady(index: number): Promise<void> {
    await this.current(index).ready;
  }

  /**
   * Stops every live process: SIGCONT if paused, SIGTERM (the worker shuts down gracefully),
   * SIGKILL after `stopTimeoutMs`. Records, per process, whether it was alive when this
   * began (I9) and how it ended.
   */
  async stopAll(): Promise<void> {
    this.stopping = true;
    const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
    for (const p of this.processes) p.aliveAtStop = p.exit === undefined;
    await Promise.all(
      this.processes.map(async (p) => {
        if (p.exit) {
          p.stop = 'already-dead';
          return;
        }
        if (p.paused) {
          p.child.kill('SIGCONT');
          p.paused = false;
        }
        this.note(p, 'supervisor: SIGTERM (stopAll)');
        p.child.kill('SIGTERM');
        const ended = await Promise.race([p.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
        if (ended) {
          p.stop = 'graceful';
          return;
        }
        p.stop = 'forced';
        this.note(p, `supervisor: no exit ${timeoutMs} ms after SIGTERM; SIGKILL`);
        p.child.kill('SIGKILL');
        await p.exited;
      }),
    );
    process.removeListener('exit', this.onExit);
  }

  /**
   * I9: no process exited except those the test (or a configured failpoint) killed; every
   * other one was alive when stopAll() began (or is alive now, if stopAll() has not run) and
   * then stopped gracefully with exit code 0.
   */
  checkProcesses(): ProcessCheck {
    const examples: unknown[] = [];
    for (const p of this.processes) {
      if (p.killed) continue;
      const alive = p.aliveAtStop ?? p.exit === undefined;
      const base = { index: p.index, pid: p.pid, failpoints: p.failpoints };
      if (!alive) {
        examples.push({ ...base, problem: 'exited although nobody killed it', exit: p.exit && describeExit(p.exit), lastLog: p.log.slice(-15) });
      } else if (p.stop === 'forced') {
        examples.push({ ...base, problem: 'did not stop within the timeout after SIGTERM (graceful shutdown hung)', lastLog: p.log.slice(-15) });
      } else if (p.stop === 'graceful' && p.exit && p.exit.code !== 0) {
        examples.push({ ...base, problem: 'graceful shutdown exited non-zero', exit: describeExit(p.exit), lastLog: p.log.slice(-15) });
      }
    }
    return {
      name: 'I9',
      description: 'no process exited except those the test killed; the others shut down gracefully with code 0',
      checked: this.processes.length,
      violations: examples.length,
      examples,
    };
  }

  /** Every process's log, with its slot, pid and end; print it when a test fails. */
  dumpLogs(): string {
    return this.processes
      .map((p) => {
        const head = `----- worker ${p.index} pid ${p.pid}${p.failpoints ? ` CHRONICLE_FAILPOINTS=${p.failpoints}` : ''} ` +
          `(${p.exit ? describeExit(p.exit) : 'running'}${p.killed ? ', killed' : ''}) -----`;
        const dropped = p.droppedLogLines ? [`… ${p.droppedLogLines} earlier lines dropped`] : [];
        return [head, ...dropped, ...p.log].join('\n');
      })
      .join('\n');
  }

  /** Kill records as JSON-friendly objects with times relative to the supervisor's start. */
  killsRelative(): Array<KillRecord & { atMs: number }> {
    return this.kills.map((k) => ({ ...k, atMs: k.killedAt - this.t0 }));
  }

  // ---- internals ------------------------------------------------------------------------

  private spawnInSlot(index: number, options: SpawnOptions): Promise<WorkerProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.options.env,
      DATABASE_URL: this.options.databaseUrl,
      TASK_QUEUE: this.options.taskQueue,
      WORKER_ID: String(index),
    };
    // Only the processes a test configures get failpoints, never an inherited setting.
    delete env.CHRONICLE_FAILPOINTS;
    if (options.failpoints) env.CHRONICLE_FAILPOINTS = options.failpoints;
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error(`supervisor: could not fork ${WORKER_SCRIPT}`);

    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => ((markReady = res), (failReady = rej)));
    ready.catch(() => {}); // observed through waitReady()/start(); never an unhandled rejection
    const exited = new Promise<ProcessExit>((res) => {
      child.once('exit', (code, signal) => {
        const exit = { code, signal, at: Date.now() };
        p.exit = exit;
        this.onProcessExit(p, exit);
        failReady(new Error(`worker ${index} (pid ${p.pid}) exited before READY (${describeExit(exit)})\n${p.log.slice(-30).join('\n')}`));
        res(exit);
      });
    });
    const p: WorkerProcess = {
      index,
      pid: child.pid,
      failpoints: options.failpoints,
      startedAt: Date.now(),
      child,
      log: [],
      droppedLogLines: 0,
      killed: false,
      paused: false,
      ready,
      exited,
    };
    this.processes.push(p);
    this.slots[index] = p;
    this.captureLines(p, child.stdout!, 'out', (line) => {
      if (line === `READY ${p.pid}`) {
        p.readyAt = Date.now();
        markReady();
      }
    });
    this.captureLines(p, child.stderr!, 'err');
    if (options.waitReady === false) return Promise.resolve(p);
    const timeoutMs = this.options.readyTimeoutMs ?? 30_000;
    return withTimeout(ready, timeoutMs, `worker ${index} (pid ${p.pid}) did not print READY within ${timeoutMs} ms\n${p.log.slice(-30).join('\n')}`).then(() => p);
  }

  private captureLines(p: WorkerProcess, stream: NodeJS.ReadableStream, tag: string, onLine?: (line: string) => void): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        this.push(p, `${this.stamp()} ${tag} ${line}`);
        onLine?.(line);
      }
    });
    stream.on('end', () => {
      if (partial) this.push(p, `${this.stamp()} ${tag} ${partial}`);
    });
  }

  private onProcessExit(p: WorkerProcess, exit: ProcessExit): void {
    this.note(p, `exited (${describeExit(exit)})`);
    if (exit.signal !== 'SIGKILL' || p.killed) return;
    // A process that SIGKILLed itself at a failpoint it was configured with: an expected
    // kill, recorded like the test's own (engine/failpoints.ts writes this line first).
    const line = p.log.find((l) => /failpoint \S+: SIGKILL pid \d+/.test(l));
    if (p.failpoints && line) {
      p.killed = true;
      this.kills.push({ index: p.index, pid: p.pid, signal: 'SIGKILL', killedAt: exit.at, by: 'failpoint', point: /failpoint (\S+):/.exec(line)![1]! });
    }
  }

  private note(p: WorkerProcess, message: string): void {
    this.push(p, `${this.stamp()} --- ${message}`);
  }

  private push(p: WorkerProcess, line: string): void {
    p.log.push(line);
    if (p.log.length > MAX_LOG_LINES) {
      p.log.shift();
      p.droppedLogLines++;
    }
  }

  private stamp(): string {
    return `+${((Date.now() - this.t0) / 1000).toFixed(3)}s`;
  }

  private killEverything(): void {
    for (const p of this.processes) if (!p.exit) p.child.kill('SIGKILL');
  }
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
