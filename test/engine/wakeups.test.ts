import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgEngine } from '../../engine/pg-engine.js';
import { recordingLogger } from '../helpers/chronicle.js';
import { createTestDatabase, waitUntil, type TestDatabase } from '../helpers/database.js';

let t: TestDatabase;
let engine: PgEngine;
beforeAll(async () => {
  t = await createTestDatabase();
  // Fallback polling effectively off: only NOTIFY can wake the poller within the test's deadline.
  engine = await PgEngine.connect({ databaseUrl: t.url, migrate: false, pollIntervalMs: 120_000, logger: recordingLogger(false) });
});
afterAll(async () => {
  await engine?.close();
  await t?.drop();
});

const listeners = async () =>
  (
    await t.pool.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'chronicle-listen' AND query LIKE 'LISTEN%'`,
    )
  ).rows.map((r) => r.pid as number);

it('re-establishes a dropped LISTEN connection and is woken by NOTIFY again', async () => {
  const [before] = await waitUntil(async () => ((await listeners()).length ? listeners() : undefined), { message: 'no LISTEN connection' });
  await t.pool.query('SELECT pg_terminate_backend($1)', [before]);
  const after = await waitUntil(async () => {
    const now = (await listeners()).filter((p) => p !== before);
    return now.length ? now : undefined;
  }, { timeoutMs: 20_000, message: 'LISTEN never re-established' });
  expect(after.length).toBe(1);

  const polled = engine.pollWorkflowTasks({ taskQueue: 'wake', maxTasks: 1, identity: 'w', waitMs: 20_000 });
  // Give the poller time to find the queue empty and go to sleep on its doorbell.
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  await engine.startWorkflow({ workflowId: 'wake-1', workflowType: 'wf', taskQueue: 'wake' });
  const tasks = await polled;
  expect(tasks.map((x) => x.workflowId)).toEqual(['wake-1']);
  console.log(`woken ${Date.now() - started} ms after the start (fallback polling every 120 s)`);
});
