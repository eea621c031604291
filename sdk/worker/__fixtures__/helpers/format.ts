// Reached from workflows.ts as './helpers/format.js': the bundler must resolve it to this .ts file.
export function formatOrder(orderId: string, steps: readonly string[]): string {
  return `${orderId}: ${steps.join(' -> ')}`;
}
