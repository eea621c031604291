import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import type { PgEngine } from '../../engine/pg-engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { NativeConnection } from '../../sdk/worker/index.js';
import { createExamplesWorker } from '../../examples/worker.js';
import { testEngine } from '../helpers/chronicle.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * Registers hooks that run the examples worker (the one `npm start` runs) on a fresh test
 * database for the calling test file; the returned function gives its engine.
 */
export function useExamplesWorker(): () => PgEngine {
  let t: TestDatabase;
  let engine: PgEngine;
  let stopWorker: () => Promise<void>;
  beforeAll(async () => {
    t = await createTestDatabase();
    engine = await testEngine(t.url);
    const worker = await createExamplesWorker(NativeConnection.fromEngine(engine));
    const running = worker.run();
    stopWorker = async () => {
      await worker.shutdown();
      await running;
    };
  });
  afterAll(async () => {
    await stopWorker?.();
    await engine?.close();
    await t?.drop();
  });
  return () => engine;
}

export const eventTypes = (events: readonly HistoryEvent[]) => events.map((e) => e.eventType);

/**
 * With CHRONICLE_RECORD_HISTORIES=1, saves an example's history as a golden history under
 * test/replay/histories/, which test/replay replays against the current code on every run.
 */
export function recordGoldenHistory(name: string, events: readonly HistoryEvent[]): void {
  if (process.env.CHRONICLE_RECORD_HISTORIES !== '1') return;
  writeFileSync(new URL(`../replay/histories/${name}.json`, import.meta.url), JSON.stringify({ workflowsPath: 'examples/workflows.ts', events }, null, 2) + '\n');
}
