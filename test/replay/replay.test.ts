import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '../../sdk/worker/index.js';
import { NonDeterminismError } from '../../sdk/worker/replay/matcher.js';

/**
 * Golden histories (recorded from the examples with CHRONICLE_RECORD_HISTORIES=1) replayed
 * against today's code on every run: a change to workflow code or to the SDK that would
 * break runs in flight fails here first.
 */
const dir = new URL('./histories/', import.meta.url);
const goldens = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f, ...(JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { workflowsPath: string; events: HistoryEvent[] }) }));

let bundle: WorkflowBundle;
beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('../../examples/workflows.ts', import.meta.url)) });
});

describe('golden histories', () => {
  it('exist', () => {
    expect(goldens.map((g) => g.name).sort()).toEqual(['approval.json', 'batch.json', 'entity.json', 'hello.json', 'order.json', 'saga.json']);
  });

  for (const golden of goldens) {
    it(`${golden.name} replays with no divergence`, async () => {
      const summary = await Worker.runReplayHistory({ workflowBundle: bundle }, golden.events);
      expect(summary.lastCompletedEventId).toBe(golden.events.at(-1)!.eventId);
    });

    it(`${golden.name} edited (first activity or child renamed) raises NonDeterminismError naming both sides`, async () => {
      const edited = structuredClone(golden.events) as HistoryEvent[];
      const scheduled = edited.find((e) => e.eventType === 'ActivityTaskScheduled' || e.eventType === 'StartChildWorkflowExecutionInitiated')!;
      const attributes = scheduled.attributes as { activityType?: string; workflowType?: string };
      const key = attributes.activityType !== undefined ? 'activityType' : 'workflowType';
      const original = attributes[key]!;
      attributes[key] = 'renamedCommand';
      const err = await Worker.runReplayHistory({ workflowBundle: bundle }, edited).catch((e) => e);
      expect(err).toBeInstanceOf(NonDeterminismError);
      expect(err.message).toContain(`event ${scheduled.eventId}`);
      expect(err.message).toContain('renamedCommand');
      expect(err.message).toContain(original);
    });
  }
});
