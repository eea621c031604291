/**
 * One fault scenario from setup to evidence: a fresh database (cloned from the migrated
 * template) with the ledger table, a client engine in the test process (it runs no timer or
 * reaper loop: only the worker processes do), a supervisor, a seeded random source, and at
 * the end, whatever happened: stop every worker, run the invariant checker, write
 * `test-results/<name>.json`, print the workers' logs and the seed if anything failed, drop
 * the database.
 *
 * @example
 * it('…', () => runScenario('f1-chaos', async (s) => {
 *   await s.supervisor.start(3);
 *   const h = await s.client.workflow.start('threeSteps', { workflowId: 'w1', taskQueue: s.taskQueue, args: [1] });
 *   expect(await s.result(h, 30_000)).toBe(threeStepsResult(1));
 * }));
 */
import { seededRandom } from '../../../engine/retry.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PgEngine } from '../../../engine/pg-engine.js';
import type { Logger } from '../../../engine/logger.js';
import { Client, Connection, type HandleResult, type WorkflowHandle } from '../../../sdk/client/index.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { checkInvariants, formatInvariants, invariantFailureMessage, type CheckResult } from './invariants.js';
import { createLedger, ledgerSummary } from './ledger.js';
import { Supervisor } from './supervisor.js';

const RESULTS_DIR = fileURLToPath(new URL('../../../test-results/', import.meta.url));

export interface Scenario {
  readonly name: string;
  readonly seed: number;
  /** Seeded uniform [0, 1). */
  readonly random: () => number;
  /** Seeded uniform [min, max). */
  uniform(min: number, max: number): number;
  readonly db: TestDatabase;
  readonly engine: PgEngine;
  readonly client: Client;
  readonly supervisor: Supervisor;
  readonly taskQueue: string;
  /** Figures for the JSON report; the scenario adds seed, kills, ledger, invariants, durations. */
  readonly report: Record<string, unknown>;
  /** ms since the scenario started. */
  elapsed(): number;
  /** The run's result, or an error after `deadlineMs` (a generous bound, not a timing assertion). */
  result<T>(handle: WorkflowHandle<T>, deadlineMs: number): Promise<HandleResult<T>>;
}

export { seededRandom };

/** CHAOS_SEED from the environment, else a fresh random one (always printed). */
export function chooseSeed(): number {
  const env = process.env.CHAOS_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`CHAOS_SEED must be an integer, got '${env}'`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32);
}

const quietLogger: Logger = {
  debug() {},
  info() {},
  warn: (m, meta) => console.warn(`[test engine] ${m}`, meta ?? ''),
  error: (m, meta) => console.error(`[test engine] ${m}`, meta ?? ''),
};

export interface ScenarioOptions {
  /**
   * Extra environment for every worker process the supervisor forks, e.g. the CHRONICLE_*
   * limit variables (engine/limits.ts), so that the workers' engines enforce small limits.
   */
  readonly workerEnv?: Readonly<Record<string, string>>;
}

/**
 * Runs `body` as a fault scenario (see the file comment). The invariants must hold with 0
 * violations: a body that passed still fails when they do not. The results are in the report.
 */
export async function runScenario(name: string, body: (s: Scenario) => Promise<void>, options: ScenarioOptions = {}): Promise<void> {
  const seed = chooseSeed();
  const random = seededRandom(seed);
  console.log(`[fault] ${name}: CHAOS_SEED=${seed}`);
  const t0 = Date.now();
  const db = await createTestDatabase();
  let engine: PgEngine | undefined;
  let supervisor: Supervisor | undefined;
  const report: Record<string, unknown> = {};
  let bodyError: unknown;
  let invariants: CheckResult[] | undefined;
  let invariantError: unknown;
  try {
    await createLedger(db.pool);
    engine = await PgEngine.connect({ databaseUrl: db.url, migrate: false, pollIntervalMs: 250, logger: quietLogger });
    const client = new Client({ connection: Connection.fromEngine(engine), identity: `fault-test-${process.pid}` });
    const taskQueue = `fault-${name}`.slice(0, 60);
    supervisor = new Supervisor({ databaseUrl: db.url, taskQueue, random, ...(options.workerEnv ? { env: options.workerEnv } : {}) });
    const s: Scenario = {
      name,
      seed,
      random,
      uniform: (min, max) => min + random() * (max - min),
      db,
      engine,
      client,
      supervisor,
      taskQueue,
      report,
      elapsed: () => Date.now() - t0,
      result: <T,>(handle: WorkflowHandle<T>, deadlineMs: number) =>
        handle.result<HandleResult<T>>({ signal: AbortSignal.timeout(deadlineMs) }).catch((err: unknown) => {
          if ((err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError') {
            throw new Error(`workflow ${handle.workflowId} did not close within ${deadlineMs} ms (CHAOS_SEED=${seed})`);
          }
          throw err;
        }),
    };
    await body(s);
  } catch (err) {
    bodyError = err;
  }

  try {
    await supervisor?.stopAll();
    invariants = await checkInvariants({
      pool: db.pool,
      kills: supervisor?.kills ?? [],
      ...(supervisor ? { processes: supervisor.checkProcesses() } : {}),
    });
  } catch (err) {
    invariantError = err;
  }
  const failed = bodyError !== undefined || invariantError !== undefined || (invariants ?? []).some((r) => r.violations > 0);

  try {
    const out = {
      test: name,
      seed,
      outcome: failed ? 'failed' : 'passed',
      ...(bodyError !== undefined ? { error: String((bodyError as Error)?.stack ?? bodyError) } : {}),
      durationMs: Date.now() - t0,
      ...report,
      processes: supervisor?.processes.map((p) => ({
        index: p.index,
        pid: p.pid,
        failpoints: p.failpoints,
        startupMs: p.readyAt ? p.readyAt - p.startedAt : null,
        killed: p.killed,
        stop: p.stop,
        exit: p.exit ? { code: p.exit.code, signal: p.exit.signal } : null,
      })),
      kills: supervisor?.killsRelative(),
      ledger: await ledgerSummary(db.pool).catch((e: unknown) => String(e)),
      invariants: invariants?.map(({ name: n, checked, violations, examples }) => ({ name: n, checked, violations, examples })),
    };
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(`${RESULTS_DIR}${name}.json`, JSON.stringify(out, null, 2) + '\n');
    console.log(`[fault] ${name}: ${failed ? 'FAILED' : 'passed'} in ${out.durationMs} ms; report test-results/${name}.json`);
    if (invariants) console.log(formatInvariants(invariants));
  } catch (err) {
    console.error(`[fault] ${name}: could not write the report`, err);
  }

  if (failed) {
    console.error(`[fault] ${name} failed; reproduce with CHAOS_SEED=${seed}. Worker logs:\n${supervisor?.dumpLogs() ?? '(no workers)'}`);
  } else if (process.env.FAULT_PRINT_LOGS === '1') {
    console.log(`[fault] ${name} worker logs (FAULT_PRINT_LOGS=1):\n${supervisor?.dumpLogs() ?? '(no workers)'}`);
  }
  await engine?.close().catch((e: unknown) => console.error('engine close failed', e));
  await db.drop({ result: { state: failed ? 'fail' : 'pass' } });

  if (bodyError !== undefined) throw bodyError;
  if (invariantError !== undefined) throw invariantError;
  if (invariants!.some((r) => r.violations > 0)) throw new Error(`[${name}] (CHAOS_SEED=${seed}) ${invariantFailureMessage(invariants!)}`);
}
