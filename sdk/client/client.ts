import { hostname } from 'node:os';
import type { Engine } from '../../engine/engine.js';
import { InvalidArgumentError } from '../../engine/protocol/errors.js';
import { AsyncCompletionClient } from './async-completion-client.js';
import type { Connection } from './connection.js';
import { toQueryRejectCondition, type QueryRejectCondition } from './policies.js';
import { WorkflowClient } from './workflow-client.js';

/** Options of `new Client(…)` (Temporal's `ClientOptions`, for the parts Chronicle has). */
export interface ClientOptions {
  /** From `await Connection.connect({ databaseUrl })`, or `{ engine }` for an engine in hand. */
  readonly connection: Connection | { readonly engine: Engine };
  /** Recorded in history as who started, signalled, cancelled, … a run. Default `pid@hostname`. */
  readonly identity?: string;
  /** Options of `client.workflow`. */
  readonly workflow?: {
    /** Which runs queries refuse (QueryRejectedError). Default `NONE`: every run is queried. */
    readonly queryRejectCondition?: QueryRejectCondition;
  };
}

/**
 * The entry point for applications (Temporal's `Client`): `client.workflow` starts and finds
 * workflows, `client.activity` completes asynchronous activities by task token.
 *
 * @example
 * ```ts
 * import { Client, Connection } from 'chronicle/client';
 *
 * const client = new Client({ connection: await Connection.connect({ databaseUrl: process.env.DATABASE_URL }) });
 * const result = await client.workflow.execute(order, { workflowId: `order-${id}`, taskQueue: 'orders', args: [id] });
 * ```
 */
export class Client {
  /** Workflow operations: start, execute, signalWithStart, update-with-start, getHandle, list, count. */
  readonly workflow: WorkflowClient;
  /** Asynchronous activity completion by task token. */
  readonly activity: AsyncCompletionClient;
  readonly connection: ClientOptions['connection'];
  /** Who this client says it is in the histories it writes. */
  readonly identity: string;

  constructor(options: ClientOptions) {
    const engine = options?.connection?.engine;
    if (!engine) throw new InvalidArgumentError('connection', 'is required: await Connection.connect({ databaseUrl })');
    if (options.identity !== undefined && (typeof options.identity !== 'string' || options.identity.length === 0)) {
      throw new InvalidArgumentError('identity', 'must be a non-empty string when given');
    }
    this.connection = options.connection;
    this.identity = options.identity ?? `${process.pid}@${hostname()}`;
    this.workflow = new WorkflowClient({
      engine,
      identity: this.identity,
      queryRejectCondition: toQueryRejectCondition(options.workflow?.queryRejectCondition, 'workflow.queryRejectCondition'),
    });
    this.activity = new AsyncCompletionClient(engine, this.identity);
  }
}
