import { condition, defineQuery, defineSignal, proxyActivities, setHandler, type Duration } from 'chronicle/workflow';
import type * as activities from './activities.js';

const { notifyApprover, applyDecision } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

export interface ApprovalRequest {
  readonly requestId: string;
  readonly requester: string;
  readonly amountCents: number;
}

export interface Decision {
  readonly approved: boolean;
  readonly by: string;
  readonly comment?: string;
}

export type ApprovalStatus = 'WAITING' | 'APPROVED' | 'REJECTED' | 'EXPIRED';

/** Signals a person sends: approve or reject, with who and why. */
export const approveSignal = defineSignal<[{ by: string; comment?: string }]>('approve');
export const rejectSignal = defineSignal<[{ by: string; comment?: string }]>('reject');
/** Where the request stands, at any time (also after it ended). */
export const statusQuery = defineQuery<ApprovalStatus>('status');

/**
 * An approval flow: ask an approver, then wait for their decision as a signal, for at most
 * `timeout` (durable: days are fine, a worker restart loses nothing). No answer in time
 * expires the request. The decision is applied by an activity either way.
 */
export async function approval(request: ApprovalRequest, timeout: Duration = '3 days'): Promise<{ status: ApprovalStatus; decision?: Decision }> {
  let decision: Decision | undefined;
  let status: ApprovalStatus = 'WAITING';
  setHandler(statusQuery, () => status);
  // A decision that arrives before these handlers exist (sent with signalWithStart, say) is
  // buffered and delivered here, never dropped.
  setHandler(approveSignal, ({ by, comment }) => {
    decision ??= { approved: true, by, ...(comment ? { comment } : {}) };
  });
  setHandler(rejectSignal, ({ by, comment }) => {
    decision ??= { approved: false, by, ...(comment ? { comment } : {}) };
  });

  await notifyApprover(request);
  const decided = await condition(() => decision !== undefined, timeout);
  status = !decided ? 'EXPIRED' : decision!.approved ? 'APPROVED' : 'REJECTED';
  await applyDecision(request.requestId, status);
  return decided ? { status, decision } : { status };
}
