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
  readonly jobs: readonly ActivationJob[];
}

export type ActivationJob =
  | { readonly kind: 'StartWorkflow'; readonly workflowType: string; readonly args: readonly Payload[] }
  | { readonly kind: 'ResolveActivity'; readonly seq: number; readonly result: ActivityResolution }
  | { readonly kind: 'FireTimer'; readonly seq: number }
  | { readonly kind: 'CancelWorkflow'; readonly reason?: string };

export type ActivityResolution =
  | { readonly status: 'completed'; readonly result: Payload }
  | { readonly status: 'failed'; readonly failure: FailureInfo };

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
