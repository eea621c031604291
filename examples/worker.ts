import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection } from 'chronicle/worker';
import * as activities from './activities.js';

/** The task queue every example runs on. */
export const EXAMPLES_TASK_QUEUE = 'examples';

/** A worker for all examples (used by `npm start` and by the example tests). */
export function createExamplesWorker(connection: NativeConnection): Promise<Worker> {
  return Worker.create({
    connection,
    taskQueue: EXAMPLES_TASK_QUEUE,
    workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
    activities,
  });
}
