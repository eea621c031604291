import { Doorbell } from './wakeups.js';

/**
 * Doorbells by key (a query id, `<runId>/<updateId>`, `<namespace>/<queue>`), created while
 * someone waits on the key and dropped when the last waiter leaves, so that a process
 * serving many short waits does not keep a bell per key it ever saw.
 */
export class KeyedDoorbells {
  private readonly bells = new Map<string, { bell: Doorbell; users: number }>();

  /** Takes a bell for `key`; call `release()` when done waiting (in a finally). */
  acquire(key: string): { readonly bell: Doorbell; release(): void } {
    let entry = this.bells.get(key);
    if (!entry) this.bells.set(key, (entry = { bell: new Doorbell(), users: 0 }));
    entry.users++;
    let released = false;
    return {
      bell: entry.bell,
      release: () => {
        if (released) return;
        released = true;
        if (--entry.users === 0 && this.bells.get(key) === entry) this.bells.delete(key);
      },
    };
  }

  /** Rings `key`'s bell, or every bell for `'*'` (the LISTEN connection was re-established). */
  ring(key: string): void {
    if (key === '*') {
      for (const { bell } of this.bells.values()) bell.ring();
      return;
    }
    this.bells.get(key)?.bell.ring();
  }
}

export interface PollUntilOptions<T> {
  readonly bell: Doorbell;
  /** Reads the state; a value other than undefined ends the wait. */
  readonly check: () => Promise<T | undefined>;
  /** Date.now() after which to give up (Infinity: never). */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** First fallback re-check interval; doubles up to `maxIntervalMs`. */
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

/**
 * Re-checks until `check` returns a value: at once after a ring of `bell` (a NOTIFY), else
 * on a backing-off fallback interval, because a NOTIFY is only a latency hint. The bell is
 * armed before each check so that a ring landing between the check and the wait is not
 * lost. Resolves undefined at the deadline; rejects with the signal's reason on abort.
 */
export async function pollUntil<T>(o: PollUntilOptions<T>): Promise<T | undefined> {
  let interval = o.minIntervalMs;
  for (;;) {
    const armed = o.bell.arm();
    const value = await o.check();
    if (value !== undefined) return value;
    if (o.signal?.aborted) throw o.signal.reason ?? new DOMException('aborted', 'AbortError');
    const left = o.deadline - Date.now();
    if (left <= 0) return undefined;
    await o.bell.wait(armed, Math.min(interval, left), o.signal);
    interval = Math.min(interval * 2, o.maxIntervalMs);
  }
}
