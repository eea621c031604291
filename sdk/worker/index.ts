/**
 * `chronicle/worker`: runs workflow and activity code. Temporal's `@temporalio/worker` names.
 */
export { Worker, type WorkerOptions, type WorkerState } from './worker.js';
export { NativeConnection } from './connection.js';
export { bundleWorkflowCode, type WorkflowBundle } from './bundler.js';
export type { ActivityFunction } from './activity-runner.js';
