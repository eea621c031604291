import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { ERROR_CODES, type ErrorCode } from '../../engine/protocol/codes.js';
import { ChronicleError } from '../../engine/protocol/errors.js';

/**
 * Workflow code bundled for the sandbox: one self-contained script (an IIFE) holding the
 * user's workflows module, its imports, and one copy of the `chronicle/workflow` runtime.
 * Plain data: it can be built once and handed to any number of workers (`workflowBundle`).
 */
export interface WorkflowBundle {
  /** The script. Evaluating it defines the global `BUNDLE_GLOBAL` (see sandbox.ts). */
  readonly code: string;
  /** Exported function names of the workflows module: the workflow types it can run. */
  readonly workflowTypes: string[];
  /** Source map (JSON) of `code`, mapping back to the workflow's TypeScript. */
  readonly sourceMap?: string;
}

export interface BundleOptions {
  /** Path of the module that exports the workflow functions (TypeScript or JavaScript). */
  readonly workflowsPath: string;
}

/** The global a bundle defines: `{ activate, unblock, conclude, query, workflowTypes }` of worker-interface.ts. */
export const BUNDLE_GLOBAL = '__chronicleWorkflowBundle';

/** Bundling failed: a forbidden import (CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT) or anything else (CHR_WORKFLOW_BUNDLE_FAILED). */
export class WorkflowBundleError extends ChronicleError {
  readonly workflowsPath: string;
  constructor(code: ErrorCode, workflowsPath: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.workflowsPath = workflowsPath;
  }
}

const SDK_WORKFLOW_DIR = fileURLToPath(new URL('../workflow/', import.meta.url));
const SDK_WORKFLOW_INDEX = path.join(SDK_WORKFLOW_DIR, 'index.ts');
const SDK_WORKER_INTERFACE = path.join(SDK_WORKFLOW_DIR, 'worker-interface.ts');

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/** True for `fs`, `node:fs`, `fs/promises`, `node:test` …: everything Node provides itself. */
export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]);
}

/**
 * Bundles a workflows module for the sandbox with esbuild.
 *
 * - TypeScript and JavaScript, ESM or CommonJS; relative imports written with `.js` resolve
 *   to the `.ts` file beside them; npm packages resolve from node_modules (browser builds
 *   preferred, since the sandbox has no Node APIs).
 * - `chronicle/workflow` always resolves to this SDK's `sdk/workflow/index.ts`, so user code
 *   and the sandbox runtime share one copy (one Activator slot, one set of error classes).
 * - Importing a Node built-in anywhere in the graph fails with WorkflowBundleError
 *   CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT, naming the import and the importing file.
 * - The bundle is evaluated once in a throwaway context to list the exported workflow
 *   functions (`workflowTypes`) and to surface errors thrown by module top-level code now,
 *   at start-up, rather than in the first workflow task.
 *
 * @throws WorkflowBundleError
 */
export async function bundleWorkflowCode(options: BundleOptions): Promise<WorkflowBundle> {
  const workflowsPath = path.resolve(options.workflowsPath);
  const forbidden: { specifier: string; importer: string }[] = [];

  const entry = [
    // worker-interface first: it installs the deterministic globals before user modules evaluate.
    `import * as runtime from ${JSON.stringify(SDK_WORKER_INTERFACE)};`,
    `import * as workflows from ${JSON.stringify(workflowsPath)};`,
    `runtime.registerWorkflows(workflows);`,
    `export const activate = runtime.activate;`,
    `export const unblock = runtime.unblock;`,
    `export const conclude = runtime.conclude;`,
    `export const query = runtime.query;`,
    `export const workflowTypes = runtime.workflowTypes;`,
  ].join('\n');

  const chroniclePlugin: esbuild.Plugin = {
    name: 'chronicle-workflow',
    setup(build) {
      build.onResolve({ filter: /^chronicle\/workflow$/ }, () => ({ path: SDK_WORKFLOW_INDEX }));
      build.onResolve({ filter: /.*/ }, (args) => {
        if (!isNodeBuiltin(args.path)) return undefined;
        forbidden.push({ specifier: args.path, importer: args.importer });
        return { errors: [{ text: forbiddenImportMessage(args.path, args.importer) }] };
      });
    },
  };

  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      stdin: { contents: entry, resolveDir: path.dirname(workflowsPath), sourcefile: 'chronicle-workflow-entry.js', loader: 'js' },
      bundle: true,
      write: false,
      metafile: true,
      format: 'iife',
      globalName: BUNDLE_GLOBAL,
      platform: 'browser',
      target: 'es2022',
      // Error and class names are part of what workflow code observes (err.name, failure types).
      keepNames: true,
      sourcemap: 'external',
      outfile: 'chronicle-workflow-bundle.js',
      logLevel: 'silent',
      plugins: [chroniclePlugin],
    });
  } catch (err) {
    if (forbidden.length > 0) {
      const first = forbidden[0];
      throw new WorkflowBundleError(ERROR_CODES.WORKFLOW_BUNDLE_FORBIDDEN_IMPORT, workflowsPath, forbiddenImportMessage(first.specifier, first.importer), { cause: err });
    }
    throw new WorkflowBundleError(
      ERROR_CODES.WORKFLOW_BUNDLE_FAILED,
      workflowsPath,
      `Bundling the workflows at ${displayPath(workflowsPath)} failed:\n${describeBuildFailure(err)}\nFix the errors above and start the worker again.`,
      { cause: err },
    );
  }

  const code = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
  const sourceMap = result.outputFiles.find((f) => f.path.endsWith('.map'))?.text;
  if (code === undefined) {
    throw new WorkflowBundleError(ERROR_CODES.WORKFLOW_BUNDLE_FAILED, workflowsPath, `esbuild produced no output for ${displayPath(workflowsPath)}`);
  }
  const workflowTypes = inspectWorkflowTypes(code, workflowsPath);
  return sourceMap === undefined ? { code, workflowTypes } : { code, workflowTypes, sourceMap };
}

/** Evaluates the bundle in a throwaway context (with a dummy run) and lists its workflow types. */
function inspectWorkflowTypes(code: string, workflowsPath: string): string[] {
  const context = vm.createContext({}, { microtaskMode: 'afterEvaluate' });
  const info = { namespace: 'bundle-inspection', workflowId: 'bundle-inspection', runId: 'bundle-inspection', workflowType: '', taskQueue: '', startTime: 0 };
  (context as Record<string, unknown>).__chronicleBootstrap = JSON.stringify({ info });
  try {
    new vm.Script(code, { filename: 'chronicle-workflow-bundle.js' }).runInContext(context, { timeout: 10_000 });
    const json = vm.runInContext(`${BUNDLE_GLOBAL}.workflowTypes()`, context, { timeout: 1000 }) as string;
    return JSON.parse(json) as string[];
  } catch (err) {
    throw new WorkflowBundleError(
      ERROR_CODES.WORKFLOW_BUNDLE_FAILED,
      workflowsPath,
      `The workflows at ${displayPath(workflowsPath)} bundled, but evaluating the bundle failed: ${(err as Error)?.message ?? String(err)}. ` +
        `Module top-level code of workflow files must not throw (it runs again for every workflow run).`,
      { cause: err },
    );
  }
}

function forbiddenImportMessage(specifier: string, importer: string): string {
  return (
    `Workflow code may not import '${specifier}' (imported by ${displayPath(importer)}): Node built-ins are not deterministic. ` +
    `Move this code into an activity and call it with proxyActivities.`
  );
}

function displayPath(file: string): string {
  if (!file || !path.isAbsolute(file)) return file || '(entry)';
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative.split(path.sep).join('/') : file;
}

function describeBuildFailure(err: unknown): string {
  const errors = (err as { errors?: esbuild.Message[] })?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return `  ${(err as Error)?.message ?? String(err)}`;
  const lines = errors.slice(0, 10).map((m) => {
    const where = m.location ? `${displayPath(path.resolve(m.location.file))}:${m.location.line}:${m.location.column + 1}: ` : '';
    return `  ${where}${m.text}`;
  });
  if (errors.length > 10) lines.push(`  … and ${errors.length - 10} more`);
  return lines.join('\n');
}
