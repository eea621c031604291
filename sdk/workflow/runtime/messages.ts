import type { ActivationJob, QueryOutcome } from '../../../engine/protocol/activation.js';
import { toFailureInfo, type FailureInfo } from '../../../engine/protocol/failures.js';
import { findNonJsonValue } from '../../../engine/protocol/payloads.js';
import { TemporalFailure } from '../errors.js';
import { jsonClone, toPayload, type RunCore } from './core.js';

type SignalJob = Extract<ActivationJob, { kind: 'SignalWorkflow' }>;
type UpdateJob = Extract<ActivationJob, { kind: 'DoUpdate' }>;

/** Any message handler or validator. */
export type MessageHandler = (...args: any[]) => unknown;

interface Entry {
  readonly handler: MessageHandler;
  readonly description?: string;
}

interface UpdateEntry extends Entry {
  readonly validator?: MessageHandler;
}

/** Built-in query: Temporal's CLI and UI ask it; Chronicle has no stack traces to give. */
export const STACK_TRACE_QUERY = '__stack_trace';
/** Built-in query: the workflow's registered message types, as Temporal's UI reads them. */
export const METADATA_QUERY = '__temporal_workflow_metadata';

/**
 * The run's message handlers and the messages waiting for them (SEMANTICS.md items 2–4).
 *
 * - A signal with no handler is buffered and dispatched inside the `setHandler` that
 *   registers its name, in arrival order.
 * - An update with no handler waits likewise, but only until the end of the activation;
 *   then it is rejected (RejectUpdate, nothing recorded).
 * - Handlers run synchronously when their job is applied (so they see the state from before
 *   the activation's timer and activity results), in the root scope; async handlers count
 *   towards `allHandlersFinished()` until they settle.
 */
export class Messages {
  private readonly signals = new Map<string, Entry>();
  private readonly queries = new Map<string, Entry>();
  private readonly updates = new Map<string, UpdateEntry>();
  private bufferedSignals: SignalJob[] = [];
  private bufferedUpdates: UpdateJob[] = [];
  private readonly seenUpdateIds = new Set<string>();
  private running = 0;

  constructor(private readonly core: RunCore) {}

  /** Signal and update handlers that have started and not settled yet. */
  get handlersRunning(): number {
    return this.running;
  }

  setSignalHandler(name: string, handler: MessageHandler | undefined, description: string | undefined): void {
    if (handler === undefined) {
      this.signals.delete(name);
      return;
    }
    this.signals.set(name, { handler, description });
    const ready = this.bufferedSignals.filter((s) => s.signalName === name);
    if (ready.length === 0) return;
    this.bufferedSignals = this.bufferedSignals.filter((s) => s.signalName !== name);
    for (const job of ready) this.runHandler(() => this.signals.get(name)?.handler(...job.args));
  }

  setQueryHandler(name: string, handler: MessageHandler | undefined, description: string | undefined): void {
    if (handler === undefined) this.queries.delete(name);
    else this.queries.set(name, { handler, description });
  }

  setUpdateHandler(name: string, handler: MessageHandler | undefined, validator: MessageHandler | undefined, description: string | undefined): void {
    if (handler === undefined) {
      this.updates.delete(name);
      return;
    }
    this.updates.set(name, { handler, validator, description });
    const ready = this.bufferedUpdates.filter((u) => u.name === name);
    if (ready.length === 0) return;
    this.bufferedUpdates = this.bufferedUpdates.filter((u) => u.name !== name);
    for (const job of ready) this.dispatchUpdate(job);
  }

  signal(job: SignalJob): void {
    const entry = this.signals.get(job.signalName);
    if (entry) this.runHandler(() => entry.handler(...job.args));
    else this.bufferedSignals.push(job);
  }

  update(job: UpdateJob): void {
    if (this.seenUpdateIds.has(job.updateId)) return; // delivered twice: the first delivery decides
    this.seenUpdateIds.add(job.updateId);
    if (this.updates.has(job.name)) this.dispatchUpdate(job);
    else this.bufferedUpdates.push(job);
  }

  /** End of an activation: every update still without a handler is rejected. */
  rejectBufferedUpdates(): void {
    const rejected = this.bufferedUpdates;
    this.bufferedUpdates = [];
    for (const job of rejected) {
      const failure: FailureInfo = {
        failureType: 'application',
        type: 'UpdateHandlerNotRegistered',
        nonRetryable: true,
        message:
          `No handler is registered for update '${job.name}' (registered updates: ${list(this.updates.keys())}). ` +
          `Register it with setHandler before the workflow's first await, so it exists when updates arrive.`,
      };
      this.core.pushRejection({ kind: 'RejectUpdate', updateId: job.updateId, failure });
    }
  }

  /** Runs a query handler. Never throws: a failure is an outcome. */
  query(queryType: string, args: readonly unknown[]): QueryOutcome {
    if (queryType === STACK_TRACE_QUERY) {
      return { result: 'Chronicle does not capture workflow stack traces; use workflow logs (log.info) or a query of your own to inspect a run.' };
    }
    if (queryType === METADATA_QUERY) return { result: this.metadata() };
    const entry = this.queries.get(queryType);
    if (!entry) {
      return {
        failure: {
          failureType: 'application',
          type: 'QueryNotRegistered',
          nonRetryable: true,
          message:
            `Workflow '${this.core.info.workflowId}' (type ${this.core.info.workflowType}) registered no handler for query '${queryType}'. ` +
            `Registered queries: ${list(this.queries.keys())} (built in: ${STACK_TRACE_QUERY}, ${METADATA_QUERY}).`,
        },
      };
    }
    try {
      const result = entry.handler(...args);
      if (isThenable(result)) {
        (result as Promise<unknown>).then(undefined, () => undefined);
        return failure(`Query handler '${queryType}' returned a Promise; query handlers must be synchronous (not async) and only read workflow state.`);
      }
      const problem = findNonJsonValue(result, 'result');
      if (problem) return failure(`Query handler '${queryType}' returned a value JSON cannot carry: ${problem}`);
      return { result: result === undefined ? null : jsonClone(result) };
    } catch (err) {
      return { failure: toFailureInfo(err) };
    }
  }

  private dispatchUpdate(job: UpdateJob): void {
    const entry = this.updates.get(job.name)!;
    if (job.runValidator && entry.validator) {
      try {
        const verdict = this.core.runReadOnly('an update validator', () => this.core.runInRootScope(() => entry.validator!(...job.args)));
        // An async validator's rejection is not a rejection of the update (as in Temporal).
        if (isThenable(verdict)) (verdict as Promise<unknown>).then(undefined, () => undefined);
      } catch (err) {
        this.core.pushRejection({ kind: 'RejectUpdate', updateId: job.updateId, failure: toFailureInfo(err) });
        return;
      }
    }
    this.core.pushCommand({ kind: 'AcceptUpdate', updateId: job.updateId, name: job.name, args: job.args });
    this.runHandler(
      () => entry.handler(...job.args),
      (value) => {
        const result = toPayload(value, 'result', `the result of update '${job.name}'`);
        this.core.pushCommand({ kind: 'CompleteUpdate', updateId: job.updateId, outcome: { result } });
      },
      (err) => {
        if (!(err instanceof TemporalFailure)) return false;
        this.core.pushCommand({ kind: 'CompleteUpdate', updateId: job.updateId, outcome: { failure: toFailureInfo(err) } });
        return true;
      },
    );
  }

  /**
   * Calls a handler in the root scope and follows its promise. An error the caller does not
   * take (`onError` returning false) is routed like one escaping the workflow function.
   */
  private runHandler(call: () => unknown, onValue?: (value: unknown) => void, onError?: (err: unknown) => boolean): void {
    this.running++;
    let returned: Promise<unknown>;
    try {
      returned = Promise.resolve(this.core.runInRootScope(call));
    } catch (err) {
      returned = Promise.reject(err);
    }
    returned
      .then(
        (value) => onValue?.(value),
        (err: unknown) => {
          if (!onError?.(err)) this.core.handleWorkflowError(err);
        },
      )
      .catch((err: unknown) => this.core.failTask(err)) // onValue threw (a result JSON cannot carry)
      .finally(() => this.running--);
  }

  private metadata(): unknown {
    const defs = (m: Map<string, Entry>) => [...m].map(([name, e]) => ({ name, ...(e.description !== undefined ? { description: e.description } : {}) }));
    return {
      definition: {
        type: this.core.info.workflowType,
        queryDefinitions: defs(this.queries),
        signalDefinitions: defs(this.signals),
        updateDefinitions: defs(this.updates),
      },
    };
  }
}

function failure(message: string): QueryOutcome {
  return { failure: { failureType: 'application', type: 'QueryFailed', nonRetryable: true, message } };
}

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function list(names: Iterable<string>): string {
  const all = [...names];
  return all.length ? `[${all.join(', ')}]` : 'none';
}
