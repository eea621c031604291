import type { Activator } from './activator.js';
import { NotInWorkflowContextError } from './errors.js';

/**
 * Where the current run's Activator lives. Inside a sandbox there is exactly one run per
 * `node:vm` context, so a realm-global slot is the current run; in plain Node (a client or a
 * test importing a workflow file) the slot is empty and calling a workflow API throws.
 *
 * A registry symbol rather than a module variable: should a workflow bundle ever contain two
 * copies of this SDK (a dependency with its own copy), both still find the same run.
 */
const SLOT = Symbol.for('chronicle.workflow.activator');

type Slot = { [SLOT]?: Activator };

/** The current run's Activator, or undefined outside a workflow. */
export function maybeGetActivator(): Activator | undefined {
  return (globalThis as Slot)[SLOT];
}

/**
 * The current run's Activator.
 * @param api what the caller is, for the error (`sleep()`, `activity 'charge'`).
 * @throws NotInWorkflowContextError (CHR_NOT_IN_WORKFLOW_CONTEXT) outside a workflow.
 */
export function getActivator(api: string): Activator {
  const activator = maybeGetActivator();
  if (activator === undefined) throw new NotInWorkflowContextError(api);
  return activator;
}

/** Called once per sandbox, before the user's workflow module is evaluated. */
export function setActivator(activator: Activator): void {
  Object.defineProperty(globalThis, SLOT, { value: activator, writable: false, enumerable: false, configurable: false });
}
