import { PgEngine, type PgEngineOptions } from '../../engine/pg-engine.js';
import type { Logger } from '../../engine/logger.js';
import { Client, Connection } from '../../sdk/client/index.js';
import { NativeConnection, Worker, type WorkerOptions } from '../../sdk/worker/index.js';

/** A logger that keeps warnings and errors for assertions and prints errors only. */
export function recordingLogger(print = true): Logger & { entries: { level: string; message: string; meta?: unknown }[] } {
  const entries: { level: string; message: string; meta?: unknown }[] = [];
  const at = (level: string) => (message: string, meta?: unknown) => {
    entries.push({ level, message, meta });
    if (print && level === 'error') console.error(`[${level}] ${message}`, meta ?? '');
  };
  return { entries, debug() {}, info() {}, warn: at('warn'), error: at('error') };
}

/** An engine on a test database, tuned for fast recovery (short leases, quick polling). */
export async function testEngine(databaseUrl: string, overrides: Partial<PgEngineOptions> = {}): Promise<PgEngine> {
  const engine = await PgEngine.connect({
    databaseUrl,
    migrate: false,
    workflowTaskTimeoutMs: 2000,
    pollIntervalMs: 250,
    reaperIntervalMs: 200,
    logger: recordingLogger(),
    ...overrides,
  });
  engine.startBackgroundLoops();
  return engine;
}

export function clientFor(engine: PgEngine): Client {
  return new Client({ connection: Connection.fromEngine(engine) });
}

/** Creates a worker on `engine` and starts it; `stop()` shuts it down and waits. */
export async function startWorker(engine: PgEngine, options: Omit<WorkerOptions, 'connection'>): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const worker = await Worker.create({ logger: recordingLogger(), ...options, connection: NativeConnection.fromEngine(engine) });
  const running = worker.run();
  return {
    worker,
    async stop() {
      await worker.shutdown();
      await running;
    },
  };
}
