import type { Engine } from '../../engine/engine.js';
import { InvalidArgumentError } from '../../engine/errors.js';
import { defaultIdentity } from '../../engine/pg-engine.js';
import type { Connection } from './connection.js';
import { WorkflowHandle } from './workflow-handle.js';

/** A workflow function or its type name. Passing the function gives typed args and result. */
export type WorkflowRef<F extends Workflow = Workflow> = F | string;
export type Workflow = (...args: any[]) => Promise<any>;

export interface WorkflowStartOptions<F extends Workflow = Workflow> {
  /** Unique among open runs; choose a business key (e.g. `order-${orderId}`). */
  readonly workflowId: string;
  readonly taskQueue: string;
  readonly args?: Parameters<F>;
}

export interface ClientOptions {
  readonly connection: Connection | { readonly engine: Engine };
  /** Recorded in history as who started or cancelled a run. Default `pid@hostname`. */
  readonly identity?: string;
}

/** Workflow operations of a Client (Temporal's `client.workflow`). */
export class WorkflowClient {
  constructor(
    private readonly engine: Engine,
    private readonly identity: string,
  ) {}

  /** Starts a run and returns a handle bound to it. */
  async start<F extends Workflow>(workflow: WorkflowRef<F>, options: WorkflowStartOptions<F>): Promise<WorkflowHandle<Awaited<ReturnType<F>>>> {
    const workflowType = workflowTypeOf(workflow);
    if (!options || typeof options !== 'object') throw new InvalidArgumentError('options', 'is required: { workflowId, taskQueue, args }');
    if (options.args !== undefined && !Array.isArray(options.args)) {
      throw new InvalidArgumentError('args', 'must be an array of the workflow function’s arguments, e.g. args: [orderId]');
    }
    const { runId } = await this.engine.startWorkflow({
      workflowId: options.workflowId,
      workflowType,
      taskQueue: options.taskQueue,
      args: options.args ?? [],
      identity: this.identity,
    });
    return new WorkflowHandle(this.engine, options.workflowId, runId, runId, this.identity);
  }

  /** Starts a run and waits for its result. */
  async execute<F extends Workflow>(workflow: WorkflowRef<F>, options: WorkflowStartOptions<F>): Promise<Awaited<ReturnType<F>>> {
    const handle = await this.start(workflow, options);
    return handle.result();
  }

  /** A handle on an existing workflow (its current run, or exactly `runId`). */
  getHandle<R = unknown>(workflowId: string, runId?: string): WorkflowHandle<R> {
    if (typeof workflowId !== 'string' || !workflowId) throw new InvalidArgumentError('workflowId', 'must be a non-empty string');
    return new WorkflowHandle<R>(this.engine, workflowId, runId, undefined, this.identity);
  }
}

/** The entry point for applications: `new Client({ connection }).workflow.start(...)`. */
export class Client {
  readonly workflow: WorkflowClient;
  readonly connection: ClientOptions['connection'];

  constructor(options: ClientOptions) {
    if (!options?.connection?.engine) throw new InvalidArgumentError('connection', 'is required: await Connection.connect({ databaseUrl })');
    this.connection = options.connection;
    this.workflow = new WorkflowClient(options.connection.engine, options.identity ?? defaultIdentity());
  }
}

function workflowTypeOf(workflow: WorkflowRef): string {
  if (typeof workflow === 'string') return workflow;
  if (typeof workflow === 'function' && workflow.name) return workflow.name;
  throw new InvalidArgumentError('workflow', 'must be a workflow function (exported from your workflows file) or its name as a string');
}
