import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runInfo } from './__fixtures__/history.js';
import { bundleWorkflowCode, isNodeBuiltin, WorkflowBundleError } from './bundler.js';
import { createSandboxFactory } from './sandbox.js';

const fixture = (name: string) => new URL(`./__fixtures__/${name}`, import.meta.url).pathname;
const SDK_WORKFLOW = path.resolve(fixture('.'), '../../workflow');

const tmp = mkdtempSync(path.join(tmpdir(), 'chronicle-bundler-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a throwaway workflows module (and helpers) and returns its path. */
function writeModule(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmp, 'wf-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return path.join(dir, Object.keys(files)[0]);
}

async function bundleError(workflowsPath: string): Promise<WorkflowBundleError> {
  try {
    await bundleWorkflowCode({ workflowsPath });
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowBundleError);
    return err as WorkflowBundleError;
  }
  throw new Error('expected the bundle to fail');
}

describe('bundleWorkflowCode', () => {
  it('bundles TypeScript with .js-suffixed relative imports and lists the exported workflow functions', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: fixture('workflows.ts') });
    expect([...bundle.workflowTypes].sort()).toEqual(
      [
        'badArgs', 'badResult', 'cancellable', 'cancellationCaught', 'catchesActivityFailure', 'fanOut', 'infiniteLoop', 'info', 'logs',
        'randomness', 'sandboxGlobals', 'sequential', 'sleeper', 'throwsApplicationFailure', 'throwsPlainError', 'timeouts', 'twoSteps',
        'unawaitedActivity', 'unhandledUserRejection', 'usesWeakRef', 'withOptions',
      ].sort(),
    );
    expect(bundle.workflowTypes).not.toContain('notAWorkflow');
    expect(bundle.workflowTypes).not.toContain('acts');
    // helpers/format.ts was reached through './helpers/format.js'
    expect(bundle.code).toContain('function formatOrder(');
    const map = JSON.parse(bundle.sourceMap ?? '{}') as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('__fixtures__/workflows.ts'))).toBe(true);
    expect(map.sources.some((s) => s.endsWith('__fixtures__/helpers/format.ts'))).toBe(true);
  });

  it("resolves 'chronicle/workflow' to this SDK, so user code and the runtime share one copy", async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: fixture('npm-package.ts') });
    const map = JSON.parse(bundle.sourceMap!) as { sources: string[] };
    const absolute = map.sources.map((s) => path.resolve(process.cwd(), s));
    // The user's import and the runtime's imports are the same files, included once.
    expect(absolute.filter((s) => s === path.join(SDK_WORKFLOW, 'timers.ts'))).toHaveLength(1);
    expect(absolute.filter((s) => s === path.join(SDK_WORKFLOW, 'errors.ts'))).toHaveLength(1);
    expect(absolute.filter((s) => s.endsWith('/sdk/workflow/errors.ts'))).toHaveLength(1);
    expect(bundle.code.match(/var ApplicationFailure = class/g)).toHaveLength(1);

    // From outside this repository (no node_modules/chronicle to find) it still resolves here.
    const outside = writeModule({ 'w.ts': `import { sleep } from 'chronicle/workflow';\nexport async function wf() { await sleep(1); }\n` });
    const elsewhere = await bundleWorkflowCode({ workflowsPath: outside });
    expect(elsewhere.workflowTypes).toEqual(['wf']);
    const sources = (JSON.parse(elsewhere.sourceMap!) as { sources: string[] }).sources.map((s) => path.resolve(process.cwd(), s));
    expect(sources).toContain(path.join(SDK_WORKFLOW, 'timers.ts'));
  });

  it('bundles an npm package from node_modules, and the workflow runs with it', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: fixture('npm-package.ts') });
    expect(bundle.workflowTypes).toEqual(['compares']);
    const sandbox = createSandboxFactory(bundle).create(runInfo('compares'));
    try {
      const activation = { timestamp: 1, isReplaying: false, historyLength: 1 };
      expect(sandbox.activate({ ...activation, jobs: [{ kind: 'StartWorkflow', workflowType: 'compares', args: [{ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }] }] })).toEqual({
        commands: [{ kind: 'StartTimer', seq: 1, durationMs: 1000 }],
      });
      expect(sandbox.activate({ ...activation, jobs: [{ kind: 'FireTimer', seq: 1 }] })).toEqual({ commands: [{ kind: 'CompleteWorkflow', result: true }] });
    } finally {
      sandbox.dispose();
    }
  });

  it('refuses a node: import, naming the import and the importing file', async () => {
    const err = await bundleError(fixture('node-import.ts'));
    expect(err.code).toBe('CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT');
    expect(err.message).toBe(
      "Workflow code may not import 'node:fs' (imported by sdk/worker/__fixtures__/node-import.ts): Node built-ins are not deterministic. " +
        'Move this code into an activity and call it with proxyActivities.',
    );
  });

  it('refuses bare built-in names and subpaths too, also deep in the import graph', async () => {
    const main = writeModule({
      'workflows.ts': `import { helper } from './helper.js';\nexport async function wf() { return helper(); }\n`,
      'helper.ts': `import { join } from 'path/posix';\nexport function helper() { return join('a', 'b'); }\n`,
    });
    const err = await bundleError(main);
    expect(err.code).toBe('CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT');
    expect(err.message).toContain(`Workflow code may not import 'path/posix' (imported by ${path.join(path.dirname(main), 'helper.ts')})`);
    expect((await bundleError(writeModule({ 'w.ts': `import 'fs';\nexport async function wf() {}\n` }))).message).toContain("may not import 'fs'");
  });

  it('reports other failures as CHR_WORKFLOW_BUNDLE_FAILED with their location', async () => {
    const syntax = writeModule({ 'broken.ts': `export async function wf( {\n` });
    const err = await bundleError(syntax);
    expect(err.code).toBe('CHR_WORKFLOW_BUNDLE_FAILED');
    expect(err.message).toContain(`${syntax}:2:1: Expected identifier but found end of file`);

    const missing = await bundleError(writeModule({ 'm.ts': `import { x } from './nowhere.js';\nexport async function wf() { return x; }\n` }));
    expect(missing.code).toBe('CHR_WORKFLOW_BUNDLE_FAILED');
    expect(missing.message).toContain("Could not resolve \"./nowhere.js\"");

    const absent = await bundleError(path.join(tmp, 'does-not-exist.ts'));
    expect(absent.code).toBe('CHR_WORKFLOW_BUNDLE_FAILED');
  });

  it('reports module top-level code that throws at bundle time', async () => {
    const err = await bundleError(fixture('top-level-throw.ts'));
    expect(err.code).toBe('CHR_WORKFLOW_BUNDLE_FAILED');
    expect(err.message).toContain('evaluating the bundle failed: configuration missing at module load');
  });
});

describe('isNodeBuiltin', () => {
  it.each(['fs', 'node:fs', 'fs/promises', 'child_process', 'node:test', 'path/posix', 'crypto'])('%s is a built-in', (s) => expect(isNodeBuiltin(s)).toBe(true));
  it.each(['./fs', 'dequal', '@scope/fs', 'chronicle/workflow', 'fsx'])('%s is not', (s) => expect(isNodeBuiltin(s)).toBe(false));
});
