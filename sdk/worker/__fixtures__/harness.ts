/**
 * Test helper: a sandbox factory for a fixture file, and WorkflowRuns over histories built
 * with HistoryBuilder, disposed after each test.
 */
import { afterEach, beforeAll } from 'vitest';
import type { WorkflowRunInfo } from '../../../engine/protocol/activation.js';
import type { EventAttributes, HistoryEvent } from '../../../engine/protocol/events.js';
import { bundleWorkflowCode } from '../bundler.js';
import { createSandboxFactory, type WorkflowSandboxFactory } from '../sandbox.js';
import { WorkflowRun } from '../workflow-run.js';
import { HistoryBuilder, runInfo } from './history.js';

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

/** Registers the hooks; the returned object is filled in by `beforeAll`. */
export function useFixture(file: string): {
  factory: () => WorkflowSandboxFactory;
  begin: (workflowType: string, args?: unknown[], extra?: Partial<EventAttributes['WorkflowExecutionStarted']>, info?: WorkflowRunInfo) => {
    history: HistoryBuilder;
    started: HistoryEvent;
    run: WorkflowRun;
    info: WorkflowRunInfo;
  };
  fresh: (info: WorkflowRunInfo) => WorkflowRun;
} {
  let factory: WorkflowSandboxFactory | undefined;
  const runs: WorkflowRun[] = [];
  beforeAll(async () => {
    factory = createSandboxFactory(await bundleWorkflowCode({ workflowsPath: new URL(`./${file}`, import.meta.url).pathname }), { deadlockTimeoutMs: 1000 });
  });
  afterEach(() => {
    for (const run of runs.splice(0)) run.dispose();
  });
  const fresh = (info: WorkflowRunInfo) => {
    const run = WorkflowRun.create(factory!, info);
    runs.push(run);
    return run;
  };
  return {
    factory: () => factory!,
    fresh,
    begin: (workflowType, args = [], extra = {}, info = runInfo(workflowType)) => {
      const history = new HistoryBuilder();
      const started = history.start(info, args, extra);
      return { history, started, run: fresh(info), info };
    },
  };
}
