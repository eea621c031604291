import type { Logger } from './logger.js';

/**
 * A background loop: runs `tick` until stopped. `tick` returns how long to wait before
 * the next run (ms); `wake()` cuts the wait short. An error is logged with the loop's name
 * and retried with backoff, never swallowed and never fatal: a recovery loop that dies
 * silently loses workflows (DBOS-py#716).
 */
export class BackgroundLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private wakeRequested = false;
  private failures = 0;

  constructor(
    readonly name: string,
    private readonly tick: () => Promise<number>,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs the tick as soon as possible (coalesced with a tick already running). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  /** Runs the tick at the latest in `ms` (earlier if already scheduled sooner). */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    if (this.running) {
      // Applied when the running tick ends, so a near-future timer is not left for the next poll.
      const at = Date.now() + Math.max(0, ms);
      this.wakeAt = this.wakeAt === undefined ? at : Math.min(this.wakeAt, at);
      return;
    }
    if (this.dueAt !== undefined && this.dueAt <= Date.now() + ms) return;
    this.schedule(ms);
  }

  private dueAt: number | undefined;
  private wakeAt: number | undefined;

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => this.run(), Math.max(0, ms));
    this.timer.unref?.();
  }

  private run(): void {
    this.timer = undefined;
    this.dueAt = undefined;
    if (this.stopped) return;
    this.wakeRequested = false;
    this.running = (async () => {
      let next: number;
      try {
        next = await this.tick();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        next = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
        this.log.error(`background loop '${this.name}' failed; retrying`, { error: err, inMs: next, failures: this.failures });
      }
      this.running = undefined;
      if (this.stopped) return;
      const requested = this.wakeAt === undefined ? Infinity : Math.max(0, this.wakeAt - Date.now());
      this.wakeAt = undefined;
      this.schedule(this.wakeRequested ? 0 : Math.min(next, requested));
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
