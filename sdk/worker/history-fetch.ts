import type { Engine, WorkflowRef } from '../../engine/engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';

/**
 * A run's history from event 1, page by page: up to `toEventId` (inclusive) when given, else
 * all of it. What a worker replays when a run is not in its cache.
 */
export async function fetchFullHistory(engine: Engine, ref: Required<WorkflowRef>, toEventId?: number): Promise<HistoryEvent[]> {
  const history: HistoryEvent[] = [];
  let from: number | undefined = 1;
  while (from !== undefined) {
    const page = await engine.getHistory(ref, { fromEventId: from, pageSize: 1000, ...(toEventId !== undefined ? { toEventId } : {}) });
    history.push(...page.events);
    from = page.nextEventId;
  }
  return history;
}
