import { fileURLToPath } from 'node:url';
import { expect, inject, it } from 'vitest';
import { TestWorkflowEnvironment } from '../../sdk/testing/index.js';
import { Worker } from '../../sdk/worker/index.js';
import * as activities from '../../examples/hello/activities.js';
import { hello } from '../../examples/hello/workflows.js';

it('TestWorkflowEnvironment runs a workflow on its own fresh database and tears it down', async () => {
  const env = await TestWorkflowEnvironment.createLocal({ databaseUrl: inject('chronicleAdminUrl') });
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'env-test',
      workflowsPath: fileURLToPath(new URL('../../examples/hello/workflows.ts', import.meta.url)),
      activities,
    });
    const result = await worker.runUntil(env.client.workflow.execute(hello, { workflowId: 'env-1', taskQueue: 'env-test', args: ['Env'] }));
    expect(result).toBe('Hello, Env!');
  } finally {
    await env.teardown();
  }
});
