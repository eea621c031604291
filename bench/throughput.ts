/**
 * `npm run bench`: N three-activity workflows at a fixed concurrency, engine and worker in
 * this process, against DATABASE_URL or an embedded PostgreSQL. Prints one JSON line per
 * scenario. Options: --workflows N (2000), --concurrency C (50), --latency-workflows N (200).
 *
 * Scenarios: `throughput` (C in flight) and `latency` (one in flight, to measure
 * start→result when nothing queues).
 */
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PgEngine } from '../engine/pg-engine.js';
import { Client, Connection } from '../sdk/client/index.js';
import { NativeConnection, Worker } from '../sdk/worker/index.js';
import { startEmbeddedPostgres } from '../sdk/testing/embedded-postgres.js';
import * as activities from './activities.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

async function commits(admin: pg.Client, db: string): Promise<number> {
  const { rows } = await admin.query('SELECT xact_commit::bigint AS c FROM pg_stat_database WHERE datname = $1', [db]);
  return Number(rows[0].c);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('Usage: npm run bench [-- --workflows 2000 --concurrency 50 --latency-workflows 200]');
    return;
  }
  const total = arg('workflows', 2000);
  const concurrency = arg('concurrency', 50);
  const latencyTotal = arg('latency-workflows', 200);

  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded = async () => {};
  let dataDir: string | undefined;
  if (!adminUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'chronicle-bench-'));
    const pgServer = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pgdata'), persistent: false });
    adminUrl = pgServer.url;
    stopEmbedded = () => pgServer.stop();
  }
  const dbName = `chronicle_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const quiet = { debug() {}, info() {}, warn() {}, error: (m: string, meta?: unknown) => console.error(m, meta) };

  const engine = await PgEngine.connect({ databaseUrl, logger: quiet, poolOptions: { max: Number(process.env.BENCH_POOL ?? 20) } });
  engine.startBackgroundLoops();
  const worker = await Worker.create({
    connection: NativeConnection.fromEngine(engine),
    taskQueue: 'bench',
    workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
    activities,
    maxConcurrentActivityTaskExecutions: 100,
    maxConcurrentWorkflowTaskExecutions: 100,
    logger: quiet,
  });
  const running = worker.run();
  const client = new Client({ connection: Connection.fromEngine(engine) });

  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

  async function scenario(name: string, n: number, inFlight: number) {
    activities.scheduleToStart.length = 0;
    await new Promise((r) => setTimeout(r, 1500)); // let pg_stat_database settle
    const c0 = await commits(admin, dbName);
    const latencies: number[] = [];
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    let lastReport = t0;
    async function lane() {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        const r = await client.workflow.execute('threeSteps', { workflowId: `${name}-${i}`, taskQueue: 'bench', args: [i] });
        if (r !== i + 3) throw new Error(`wrong result for ${i}: ${r}`);
        latencies.push(performance.now() - s);
        done++;
        if (performance.now() - lastReport > 2000) {
          lastReport = performance.now();
          process.stderr.write(`[bench] ${name}: ${done}/${n} workflows\n`);
        }
      }
    }
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1500));
    const c1 = await commits(admin, dbName);
    latencies.sort((a, b) => a - b);
    const s2s = [...activities.scheduleToStart].sort((a, b) => a - b);
    return {
      scenario: name,
      workflows: n,
      concurrency: inFlight,
      seconds: Math.round(seconds * 100) / 100,
      workflowsPerSec: Math.round((n / seconds) * 10) / 10,
      activitiesPerSec: Math.round(((n * 3) / seconds) * 10) / 10,
      startToResultMs: { p50: pct(latencies, 50), p95: pct(latencies, 95), p99: pct(latencies, 99) },
      activityScheduleToStartMs: { p50: pct(s2s, 50), p99: pct(s2s, 99) },
      // Includes the benchmark's own reads (result polling, history), measured on the bench database.
      pgCommitsPerWorkflow: Math.round(((c1 - c0) / n) * 10) / 10,
      peakRssMb: Math.round(peakRss / 1048576),
      speculationsApplied: worker.stats.speculationsApplied,
      speculationsAbandoned: worker.stats.speculationsAbandoned,
      workflowCacheHitRate: Math.round((worker['cache'].hits / Math.max(1, worker['cache'].hits + worker['cache'].misses)) * 1000) / 1000,
    };
  }

  try {
    // Warm-up: bundle caches, JIT, connection pool.
    await scenario('warmup', Math.min(100, total), Math.min(concurrency, 20));
    console.log(JSON.stringify(await scenario('throughput', total, concurrency)));
    console.log(JSON.stringify(await scenario('latency', latencyTotal, 1)));
    if (process.env.BENCH_FUNCTION_STATS) {
      // Per-function server time; needs track_functions = 'pl' (e.g. ?options=-c%20track_functions%3Dpl in DATABASE_URL).
      const stats = await engine.pool.query(
        `SELECT funcname, calls, round(total_time::numeric / calls, 3) AS ms_per_call, round(self_time::numeric / calls, 3) AS self_ms
         FROM pg_stat_user_functions ORDER BY total_time DESC`,
      );
      console.error(JSON.stringify(stats.rows));
    }
  } finally {
    clearInterval(rssTimer);
    await worker.shutdown();
    await running;
    await engine.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await stopEmbedded();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
