import { proxyActivities, sleep } from 'chronicle/workflow';
import type * as activities from './activities.js';
import type { LineItem } from './activities.js';

const { reserveStock, shipOrder } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

// Payments get a faster retry than the default 1 s so the example finishes quickly.
const { chargeCard } = proxyActivities<typeof activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumAttempts: 5 },
  priority: 80,
});

export interface OrderResult {
  readonly orderId: string;
  readonly reservations: string[];
  readonly chargeId: string;
  readonly shipmentId: string;
}

/**
 * An order: reserve every line in parallel (fan-out with Promise.all), charge the card
 * (retried until the flaky provider answers), wait for the warehouse's pick-up window (a
 * durable timer: a worker restart does not lose it), then ship.
 */
export async function order(orderId: string, items: LineItem[], amountCents: number): Promise<OrderResult> {
  const reservations = await Promise.all(items.map((item) => reserveStock(orderId, item)));
  const chargeId = await chargeCard(orderId, amountCents);
  await sleep('1s');
  const shipmentId = await shipOrder(orderId, reservations);
  return { orderId, reservations, chargeId, shipmentId };
}
