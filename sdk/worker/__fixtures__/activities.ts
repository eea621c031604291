// Activity signatures for the workflow fixtures. Workflows import them as types only, so
// nothing here is bundled into the sandbox.
export async function reserveStock(orderId: string): Promise<string> {
  return `reserved:${orderId}`;
}

export async function chargeCard(orderId: string, amount: number): Promise<{ chargeId: string; amount: number }> {
  return { chargeId: `ch_${orderId}`, amount };
}

export async function ship(orderId: string): Promise<string> {
  return `shipped:${orderId}`;
}
