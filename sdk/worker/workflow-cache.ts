/**
 * The sticky cache: live runs kept in memory between workflow tasks, so that a task for a
 * cached run applies only its new events instead of replaying the whole history. Least
 * recently used runs are evicted beyond `maxSize`; an evicted run is disposed (its sandbox
 * freed) and will be rebuilt by replay if it comes back.
 */
export class WorkflowCache<T extends { dispose(): void; readonly lastCompletedEventId: number }> {
  private readonly runs = new Map<string, T>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxSize: number) {}

  /** Takes the run out of the cache (the caller owns it until it `put`s it back). */
  take(runId: string): T | undefined {
    const run = this.runs.get(runId);
    if (run) {
      this.runs.delete(runId);
      this.hits++;
    } else {
      this.misses++;
    }
    return run;
  }

  /** Looks without taking (and without counting a hit or miss). */
  peek(runId: string): T | undefined {
    return this.runs.get(runId);
  }

  put(runId: string, run: T): void {
    if (this.maxSize <= 0) {
      run.dispose();
      return;
    }
    // Two paths may finish the same run (a speculation and a claimed task): keep the copy
    // that stands further in the history and dispose the other, never leak a sandbox.
    const existing = this.runs.get(runId);
    if (existing && existing !== run) {
      if (existing.lastCompletedEventId >= run.lastCompletedEventId) {
        run.dispose();
        return;
      }
      existing.dispose();
      this.runs.delete(runId);
    }
    this.runs.set(runId, run);
    while (this.runs.size > this.maxSize) {
      const [oldestId, oldest] = this.runs.entries().next().value as [string, T];
      this.runs.delete(oldestId);
      oldest.dispose();
    }
  }

  get size(): number {
    return this.runs.size;
  }

  clear(): void {
    for (const run of this.runs.values()) run.dispose();
    this.runs.clear();
  }
}
