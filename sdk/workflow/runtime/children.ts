import type { ActivityResolution, ChildStartResolution } from '../../../engine/protocol/activation.js';
import type { StartChildWorkflowCommand } from '../../../engine/protocol/commands.js';
import type { SearchAttributes } from '../../../engine/protocol/events.js';
import type { FailureInfo } from '../../../engine/protocol/failures.js';
import { onScopeCancelled, type CancellationScope } from '../cancellation-scope.js';
import type { ChildWorkflowCancellationType, ParentClosePolicy } from '../cancellation-types.js';
import { ChildWorkflowFailure, type CancelledFailure, WorkflowExecutionAlreadyStartedError, fromFailureInfo } from '../errors.js';
import { neverIssued, noop, quietly, toPayloads, type RunCore } from './core.js';
import type { ExternalRequests } from './external.js';

/** Failure type the job mapper gives a child start refused because the workflow id is in use. */
export const WORKFLOW_ALREADY_EXISTS = 'WORKFLOW_ALREADY_EXISTS';

/** A child start with every option resolved (see children.ts for the public options). */
export interface ChildStartRequest {
  readonly workflowType: string;
  readonly workflowId: string;
  readonly taskQueue?: string;
  readonly args: readonly unknown[];
  readonly parentClosePolicy: ParentClosePolicy;
  readonly cancellationType: ChildWorkflowCancellationType;
  readonly searchAttributes?: SearchAttributes;
  readonly memo?: Readonly<Record<string, unknown>>;
  readonly workflowExecutionTimeoutMs?: number;
  readonly workflowRunTimeoutMs?: number;
}

/** A started child, from which the public ChildWorkflowHandle is built. */
export interface StartedChild {
  readonly workflowId: string;
  readonly runId: string;
  readonly result: Promise<unknown>;
}

interface Child {
  readonly workflowId: string;
  readonly workflowType: string;
  readonly cancellationType: ChildWorkflowCancellationType;
  readonly command: StartChildWorkflowCommand;
  readonly start: { readonly resolve: (child: StartedChild) => void; readonly reject: (error: unknown) => void };
  readonly result: Promise<unknown>;
  readonly settleResult: (outcome: { value: unknown } | { error: unknown }) => void;
  runId: string | undefined;
  /** Set when the scope was cancelled before the child started: startChild already rejected. */
  cancelledBeforeStart: boolean;
  unsubscribe: () => void;
}

/** The run's child workflows (StartChildWorkflow commands; ResolveChildWorkflowStart/ResolveChildWorkflow jobs; plan §7). */
export class Children {
  private readonly children = new Map<number, Child>();

  constructor(
    private readonly core: RunCore,
    private readonly external: ExternalRequests,
  ) {}

  /** Issues StartChildWorkflow; resolves once the engine started the child. */
  start(request: ChildStartRequest, scope: CancellationScope): Promise<StartedChild> {
    this.core.assertMayIssueCommands('startChild()');
    if (scope.consideredCancelled) return quietly(scope.cancelRequested);
    const args = toPayloads(request.args, `child workflow '${request.workflowType}'`);
    const seq = this.core.nextSeq('child');
    let settleResult!: Child['settleResult'];
    const result = quietly(
      new Promise<unknown>((resolve, reject) => {
        let settled = false;
        settleResult = (outcome) => {
          if (settled) return;
          settled = true;
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.value);
        };
      }),
    );
    const command: StartChildWorkflowCommand = { kind: 'StartChildWorkflow', seq, ...request, args };
    const started = new Promise<StartedChild>((resolve, reject) => {
      const child: Child = {
        workflowId: request.workflowId,
        workflowType: request.workflowType,
        cancellationType: request.cancellationType,
        command,
        start: { resolve, reject },
        result,
        settleResult,
        runId: undefined,
        cancelledBeforeStart: false,
        unsubscribe: noop,
      };
      if (scope.cancellable) child.unsubscribe = onScopeCancelled(scope, (reason) => this.cancel(seq, reason));
      this.children.set(seq, child);
    });
    this.core.pushCommand(command);
    return quietly(started);
  }

  resolveStart(seq: number, resolution: ChildStartResolution): void {
    const child = this.get(seq);
    if (!child) return;
    if (resolution.status === 'started') {
      child.runId = resolution.runId;
      if (!child.cancelledBeforeStart) {
        child.start.resolve({ workflowId: child.workflowId, runId: resolution.runId, result: child.result });
      } else if (child.cancellationType !== 'ABANDON') {
        void this.requestCancel(child); // cancelled while starting: do not leave it running
      }
      return;
    }
    this.children.delete(seq);
    child.unsubscribe();
    const error = this.startFailure(child, resolution.failure);
    child.start.reject(error);
    child.settleResult({ error });
  }

  resolve(seq: number, resolution: ActivityResolution): void {
    const child = this.get(seq);
    if (!child) return;
    this.children.delete(seq);
    child.unsubscribe();
    if (resolution.status === 'completed') child.settleResult({ value: resolution.result });
    else child.settleResult({ error: this.childFailure(child, resolution.failure) });
  }

  /** The child's scope was cancelled: `cancellationType` decides (SEMANTICS.md item 6). */
  private cancel(seq: number, reason: CancelledFailure): void {
    const child = this.children.get(seq);
    if (!child) return;
    if (child.runId === undefined) {
      if (this.core.retract(child.command)) {
        // Cancelled in the activation that started it: the StartChildWorkflow never leaves, so
        // the child never exists (as Temporal Core drops the command), whatever the cancellation type.
        this.children.delete(seq);
        child.start.reject(reason);
        child.settleResult({ error: reason });
        return;
      }
      child.cancelledBeforeStart = true;
      child.start.reject(reason);
      return;
    }
    const fail = () => child.settleResult({ error: new ChildWorkflowFailure(this.core.info.namespace, { workflowId: child.workflowId, runId: child.runId }, child.workflowType, 'CANCEL_REQUESTED', reason) });
    switch (child.cancellationType) {
      case 'ABANDON':
        fail();
        return;
      case 'TRY_CANCEL':
        void this.requestCancel(child);
        fail();
        return;
      case 'WAIT_CANCELLATION_REQUESTED':
        this.requestCancel(child).then(fail, () => undefined); // not delivered: the child closed; its result settles it
        return;
      case 'WAIT_CANCELLATION_COMPLETED':
        void this.requestCancel(child); // settles when the child closes
        return;
    }
  }

  private requestCancel(child: Child): Promise<void> {
    return this.external.requestCancel({ workflowId: child.workflowId, childWorkflowOnly: true }, undefined);
  }

  private get(seq: number): Child | undefined {
    const child = this.children.get(seq);
    if (!child && seq > this.core.issued('child')) throw neverIssued('Child workflow', seq, this.core.issued('child'));
    return child;
  }

  private startFailure(child: Child, failure: FailureInfo): Error {
    if (failure.type === WORKFLOW_ALREADY_EXISTS) {
      return new WorkflowExecutionAlreadyStartedError(failure.message, child.workflowId, child.workflowType);
    }
    return fromFailureInfo(failure);
  }

  private childFailure(child: Child, failure: FailureInfo): Error {
    const execution = { workflowId: child.workflowId, runId: child.runId };
    if (failure.failureType !== 'childWorkflow') {
      return new ChildWorkflowFailure(this.core.info.namespace, execution, child.workflowType, 'UNSPECIFIED', fromFailureInfo(failure));
    }
    const info = failure.childWorkflow;
    return new ChildWorkflowFailure(
      info?.namespace || this.core.info.namespace,
      { workflowId: info?.workflowId || child.workflowId, runId: info?.runId || child.runId },
      info?.workflowType || child.workflowType,
      info?.retryState ?? 'UNSPECIFIED',
      failure.cause ? fromFailureInfo(failure.cause) : undefined,
    );
  }
}
