/** A counting semaphore for task slots: pollers claim only as many tasks as there are free slots. */
export class Slots {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  get free(): number {
    return this.capacity - this.used;
  }

  get inUse(): number {
    return this.used;
  }

  acquire(n = 1): void {
    this.used += n;
  }

  release(n = 1): void {
    this.used -= n;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves when at least one slot is free (or when `signal` aborts). */
  async waitForFree(signal?: AbortSignal): Promise<void> {
    while (this.free <= 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        // Remove the abort listener once woken, or a long-running worker would pile one
        // listener per wait onto its stop signal.
        const done = () => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Resolves when every slot is free. */
  async drained(): Promise<void> {
    while (this.used > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}
