// Diagnostic: runs single three-step workflows and prints when each NOTIFY arrives, to see where latency goes.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PgEngine } from '../engine/pg-engine.js';
import { Client, Connection } from '../sdk/client/index.js';
import { NativeConnection, Worker } from '../sdk/worker/index.js';
import * as activities from './activities.js';

const databaseUrl = process.env.DATABASE_URL!;
const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
const engine = await PgEngine.connect({ databaseUrl, logger: quiet });
engine.startBackgroundLoops();
const worker = await Worker.create({ connection: NativeConnection.fromEngine(engine), taskQueue: 'trace', workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)), activities, logger: quiet });
const running = worker.run();
const client = new Client({ connection: Connection.fromEngine(engine) });
const l = new pg.Client({ connectionString: databaseUrl });
await l.connect();
let t0 = 0;
const marks: string[] = [];
l.on('notification', (m) => marks.push(`${(performance.now() - t0).toFixed(1)} ${m.channel}`));
await l.query('LISTEN chronicle_wft; LISTEN chronicle_act; LISTEN chronicle_closed');
for (let i = 0; i < 5; i++) {
  marks.length = 0;
  t0 = performance.now();
  await client.workflow.execute('threeSteps', { workflowId: `trace-${Date.now()}-${i}`, taskQueue: 'trace', args: [1] });
  marks.push(`${(performance.now() - t0).toFixed(1)} result`);
  console.log(marks.join(' | '));
}
await worker.shutdown(); await running; await l.end(); await engine.close();
