/**
 * F8b, signals at completion (RELIABILITY.md): a workflow returns once it sees `finish`,
 * while senders keep signalling it. Every signal acknowledged before the close must reach
 * the handler (the engine refuses a closing completion while an unseen signal waits, and the
 * task runs again with it); every later send must fail with CHR_WORKFLOW_NOT_RUNNING. Zero
 * acknowledged-then-dropped signals, over many runs, with the race actually hit (rejected
 * completions > 0). Figures go to test-results/fault-f8b-signals-at-completion.json.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { startWorker } from '../helpers/chronicle.js';
import { waitUntil } from '../helpers/database.js';
import * as activities from '../model/fixtures/activities.js';
import { addSignal, finishSignal, valuesQuery, type collector } from '../model/fixtures/workflows.js';
import { runScenario } from './harness/scenario.js';

const workflowsPath = fileURLToPath(new URL('../model/fixtures/workflows.ts', import.meta.url));
const RUNS = 100;
const IN_PARALLEL = 10;
const SENDERS_PER_RUN = 2;
/**
 * A sender stops after this many signals. Without a bound, senders that signal back to back
 * faster than a workflow task (a replay, after a rejection) can finish would keep every
 * closing completion rejected: the run could never close (Temporal behaves the same).
 */
const MAX_SENDS = 60;

it('F8b: no signal acknowledged before the close is dropped; later sends are refused', () =>
  runScenario('fault-f8b-signals-at-completion', async (s) => {
    const taskQueue = `${s.taskQueue}-f8b`;
    const worker = await startWorker(s.engine, { taskQueue, workflowsPath, activities });
    let acknowledged = 0;
    let refused = 0;
    try {
      const one = async (run: number): Promise<void> => {
        const handle = await s.client.workflow.start<typeof collector>('collector', { workflowId: `f8b-${run}`, taskQueue });
        // The first task registered the handlers (the query answers once it completed).
        await waitUntil(async () => Array.isArray(await handle.query(valuesQuery)), { timeoutMs: 30_000, message: `run ${run} started` });
        const acked: number[][] = Array.from({ length: SENDERS_PER_RUN }, () => []);
        const sender = async (k: number): Promise<void> => {
          for (let i = 0; i < MAX_SENDS; i++) {
            // A few ms between sends, so some land while the finishing task is in flight.
            await new Promise((r) => setTimeout(r, s.uniform(5, 30)));
            const value = run * 10_000 + k * 1_000 + i;
            try {
              await handle.signal(addSignal, value);
              acked[k]!.push(value);
            } catch (err) {
              expect((err as { code?: string }).code, `a send after the close fails as not running (run ${run})`).toBe('CHR_WORKFLOW_NOT_RUNNING');
              refused++;
              return;
            }
          }
        };
        const finishing = new Promise((r) => setTimeout(r, s.uniform(0, 100))).then(() => handle.signal(finishSignal));
        await Promise.all([...acked.map((_, k) => sender(k)), finishing]);
        const result = await s.result(handle, 60_000);
        for (const values of acked) {
          acknowledged += values.length;
          // Each sender's acknowledged signals are all there, in the order it sent them.
          const delivered = result.filter((v) => values.includes(v));
          expect(delivered, `run ${run}: every acknowledged signal of a sender is delivered, in order`).toEqual(values);
        }
        expect(result.every((v) => acked.some((values) => values.includes(v))), `run ${run}: nothing unacknowledged is delivered`).toBe(true);
      };
      for (let first = 0; first < RUNS; first += IN_PARALLEL) {
        await Promise.all(Array.from({ length: Math.min(IN_PARALLEL, RUNS - first) }, (_, i) => one(first + i)));
      }
      const rejected = worker.worker.stats.completionsRejected;
      Object.assign(s.report, { runs: RUNS, acknowledged, refused, rejectedCompletions: rejected });
      console.log(`[fault] F8b: ${RUNS} runs, ${acknowledged} signals acknowledged and delivered, ${refused} refused after close, ${rejected} closing completions rejected`);
      // The race must have been hit, or the test proved nothing: re-run with another seed.
      expect(rejected, 'closing completions rejected because a signal arrived').toBeGreaterThan(0);
    } finally {
      await worker.stop();
    }
  }));
