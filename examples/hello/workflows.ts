import { proxyActivities } from 'chronicle/workflow';
import type * as activities from './activities.js';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

/** The smallest durable workflow: one activity, its result recorded in history. */
export async function hello(name: string): Promise<string> {
  return await greet(name);
}
