import type { Logger } from '../../engine/logger.js';
import type { WorkflowRun } from './workflow-run.js';

/**
 * The first warning of the history limits, once per cached run: past the maximum the engine
 * terminates the run, so a workflow that grows without bound must continue as new
 * (`workflowInfo().continueAsNewSuggested` is true from here on). Shared by the claimed-task
 * path and the one-commit path, which learn the facts at different points.
 */
export class LongHistoryWarnings {
  private readonly warned = new WeakSet<WorkflowRun>();
  constructor(private readonly log: Logger) {}

  note(run: WorkflowRun, facts: { readonly continueAsNewSuggested: boolean; readonly historySizeBytes: number }, meta: Record<string, unknown>): void {
    if (!facts.continueAsNewSuggested || this.warned.has(run)) return;
    this.warned.add(run);
    this.log.warn('workflow history is past the warning threshold; continue-as-new before it reaches the limit, which terminates the run', {
      workflowId: run.info.workflowId,
      runId: run.info.runId,
      workflowType: run.info.workflowType,
      ...meta,
      historySizeBytes: facts.historySizeBytes,
    });
  }
}
