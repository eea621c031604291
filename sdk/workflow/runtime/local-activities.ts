import type { ActivityResolution, LocalActivityRequest } from '../../../engine/protocol/activation.js';
import { toFailureInfo } from '../../../engine/protocol/failures.js';
import type { ActivityScheduleOptions } from '../../../engine/protocol/retry-policy.js';
import { onScopeCancelled, type CancellationScope } from '../cancellation-scope.js';
import type { ActivityCancellationType } from '../cancellation-types.js';
import { ActivityFailure, type CancelledFailure } from '../errors.js';
import { activityFailure } from './activities.js';
import { neverIssued, noop, quietly, toPayloads, type RunCore } from './core.js';

/** Marker name of a local activity's outcome, as sdk-core names it. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/**
 * Details of a `core_local_activity` marker. `cancelled: true` marks one the workflow
 * cancelled itself (replay must not answer it: the workflow cancels it again).
 */
export interface LocalActivityMarkerDetails {
  readonly seq: number;
  readonly activityType: string;
  readonly attempt: number;
  readonly result?: unknown;
  readonly failure?: ReturnType<typeof toFailureInfo>;
  readonly cancelled?: boolean;
}

interface PendingLocalActivity {
  readonly activityType: string;
  readonly cancellationType: ActivityCancellationType;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly unsubscribe: () => void;
}

/**
 * The run's local activities (plan §11). Requesting one issues no command: the request is
 * handed to the worker with the activation's outcome, the worker runs it and answers with a
 * ResolveLocalActivity job in a further activation of the same task, and the outcome is then
 * recorded as a `core_local_activity` marker. On replay the marker answers instead.
 */
export class LocalActivities {
  private readonly pending = new Map<number, PendingLocalActivity>();
  private requests: LocalActivityRequest[] = [];

  constructor(private readonly core: RunCore) {}

  schedule(
    activityType: string,
    rawArgs: readonly unknown[],
    options: ActivityScheduleOptions,
    cancellationType: ActivityCancellationType,
    scope: CancellationScope,
  ): Promise<unknown> {
    this.core.assertMayIssueCommands(`local activity '${activityType}'`);
    if (scope.consideredCancelled) return quietly(scope.cancelRequested);
    const args = toPayloads(rawArgs, `local activity '${activityType}'`);
    const seq = this.core.nextSeq('localActivity');
    const promise = new Promise((resolve, reject) => {
      const unsubscribe = scope.cancellable ? onScopeCancelled(scope, (reason) => this.cancel(seq, reason)) : noop;
      this.pending.set(seq, { activityType, cancellationType, resolve, reject, unsubscribe });
    });
    this.requests.push({ seq, activityType, args, options });
    return quietly(promise);
  }

  /** The requests of this activation that are still wanted; clears the list. */
  takeRequests(): LocalActivityRequest[] {
    const wanted = this.requests.filter((r) => this.pending.has(r.seq));
    this.requests = [];
    return wanted;
  }

  resolve(seq: number, resolution: ActivityResolution, attempt: number): void {
    const pending = this.pending.get(seq);
    if (!pending) {
      if (seq > this.core.issued('localActivity')) throw neverIssued('Local activity', seq, this.core.issued('localActivity'));
      return; // the workflow cancelled it meanwhile
    }
    this.pending.delete(seq);
    pending.unsubscribe();
    const base = { seq, activityType: pending.activityType, attempt };
    if (resolution.status === 'completed') {
      this.recordMarker({ ...base, result: resolution.result });
      pending.resolve(resolution.result);
    } else {
      this.recordMarker({ ...base, failure: resolution.failure });
      pending.reject(activityFailure(pending.activityType, seq, resolution.failure));
    }
  }

  /**
   * The scope was cancelled. The worker cannot be told mid-task, so WAIT_CANCELLATION_COMPLETED
   * simply waits for the outcome; the other types settle now and record the cancellation.
   */
  private cancel(seq: number, reason: CancelledFailure): void {
    const pending = this.pending.get(seq);
    if (!pending || pending.cancellationType === 'WAIT_CANCELLATION_COMPLETED') return;
    this.pending.delete(seq);
    const failure = new ActivityFailure('Local activity cancelled', pending.activityType, String(seq), 'CANCEL_REQUESTED', undefined, reason);
    this.recordMarker({ seq, activityType: pending.activityType, attempt: 0, failure: toFailureInfo(failure), cancelled: true });
    pending.reject(failure);
  }

  private recordMarker(details: LocalActivityMarkerDetails): void {
    this.core.pushCommand({ kind: 'RecordMarker', markerName: LOCAL_ACTIVITY_MARKER, details: details as unknown as Record<string, unknown> });
  }
}
