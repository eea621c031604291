import type { ActivityScheduleOptions } from './retry-policy.js';
import type { ParentInfo, SearchAttributes } from './events.js';
import type { FailureInfo } from './failures.js';
import type { Payload } from './payloads.js';

/**
 * What the worker hands to the sandbox for one workflow task: the jobs derived from the
 * batch of input events, in order. Plain JSON: it crosses into the `node:vm` realm.
 */
export interface Activation {
  /** Workflow time (ms since epoch) for this activation. */
  readonly timestamp: number;
  readonly isReplaying: boolean;
  /** History length as the workflow sees it during this activation. */
  readonly historyLength: number;
  /** History size in bytes as the workflow sees it (`workflowInfo().historySize`). */
  readonly historySizeBytes?: number;
  /** `workflowInfo().continueAsNewSuggested` during this activation. */
  readonly continueAsNewSuggested?: boolean;
  /**
   * Jobs in the order the workflow must see them (SEMANTICS.md item 1): NotifyHasPatch,
   * then StartWorkflow, then signals, then updates, then everything else in event order.
   */
  readonly jobs: readonly ActivationJob[];
}

export type ActivationJob =
  | {
      readonly kind: 'StartWorkflow';
      readonly workflowType: string;
      readonly args: readonly Payload[];
      readonly parent?: ParentInfo;
      readonly searchAttributes?: SearchAttributes;
      readonly memo?: Readonly<Record<string, Payload>>;
      readonly continuedFromExecutionRunId?: string;
      readonly firstExecutionRunId?: string;
      readonly workflowExecutionTimeoutMs?: number;
      readonly workflowRunTimeoutMs?: number;
    }
  /** Replay only: the batch about to be replayed recorded a `core_patch` marker for this id. */
  | { readonly kind: 'NotifyHasPatch'; readonly patchId: string }
  | { readonly kind: 'SignalWorkflow'; readonly signalName: string; readonly args: readonly Payload[]; readonly identity?: string }
  /**
   * An update for the workflow's handler. `runValidator` is true live (the update was only
   * admitted) and false on replay (it was accepted: the recorded WorkflowExecutionUpdateAccepted).
   */
  | { readonly kind: 'DoUpdate'; readonly updateId: string; readonly name: string; readonly args: readonly Payload[]; readonly runValidator: boolean }
  | { readonly kind: 'ResolveActivity'; readonly seq: number; readonly result: ActivityResolution }
  | { readonly kind: 'ResolveLocalActivity'; readonly seq: number; readonly result: ActivityResolution; readonly attempt: number }
  | { readonly kind: 'FireTimer'; readonly seq: number }
  | { readonly kind: 'ResolveChildWorkflowStart'; readonly seq: number; readonly result: ChildStartResolution }
  | { readonly kind: 'ResolveChildWorkflow'; readonly seq: number; readonly result: ActivityResolution }
  | { readonly kind: 'ResolveSignalExternalWorkflow'; readonly seq: number; readonly failure?: FailureInfo }
  | { readonly kind: 'ResolveRequestCancelExternalWorkflow'; readonly seq: number; readonly failure?: FailureInfo }
  | { readonly kind: 'CancelWorkflow'; readonly reason?: string };

/** How an activity (or local activity, or child workflow) ended, as the workflow sees it. */
export type ActivityResolution =
  | { readonly status: 'completed'; readonly result: Payload }
  | { readonly status: 'failed'; readonly failure: FailureInfo };

export type ChildStartResolution =
  | { readonly status: 'started'; readonly runId: string }
  | { readonly status: 'failed'; readonly failure: FailureInfo };

/**
 * A local activity the workflow asked for during an activation. Not a command: the worker
 * runs it before completing the workflow task and answers with a ResolveLocalActivity job in
 * a further activation of the same task; the workflow then records the outcome as a
 * `core_local_activity` marker. On replay the marker answers instead, so it never runs again.
 */
export interface LocalActivityRequest {
  readonly seq: number;
  readonly activityType: string;
  readonly args: readonly Payload[];
  readonly options: ActivityScheduleOptions;
}

/** The outcome of a query handler, run by the worker against a replayed or cached run. */
export type QueryOutcome = { readonly result: Payload } | { readonly failure: FailureInfo };

/** Static facts about a run, fixed for its life; given to the sandbox when it is created. */
export interface WorkflowRunInfo {
  readonly namespace: string;
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  /** ms since epoch */
  readonly startTime: number;
}
