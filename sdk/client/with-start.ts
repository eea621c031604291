import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import type { WorkflowHandle } from './workflow-handle.js';
import type { Workflow, WorkflowStartOptions } from './workflow-options.js';
import type { WorkflowIdConflictPolicy } from './policies.js';

const settle = Symbol('chronicle.withStart.settle');
const used = Symbol('chronicle.withStart.used');

/**
 * How to start the workflow for `client.workflow.executeUpdateWithStart` and
 * `startUpdateWithStart` (Temporal's `WithStartWorkflowOperation`): the workflow, its start
 * options, and a required `workflowIdConflictPolicy` — `USE_EXISTING` sends the update to the
 * open run if there is one, `FAIL` refuses when one is open. The start and the update happen
 * atomically: concurrent callers create exactly one run.
 *
 * One operation serves one call. `workflowHandle()` resolves, once the call has started (or
 * found) the run, to a handle on it, whether or not the update then succeeds; it rejects
 * with the call's error when the run could not be started.
 *
 * @example
 * ```ts
 * const startWorkflowOperation = WithStartWorkflowOperation.create(cart, {
 *   workflowId: `cart-${userId}`,
 *   taskQueue: 'shop',
 *   args: [userId],
 *   workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
 * });
 * const total = await client.workflow.executeUpdateWithStart(addItemUpdate, { args: [item], startWorkflowOperation });
 * const handle = await startWorkflowOperation.workflowHandle();
 * ```
 */
export class WithStartWorkflowOperation<T extends Workflow = Workflow> {
  private [used] = false;
  private readonly handlePromise: Promise<WorkflowHandle<T>>;
  private resolveHandle!: (handle: WorkflowHandle<T>) => void;
  private rejectHandle!: (err: unknown) => void;

  /** Prefer {@link WithStartWorkflowOperation.create}. */
  constructor(
    /** The workflow function or its type name. */
    readonly workflowTypeOrFunc: string | T,
    /** Start options; `workflowIdConflictPolicy` is required. */
    readonly options: WorkflowStartOptions<T> & { readonly workflowIdConflictPolicy: WorkflowIdConflictPolicy },
  ) {
    this.handlePromise = new Promise<WorkflowHandle<T>>((resolve, reject) => {
      this.resolveHandle = resolve;
      this.rejectHandle = reject;
    });
    // Nobody has to ask for the handle: a failed call must not become an unhandled rejection.
    this.handlePromise.catch(() => undefined);
  }

  /** An operation that starts `workflowTypeOrFunc` with `options` (Temporal's factory). */
  static create<T extends Workflow>(
    workflowTypeOrFunc: string | T,
    options: WorkflowStartOptions<T> & { readonly workflowIdConflictPolicy: WorkflowIdConflictPolicy },
  ): WithStartWorkflowOperation<T> {
    return new WithStartWorkflowOperation<T>(workflowTypeOrFunc, options);
  }

  /** A handle on the run the update-with-start call started or found; see the class comment. */
  async workflowHandle(): Promise<WorkflowHandle<T>> {
    return this.handlePromise;
  }

  /** @internal Marks the operation used; a second use is a mistake (Temporal refuses it too). */
  [settle](): { resolve: (handle: WorkflowHandle<T>) => void; reject: (err: unknown) => void } {
    if (this[used]) {
      throw new InvalidArgumentError('startWorkflowOperation', 'this WithStartWorkflowOperation was already used by another call; create a new one per call');
    }
    this[used] = true;
    return { resolve: this.resolveHandle, reject: this.rejectHandle };
  }
}

/** @internal For the workflow client: claims the operation and returns its settle functions. */
export function claimWithStartOperation<T extends Workflow>(op: WithStartWorkflowOperation<T>): {
  resolve: (handle: WorkflowHandle<T>) => void;
  reject: (err: unknown) => void;
} {
  if (!(op instanceof WithStartWorkflowOperation)) {
    throw new InvalidArgumentError('startWorkflowOperation', 'is required: WithStartWorkflowOperation.create(workflow, { workflowId, taskQueue, args, workflowIdConflictPolicy })');
  }
  return op[settle]();
}
