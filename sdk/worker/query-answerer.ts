import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../engine/logger.js';
import { toFailureInfo, type HistoryEvent, type QueryOutcome, type QueryTask, type WorkflowRunInfo } from '../../engine/protocol/index.js';
import { fetchFullHistory } from './history-fetch.js';
import type { WorkflowSandboxFactory } from './sandbox.js';
import { WorkflowRun } from './workflow-run.js';

export interface QueryAnswererOptions {
  readonly engine: Engine;
  readonly sandboxes: WorkflowSandboxFactory;
  readonly log: Logger;
  /**
   * The worker's cached copy of the run, when it has one that stands at the run's last
   * completed workflow task and nothing else is using it; undefined otherwise.
   */
  readonly idleCachedRun: (runId: string) => WorkflowRun | undefined;
  /** Drops a cached run a query broke (its handler ran past the deadlock timeout). */
  readonly evict: (runId: string) => void;
}

/**
 * Answers query tasks. A query runs its handler against the run's state as of its last
 * completed workflow task: the worker's cached copy when it is idle at that point, otherwise
 * a fresh sandbox that replays the whole history (closed runs included) and is thrown away.
 * Nothing is ever written to history. Replay problems are the query's failure, not the run's.
 */
export class QueryAnswerer {
  replays = 0;
  constructor(private readonly opts: QueryAnswererOptions) {}

  async answer(task: QueryTask): Promise<void> {
    let outcome: QueryOutcome;
    try {
      outcome = await this.evaluate(task);
    } catch (err) {
      this.opts.log.warn('query could not be answered', { workflowId: task.workflowId, runId: task.runId, queryType: task.queryType, error: err });
      outcome = { failure: toFailureInfo(err) };
    }
    await this.opts.engine.respondQueryTask(task.taskToken, outcome);
  }

  private async evaluate(task: QueryTask): Promise<QueryOutcome> {
    const cached = this.opts.idleCachedRun(task.runId);
    if (cached) {
      const outcome = cached.query(task.queryType, task.args);
      if (!cached.usable) this.opts.evict(task.runId);
      return outcome;
    }
    const history = await fetchFullHistory(this.opts.engine, { workflowId: task.workflowId, runId: task.runId });
    this.replays++;
    const run = WorkflowRun.create(this.opts.sandboxes, runInfo(task, history));
    try {
      run.replay(history);
      return run.query(task.queryType, task.args);
    } finally {
      run.dispose();
    }
  }
}

function runInfo(task: QueryTask, history: readonly HistoryEvent[]): WorkflowRunInfo {
  const started = history[0];
  return {
    namespace: task.namespace,
    workflowId: task.workflowId,
    runId: task.runId,
    workflowType: task.workflowType,
    taskQueue: task.taskQueue,
    startTime: started?.timestamp ?? Date.now(),
  };
}
