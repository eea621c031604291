import { activityInfo, log } from 'chronicle/activity';

export interface LineItem {
  readonly sku: string;
  readonly quantity: number;
}

/** Reserves stock for one line; called once per line, in parallel. */
export async function reserveStock(orderId: string, item: LineItem): Promise<string> {
  return `${orderId}:${item.sku}x${item.quantity}`;
}

/**
 * Charges the card. Flaky on purpose: the payment provider "times out" on the first two
 * attempts, so the retries show in the history (one ActivityTaskCompleted with attempt 3).
 */
export async function chargeCard(orderId: string, amountCents: number): Promise<string> {
  const { attempt } = activityInfo();
  if (attempt < 3) {
    log.warn(`payment provider unavailable (attempt ${attempt})`);
    throw new Error(`payment provider unavailable (attempt ${attempt})`);
  }
  return `charge-${orderId}-${amountCents}`;
}

export async function shipOrder(orderId: string, reservations: string[]): Promise<string> {
  return `shipment-${orderId} (${reservations.length} lines)`;
}
