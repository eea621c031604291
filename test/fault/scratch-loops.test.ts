import { fileURLToPath } from 'node:url';
import { it, expect } from 'vitest';
import { Client, Connection } from '../../sdk/client/index.js';
import { NativeConnection, Worker } from '../../sdk/worker/index.js';
import { createTestDatabase } from '../helpers/database.js';
import * as activities from './activities.js';
import { createLedger } from './harness/ledger.js';

it('scratch: NativeConnection worker without runEngineLoops', async () => {
  const db = await createTestDatabase();
  await createLedger(db.pool);
  process.env.DATABASE_URL = db.url;
  const connection = await NativeConnection.connect({ databaseUrl: db.url, migrate: false, pollIntervalMs: 250 });
  const worker = await Worker.create({ connection, taskQueue: 'q', workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)), activities });
  const running = worker.run();
  const cconn = await Connection.connect({ databaseUrl: db.url, migrate: false });
  const client = new Client({ connection: cconn });
  const h = await client.workflow.start('sleepThenStep', { workflowId: 'x', taskQueue: 'q', args: [200, 1] });
  const r = await h.result({ signal: AbortSignal.timeout(5000) }).then((v) => ({ v }), (e) => ({ e: String(e) }));
  const d = await h.describe();
  console.log('RESULT', r, d.status.name, 'pendingTimers', d.pendingTimerCount);
  await worker.shutdown(); await running; await connection.close(); await cconn.close(); await db.drop();
});
