/**
 * `npm run example -- <name> [args]`: starts one example workflow against the engine that
 * `npm start` runs (or DATABASE_URL), waits for its result and prints its history.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, summarizeHistory, type WorkflowHandle } from 'chronicle/client';
import { readDevConnection } from '../server/dev-database.js';
import { EXAMPLES_TASK_QUEUE } from './worker.js';

interface Starter {
  readonly help: string;
  /** The workflow type, when it differs from the example's name. */
  readonly workflowType?: string;
  readonly args: (argv: string[]) => unknown[];
  /** Talks to the running workflow (signals, queries, updates) before waiting for its result. */
  readonly drive?: (handle: WorkflowHandle) => Promise<void>;
}

const starters: Record<string, Starter> = {
  hello: { help: 'hello [name]            one activity', args: (argv) => [argv[0] ?? 'World'] },
  order: {
    help: 'order                   parallel reservations, a flaky payment retried, a durable sleep',
    args: () => [`order-${randomUUID().slice(0, 8)}`, [{ sku: 'tea', quantity: 2 }, { sku: 'mug', quantity: 1 }, { sku: 'spoon', quantity: 4 }], 4999],
  },
  approval: {
    help: 'approval                a signal awaited with a timeout; queried, then approved',
    args: () => [{ requestId: `req-${randomUUID().slice(0, 8)}`, requester: 'ada', amountCents: 12_500 }, '1 hour'],
    drive: async (handle) => {
      console.log(`status: ${String(await handle.query('status'))}`);
      await handle.signal('approve', { by: 'grace', comment: 'within budget' });
    },
  },
  saga: {
    help: 'saga                    bookings undone in reverse order when the car is sold out',
    workflowType: 'bookTrip',
    args: () => [{ tripId: `trip-${randomUUID().slice(0, 8)}`, failAt: 'car' }],
  },
  batch: {
    help: 'batch                   40 items in 4 child workflows, in parallel',
    workflowType: 'batchParent',
    args: () => [Array.from({ length: 40 }, (_, i) => i + 1), 10],
  },
  entity: {
    help: 'entity                  an account changed by updates, continuing as new every 3 operations',
    workflowType: 'account',
    args: () => [{ accountId: `acct-${randomUUID().slice(0, 8)}`, balanceCents: 0, operations: 0 }, 3],
    drive: async (handle) => {
      for (const amount of [500, 250, 125, 60]) {
        console.log(`deposit ${amount} → balance ${String(await handle.executeUpdate('deposit', { args: [amount] }))}`);
      }
      console.log(`withdraw 100 → balance ${String(await handle.executeUpdate('withdraw', { args: [100] }))}`);
      await handle.signal('close');
    },
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
    const handle = await client.workflow.start(starter.workflowType ?? name, { workflowId, taskQueue: EXAMPLES_TASK_QUEUE, args: starter.args(rest) });
    console.log(`Started ${name} as workflow '${workflowId}' (run ${handle.firstExecutionRunId}) on task queue '${EXAMPLES_TASK_QUEUE}'. Waiting for the result...`);
    const hint = setTimeout(() => console.log('Still waiting. Is `npm start` running (it runs the example worker)?'), 5000);
    try {
      await starter.drive?.(handle);
      try {
        const result = await handle.result();
        console.log(`\nResult:\n${JSON.stringify(result, null, 2)}`);
      } catch (err) {
        // A failed workflow is an outcome too (the saga fails on purpose): show it and its history.
        const cause = (err as { cause?: Error }).cause;
        console.log(`\nFailed: ${(err as Error).message}${cause ? `\n  cause: ${cause.name}: ${cause.message}` : ''}`);
      }
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
