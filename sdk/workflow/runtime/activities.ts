import type { ActivityResolution } from '../../../engine/protocol/activation.js';
import type { ScheduleActivityCommand } from '../../../engine/protocol/commands.js';
import type { FailureInfo } from '../../../engine/protocol/failures.js';
import type { ActivityScheduleOptions } from '../../../engine/protocol/retry-policy.js';
import { onScopeCancelled, type CancellationScope } from '../cancellation-scope.js';
import type { ActivityCancellationType } from '../cancellation-types.js';
import { ActivityFailure, type CancelledFailure, fromFailureInfo } from '../errors.js';
import { neverIssued, noop, quietly, toPayloads, type RunCore } from './core.js';

interface PendingActivity {
  readonly activityType: string;
  readonly cancellationType: ActivityCancellationType;
  readonly command: ScheduleActivityCommand;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly unsubscribe: () => void;
}

export interface ScheduleActivityRequest {
  readonly activityType: string;
  readonly args: readonly unknown[];
  readonly options: ActivityScheduleOptions;
  readonly taskQueue: string | undefined;
  readonly cancellationType: ActivityCancellationType;
}

/** The run's activities (ScheduleActivity/RequestCancelActivity commands, ResolveActivity jobs). */
export class Activities {
  private readonly pending = new Map<number, PendingActivity>();

  constructor(private readonly core: RunCore) {}

  /**
   * Schedules an activity in `scope`. In a scope that is already cancelled, rejects at once
   * with its CancelledFailure and schedules nothing. When the scope is cancelled while the
   * activity is pending, `cancellationType` decides (SEMANTICS.md item 7, plan §6).
   */
  schedule(request: ScheduleActivityRequest, scope: CancellationScope): Promise<unknown> {
    const { activityType, options, taskQueue, cancellationType } = request;
    this.core.assertMayIssueCommands(`activity '${activityType}'`);
    if (scope.consideredCancelled) return quietly(scope.cancelRequested);
    const args = toPayloads(request.args, `activity '${activityType}'`);
    const seq = this.core.nextSeq('activity');
    const command: ScheduleActivityCommand = { kind: 'ScheduleActivity', seq, activityType, ...(taskQueue !== undefined ? { taskQueue } : {}), args, options };
    const promise = new Promise((resolve, reject) => {
      const unsubscribe = scope.cancellable ? onScopeCancelled(scope, (reason) => this.cancel(seq, reason)) : noop;
      this.pending.set(seq, { activityType, cancellationType, command, resolve, reject, unsubscribe });
    });
    this.core.pushCommand(command);
    return quietly(promise);
  }

  resolve(seq: number, resolution: ActivityResolution): void {
    const pending = this.pending.get(seq);
    if (!pending) {
      if (seq > this.core.issued('activity')) throw neverIssued('Activity', seq, this.core.issued('activity'));
      return; // already settled by a cancellation (TRY_CANCEL, ABANDON): the late outcome is dropped
    }
    this.pending.delete(seq);
    pending.unsubscribe();
    if (resolution.status === 'completed') pending.resolve(resolution.result);
    else pending.reject(activityFailure(pending.activityType, seq, resolution.failure));
  }

  private cancel(seq: number, reason: CancelledFailure): void {
    const pending = this.pending.get(seq);
    if (!pending) return;
    // Cancelled in the activation that scheduled it: the ScheduleActivity never leaves, so the
    // activity never runs, whatever the cancellation type (as Temporal Core does).
    const unsent = this.core.retract(pending.command);
    if (!unsent && pending.cancellationType !== 'ABANDON') this.core.pushCommand({ kind: 'RequestCancelActivity', seq });
    if (!unsent && pending.cancellationType === 'WAIT_CANCELLATION_COMPLETED') return; // settles with ActivityTaskCanceled/Completed/Failed
    this.pending.delete(seq);
    pending.reject(new ActivityFailure('Activity task cancelled', pending.activityType, String(seq), 'CANCEL_REQUESTED', undefined, reason));
  }
}

/** Builds what an activity call rejects with, filling in what only the workflow knows (its type). */
export function activityFailure(activityType: string, seq: number, failure: FailureInfo): ActivityFailure {
  if (failure.failureType === 'activity') {
    const cause = failure.cause ? fromFailureInfo(failure.cause) : undefined;
    return new ActivityFailure(
      failure.message,
      activityType,
      failure.activity?.activityId || String(seq),
      failure.activity?.retryState ?? 'UNSPECIFIED',
      undefined,
      cause,
    );
  }
  return new ActivityFailure('Activity task failed', activityType, String(seq), 'UNSPECIFIED', undefined, fromFailureInfo(failure));
}
