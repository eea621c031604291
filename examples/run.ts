/**
 * `npm run example -- <name> [args]`: starts one example workflow against the engine that
 * `npm start` runs (or DATABASE_URL), waits for its result and prints its history.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, summarizeHistory } from 'chronicle/client';
import { readDevConnection } from '../server/dev-database.js';
import { EXAMPLES_TASK_QUEUE } from './worker.js';

const starters: Record<string, { help: string; args: (argv: string[]) => unknown[] }> = {
  hello: { help: 'hello [name]            one activity', args: (argv) => [argv[0] ?? 'World'] },
  order: {
    help: 'order                   parallel reservations, a flaky payment retried, a durable sleep',
    args: () => [`order-${randomUUID().slice(0, 8)}`, [{ sku: 'tea', quantity: 2 }, { sku: 'mug', quantity: 1 }, { sku: 'spoon', quantity: 4 }], 4999],
  },
};

function usage(): never {
  console.log(`Usage: npm run example -- <name> [args]\n\nExamples:\n${Object.values(starters).map((s) => `  ${s.help}`).join('\n')}\n\nRun \`npm start\` in another terminal first (or set DATABASE_URL and run a worker).`);
  process.exit(0);
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h') usage();
  const starter = starters[name];
  if (!starter) {
    console.error(`Unknown example '${name}'. Known: ${Object.keys(starters).join(', ')}`);
    process.exit(2);
  }
  const connection = await Connection.connect({ databaseUrl: readDevConnection() });
  try {
    const client = new Client({ connection });
    const workflowId = `${name}-${randomUUID().slice(0, 8)}`;
    const handle = await client.workflow.start(name, { workflowId, taskQueue: EXAMPLES_TASK_QUEUE, args: starter.args(rest) });
    console.log(`Started ${name} as workflow '${workflowId}' (run ${handle.runId}) on task queue '${EXAMPLES_TASK_QUEUE}'. Waiting for the result...`);
    const hint = setTimeout(() => console.log('Still waiting. Is `npm start` running (it runs the example worker)?'), 5000);
    try {
      const result = await handle.result();
      console.log(`\nResult:\n${JSON.stringify(result, null, 2)}`);
    } finally {
      clearTimeout(hint);
    }
    const { events } = await handle.fetchHistory();
    console.log(`\nHistory (${events.length} events):\n${summarizeHistory(events)}`);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
