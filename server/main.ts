/**
 * `npm start`: a development Chronicle in one process: PostgreSQL (embedded, data kept in
 * .chronicle/, unless DATABASE_URL is set), migrations, the engine's background loops, the
 * example worker, and the HTTP health endpoints.
 */
import { logPoolError } from '../engine/db/connect.js';
import { consoleLogger } from '../engine/logger.js';
import { PgEngine } from '../engine/pg-engine.js';
import { NativeConnection } from '../sdk/worker/connection.js';
import { createExamplesWorker, EXAMPLES_TASK_QUEUE } from '../examples/worker.js';
import { buildServer } from './app.js';
import { resolveDatabase } from './dev-database.js';

const HELP = `Usage: npm start [-- --port <port>] [-- --host <host>]

Starts Chronicle for development: PostgreSQL (embedded unless DATABASE_URL is set),
migrations, timers and lease recovery, the example worker (task queue '${EXAMPLES_TASK_QUEUE}')
and the health endpoints. Then, in another terminal: npm run example -- hello

Options:
  --port <port>   HTTP port (default 8233, or PORT)
  --host <host>   HTTP host (default 127.0.0.1)
  --help          this text

Environment:
  DATABASE_URL         use this PostgreSQL instead of the embedded one
  CHRONICLE_LOG_LEVEL  debug | info | warn | error (default info)`;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const log = consoleLogger();
  const say = (m: string) => console.log(`[chronicle] ${m}`);
  const database = await resolveDatabase({ log: say });
  let stopping = false;
  // On Ctrl-C the terminal signals the embedded postgres too, so its connections end while
  // we shut down; those errors are expected then and not worth a line each.
  const engine = await PgEngine.connect({
    databaseUrl: database.databaseUrl,
    logger: log,
    poolOptions: { onError: (err, ctx) => (stopping ? undefined : logPoolError(err, ctx)) },
  });
  engine.startBackgroundLoops();
  say('schema migrated; timer and lease-recovery loops running');

  const worker = await createExamplesWorker(NativeConnection.fromEngine(engine));
  const running = worker.run();
  say(`example worker polling task queue '${EXAMPLES_TASK_QUEUE}' (workflows: ${worker.workflowTypes.join(', ')})`);

  const app = await buildServer({ engine });
  const port = Number(option('port') ?? process.env.PORT ?? 8233);
  const host = option('host') ?? '127.0.0.1';
  const address = await app.listen({ port, host });
  say(`health: ${address}/healthz  ready: ${address}/readyz`);
  say('ready. In another terminal: npm run example -- hello   (npm run example -- --help lists all: order, approval, saga, batch, entity)');

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: shutting down`);
    await app.close();
    await worker.shutdown();
    await running;
    await engine.close();
    await database.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(`[chronicle] failed to start: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  process.exit(1);
});
