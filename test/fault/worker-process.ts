/**
 * One fault-test worker process, forked by the supervisor:
 *
 *   node --import tsx test/fault/worker-process.ts
 *
 * Environment: DATABASE_URL, TASK_QUEUE, WORKER_ID (the supervisor's slot index),
 * CHRONICLE_FAILPOINTS (optional, read by engine/failpoints.ts at load).
 *
 * Prints `READY <pid>` on stdout once `Worker.run()` has started polling. SIGTERM shuts the
 * worker down gracefully (in-flight tasks finish) and exits 0; SIGKILL is the fault.
 * Timeouts are short so that a test recovers from a kill in seconds: a workflow task lease
 * of 2 s, 250 ms fallback polling, a lease reaper every 250 ms. Every process runs the
 * engine's timer and reaper loops (safe in any number of processes), so killing any subset
 * of workers leaves the survivors, or a fresh process, to fire timers and reap leases.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '../../sdk/worker/index.js';
import * as activities from './activities.js';
import { closeLedgerPoolFromEnv } from './harness/ledger.js';

const databaseUrl = process.env.DATABASE_URL;
const taskQueue = process.env.TASK_QUEUE;
const workerId = process.env.WORKER_ID ?? '0';
if (!databaseUrl || !taskQueue) {
  process.stderr.write('worker-process: DATABASE_URL and TASK_QUEUE are required\n');
  process.exit(2);
}

// Die with the test: a vitest process that crashes must not leave workers polling.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) {
    process.stderr.write(`worker-process ${process.pid}: parent ${parentPid} is gone; exiting\n`);
    process.exit(3);
  }
}, 500).unref();

const connection = await NativeConnection.connect({
  databaseUrl,
  migrate: false,
  workflowTaskTimeoutMs: 2000,
  pollIntervalMs: 250,
  reaperIntervalMs: 250,
});
const worker = await Worker.create({
  connection,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities,
  // The pid in the identity links history (WorkflowTaskCompleted.identity, activity
  // identities) to the supervisor's kill records and to the ledger.
  identity: `w${workerId}-${process.pid}`,
  // The default, stated: the tests rely on every worker firing timers and reaping leases.
  runEngineLoops: true,
  shutdownGraceTime: '5s',
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`worker-process ${process.pid}: SIGTERM, shutting down gracefully\n`);
  void worker.shutdown();
});

const running = worker.run();
process.stdout.write(`READY ${process.pid}\n`);
try {
  await running;
} finally {
  await connection.close();
  await closeLedgerPoolFromEnv();
}
process.stderr.write(`worker-process ${process.pid}: stopped (${JSON.stringify(worker.stats)})\n`);
process.exit(0);
