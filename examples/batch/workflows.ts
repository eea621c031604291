import { executeChild, proxyActivities, workflowInfo } from 'chronicle/workflow';
import type * as activities from './activities.js';

const { processItem } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

export interface BatchSummary {
  readonly batches: number;
  readonly processed: number;
  readonly total: number;
}

/**
 * A batch fan-out: split the items into chunks and hand each chunk to a child workflow, all
 * in parallel. Each child has its own history (so no single history grows with the batch),
 * a stable id derived from the parent's, and is terminated if the parent is (the default
 * parent-close policy).
 */
export async function batchParent(items: number[], chunkSize = 10): Promise<BatchSummary> {
  const chunks: number[][] = [];
  for (let i = 0; i < items.length; i += chunkSize) chunks.push(items.slice(i, i + chunkSize));
  const { workflowId } = workflowInfo();
  const results = await Promise.all(
    chunks.map((chunk, i) => executeChild(batchChunk, { workflowId: `${workflowId}-chunk-${i + 1}`, args: [chunk] })),
  );
  return {
    batches: chunks.length,
    processed: results.reduce((n, r) => n + r.processed, 0),
    total: results.reduce((sum, r) => sum + r.total, 0),
  };
}

/** One chunk: an activity per item, in parallel. */
export async function batchChunk(chunk: number[]): Promise<{ processed: number; total: number }> {
  const values = await Promise.all(chunk.map((item) => processItem(item)));
  return { processed: values.length, total: values.reduce((a, b) => a + b, 0) };
}
