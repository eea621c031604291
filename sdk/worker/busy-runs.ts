/**
 * Runs being worked on in this worker, with how many paths hold each: a speculation and a
 * claimed task can overlap. A reference-counted set: the run stays busy until every path
 * that took it lets go.
 */
export class BusyRuns {
  private readonly counts = new Map<string, number>();
  has(runId: string): boolean {
    return this.counts.has(runId);
  }
  add(runId: string): void {
    this.counts.set(runId, (this.counts.get(runId) ?? 0) + 1);
  }
  delete(runId: string): void {
    const n = (this.counts.get(runId) ?? 0) - 1;
    if (n > 0) this.counts.set(runId, n);
    else this.counts.delete(runId);
  }
}
