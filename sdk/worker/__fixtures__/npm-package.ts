// Imports a third-party npm package from node_modules (dequal: small, no Node built-ins).
import { dequal } from 'dequal';
import { sleep } from 'chronicle/workflow';

export async function compares(a: unknown, b: unknown): Promise<boolean> {
  await sleep('1s');
  return dequal(a, b);
}
