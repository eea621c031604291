/**
 * The one narrow surface between the worker (host realm) and a workflow sandbox (`node:vm`
 * realm). The bundler puts this module first in every workflow bundle; the sandbox talks to
 * it only through the global the bundle defines, and only with JSON strings, so no object of
 * one realm is ever held by the other.
 *
 * Protocol, per sandbox:
 * 1. Before the bundle runs, the host sets three globals: `__chronicleBootstrap` (JSON of
 *    `{ info: WorkflowRunInfo }`), `__chronicleHostLog` (a host function taking strings) and
 *    `__chronicleScopeStorage` (`{ run, getStore }` of the host's AsyncLocalStorage, which
 *    CancellationScope tracking needs). This module takes them and deletes them, creates the
 *    run's Activator and installs the deterministic globals — all before the user's workflow
 *    module is evaluated.
 * 2. Per activation: `activate(activationJson)` applies the jobs; the host lets the sandbox
 *    drain its microtasks (the end of `runInContext`); then calls `unblock()` (each call
 *    followed by a drain) until it returns 0; then `conclude()` returns the JSON of an
 *    `ActivationOutcome`.
 * 3. Between activations, `query(queryType, argsJson)` answers a query: JSON of a
 *    `QueryOutcome`. It changes nothing.
 *
 * Never imported by `index.ts`: importing it has side effects on `globalThis`.
 */
import type { Activation, WorkflowRunInfo } from '../../engine/protocol/activation.js';
import { Activator, type HostLog } from './activator.js';
import type { ScopeStorage } from './cancellation-scope.js';
import { setActivator } from './context.js';
import { installDeterministicGlobals } from './determinism.js';

export type { ActivationOutcome } from './activator.js';

const g = globalThis as Record<string, unknown>;
const bootstrap = g.__chronicleBootstrap;
const hostLog = g.__chronicleHostLog;
const scopeStorage = g.__chronicleScopeStorage;
delete g.__chronicleBootstrap;
delete g.__chronicleHostLog;
delete g.__chronicleScopeStorage;

let activator: Activator | undefined;
if (typeof bootstrap === 'string') {
  const { info } = JSON.parse(bootstrap) as { info: WorkflowRunInfo };
  activator = new Activator(
    info,
    typeof hostLog === 'function' ? (hostLog as HostLog) : undefined,
    typeof scopeStorage === 'object' && scopeStorage !== null ? (scopeStorage as ScopeStorage) : undefined,
  );
  setActivator(activator);
  installDeterministicGlobals(activator);
}

let workflowNames: string[] = [];

/** Called by the bundle entry with the namespace of the user's workflows module. */
export function registerWorkflows(workflows: Readonly<Record<string, unknown>>): void {
  workflowNames = Object.keys(workflows).filter((name) => name !== 'default' && typeof workflows[name] === 'function');
  activator?.registerWorkflows(workflows);
}

/** JSON array of the workflow types (exported function names) of the bundle. */
export function workflowTypes(): string {
  return JSON.stringify(workflowNames);
}

/** Applies one activation (JSON of `Activation`). */
export function activate(activationJson: string): void {
  requireActivator().activate(JSON.parse(activationJson) as Activation);
}

/** Checks blocked conditions again after the microtasks drained; returns how many resolved. */
export function unblock(): number {
  return requireActivator().unblockConditions();
}

/** JSON of the `ActivationOutcome` of the activation just applied. */
export function conclude(): string {
  return JSON.stringify(requireActivator().conclude());
}

/** Runs a query handler: JSON of its `QueryOutcome` (`argsJson`: JSON array of arguments). */
export function query(queryType: string, argsJson: string): string {
  return JSON.stringify(requireActivator().query(String(queryType), JSON.parse(argsJson) as unknown[]));
}

function requireActivator(): Activator {
  if (!activator) throw new Error('This workflow bundle was evaluated without a Chronicle bootstrap; it cannot run activations');
  return activator;
}
