import { log } from 'chronicle/activity';
import type { ApprovalRequest, ApprovalStatus } from './workflows.js';

/** Tells the approver there is something to decide (an e-mail or a chat message in real life). */
export async function notifyApprover(request: ApprovalRequest): Promise<void> {
  log.info(`approval needed: ${request.requester} asks for ${(request.amountCents / 100).toFixed(2)} (${request.requestId})`);
}

/** Records the outcome in the system of record. */
export async function applyDecision(requestId: string, status: ApprovalStatus): Promise<string> {
  return `${requestId}: ${status}`;
}
