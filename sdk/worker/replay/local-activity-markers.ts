import type { ActivationJob, LocalActivityRequest } from '../../../engine/protocol/activation.js';
import type { FailureInfo } from '../../../engine/protocol/failures.js';
import type { HistoryBatch } from './history-batches.js';
import { NonDeterminismError } from './matcher.js';

/** Marker name of a local activity's outcome (see sdk/workflow/runtime/local-activities.ts). */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/**
 * Replay's answer to the local activities a replayed activation asked for (plan §11): each
 * request is answered from the batch's `core_local_activity` marker of the same seq, so the
 * activity never runs again. A marker the workflow wrote when it cancelled the activity
 * itself (`cancelled: true`) is not an answer: the replayed code cancels it again. PURE.
 *
 * @throws NonDeterminismError when the batch has no marker for a request (the original run
 *   never asked for it there), or the marker names another activity type.
 */
export function answerLocalActivities(requests: readonly LocalActivityRequest[], batch: Pick<HistoryBatch, 'commandEvents' | 'completed'>): ActivationJob[] {
  const jobs: ActivationJob[] = [];
  for (const request of requests) {
    const marker = batch.commandEvents.find(
      (e) => e.eventType === 'MarkerRecorded' && e.attributes.markerName === LOCAL_ACTIVITY_MARKER && e.attributes.details.seq === request.seq,
    );
    const details = marker?.eventType === 'MarkerRecorded' ? marker.attributes.details : undefined;
    if (!marker || !details || details.activityType !== request.activityType) {
      const recorded = marker
        ? { eventId: marker.eventId, eventType: marker.eventType, markerName: LOCAL_ACTIVITY_MARKER, seq: request.seq, activityType: String(details?.activityType) }
        : undefined;
      throw new NonDeterminismError(marker?.eventId ?? batch.completed.eventId, recorded, {
        kind: 'RecordMarker',
        markerName: LOCAL_ACTIVITY_MARKER,
        seq: request.seq,
        activityType: request.activityType,
      });
    }
    if (details.cancelled === true) continue;
    const attempt = typeof details.attempt === 'number' ? details.attempt : 1;
    const result =
      details.failure !== undefined
        ? ({ status: 'failed', failure: details.failure as FailureInfo } as const)
        : ({ status: 'completed', result: details.result } as const);
    jobs.push({ kind: 'ResolveLocalActivity', seq: request.seq, attempt, result });
  }
  return jobs;
}
