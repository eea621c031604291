/**
 * Cancellation scopes, with Temporal's names and semantics (SEMANTICS.md item 6).
 *
 * Every cancellable operation a workflow starts (timer, activity, local activity, child
 * workflow, external signal or cancel, `condition`) belongs to the scope that is current when
 * it starts, and is cancelled with it. The root scope is cancelled when the workflow's
 * cancellation is requested. The current scope follows the code across `await` through an
 * `AsyncLocalStorage` that the worker injects into the sandbox realm.
 *
 * Cancellation is synchronous here: `cancel()` settles every affected operation before it
 * returns, in the order they subscribed, so the commands it produces (CancelTimer,
 * RequestCancelActivity, …) come in one deterministic order.
 *
 * This module imports nothing that reaches the per-run Activator, so the Activator's parts
 * can depend on it; it finds the run's storage and root scope through a realm-global slot.
 */
import { parseDuration, type Duration } from '../../engine/protocol/durations.js';
import { CancelledFailure, NotInWorkflowContextError } from './errors.js';

/** Options of `new CancellationScope(...)`, as in Temporal. */
export interface CancellationScopeOptions {
  /** Cancels the scope after this much workflow time (a durable timer, itself cancelled when the scope's function settles first). */
  readonly timeout?: Duration;
  /** Default true. A non-cancellable scope shields the operations and scopes inside it from cancellation. */
  readonly cancellable?: boolean;
  /** Default: the current scope. */
  readonly parent?: CancellationScope;
}

/**
 * The async-context store of the current scope: `run`/`getStore` of the host's
 * AsyncLocalStorage, shared by every sandbox of the process (see sdk/worker/sandbox.ts).
 */
export interface ScopeStorage {
  run<R>(store: CancellationScope, fn: () => R): R;
  /** May hold anything: only this realm's scopes count. */
  getStore(): unknown;
}

/** What the run provides to scopes: its storage, its root scope and durable timers. */
interface ScopeRealm {
  readonly storage: ScopeStorage;
  readonly root: CancellationScope;
  readonly sleep: (ms: number) => Promise<void>;
}

type Listener = (reason: CancelledFailure) => void;

const SLOT = Symbol.for('chronicle.workflow.cancellationScopes');

function maybeRealm(): ScopeRealm | undefined {
  return (globalThis as { [SLOT]?: ScopeRealm })[SLOT];
}

function realm(api: string): ScopeRealm {
  const r = maybeRealm();
  if (r === undefined) throw new NotInWorkflowContextError(api);
  return r;
}

let creatingRoot = false;
let subscribe: (scope: CancellationScope, listener: Listener) => () => void;
let cancelWith: (scope: CancellationScope, reason: CancelledFailure) => void;

/**
 * A group of operations that are cancelled together.
 *
 * - `CancellationScope.cancellable(fn)`: runs `fn` in a new scope that is cancelled with its
 *   parent and can be cancelled alone (`CancellationScope.current().cancel()` inside it).
 * - `CancellationScope.nonCancellable(fn)`: runs `fn` shielded from cancellation: use it for
 *   cleanup after the workflow was cancelled (its timers and activities still run).
 * - `CancellationScope.withTimeout(timeout, fn)`: a cancellable scope cancelled after
 *   `timeout` of workflow time.
 *
 * An operation started in a scope that is already cancelled rejects at once with its
 * `CancelledFailure`. A cancellation that escapes the workflow function ends the run
 * CANCELLED only when the workflow's own cancellation was requested; a scope cancelled from
 * inside the workflow (a `withTimeout`, an explicit `cancel()`) makes it FAIL with the
 * CancelledFailure, as in Temporal.
 *
 * @example
 * try {
 *   await CancellationScope.withTimeout('1 hour', () => acts.longTask());
 * } catch (err) {
 *   if (!isCancellation(err)) throw err;
 *   await CancellationScope.nonCancellable(() => acts.cleanup());
 *   throw err;
 * }
 */
export class CancellationScope {
  /** Milliseconds after which the scope cancels itself, when set. */
  readonly timeout: number | undefined;
  readonly cancellable: boolean;
  /** Undefined for the root scope only. */
  readonly parent: CancellationScope | undefined;
  /**
   * Rejects with a CancelledFailure when the scope is cancelled (also when a non-cancellable
   * scope's parent is: code in it may race this promise to notice). Never resolves.
   */
  readonly cancelRequested: Promise<never>;

  #reason: CancelledFailure | undefined;
  readonly #reject: (reason: CancelledFailure) => void;
  readonly #listeners = new Set<Listener>();
  #unsubscribeFromParent: (() => void) | undefined;
  #running = 0;

  constructor(options: CancellationScopeOptions = {}) {
    this.timeout = options.timeout === undefined ? undefined : Math.max(1, parseDuration(options.timeout, 'timeout'));
    this.cancellable = options.cancellable ?? true;
    let reject!: (reason: CancelledFailure) => void;
    this.cancelRequested = new Promise<never>((_resolve, r) => {
      reject = r;
    });
    this.cancelRequested.catch(() => undefined); // nobody has to watch it
    this.#reject = reject;
    this.parent = creatingRoot ? undefined : (options.parent ?? CancellationScope.current());
    this.#attach();
  }

  /** True once the scope was cancelled and it is cancellable: its operations are cancelled. */
  get consideredCancelled(): boolean {
    this.#attach(); // an idle scope left its parent: catch up with a cancellation it missed
    return this.#reason !== undefined && this.cancellable;
  }

  /**
   * Cancels the scope: every pending operation in it and in its cancellable descendants is
   * cancelled now (timers send CancelTimer, activities follow their `cancellationType`, …)
   * and rejects with a CancelledFailure. A second call does nothing.
   */
  cancel(): void {
    this.#cancel(new CancelledFailure('Cancellation scope cancelled'));
  }

  /** Runs `fn` with this scope as the current one (across its awaits). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = realm('CancellationScope.run()');
    this.#running++;
    this.#attach();
    const done = () => {
      this.#running--;
      this.#detachIfIdle();
    };
    const promise = r.storage.run(this, () => this.#runInContext(fn, r));
    promise.then(done, done);
    return promise;
  }

  /** The scope of the code that calls it; the root scope outside any `run`. */
  static current(): CancellationScope {
    const r = realm('CancellationScope.current()');
    const store = r.storage.getStore();
    // The storage is shared with other sandboxes: a scope of another realm is not ours.
    return store instanceof CancellationScope ? store : r.root;
  }

  /** Runs `fn` in a new cancellable child of the current scope. */
  static cancellable<T>(fn: () => Promise<T>): Promise<T> {
    return new CancellationScope({ cancellable: true }).run(fn);
  }

  /** Runs `fn` in a new scope that cancellation of its parents does not reach. */
  static nonCancellable<T>(fn: () => Promise<T>): Promise<T> {
    return new CancellationScope({ cancellable: false }).run(fn);
  }

  /** Runs `fn` in a new cancellable scope that is cancelled after `timeout` of workflow time. */
  static withTimeout<T>(timeout: Duration, fn: () => Promise<T>): Promise<T> {
    return new CancellationScope({ cancellable: true, timeout }).run(fn);
  }

  async #runInContext<T>(fn: () => Promise<T>, r: ScopeRealm): Promise<T> {
    let timerScope: CancellationScope | undefined;
    if (this.timeout !== undefined) {
      const ms = this.timeout;
      // A child of this scope: cancelling this scope (or its parent) cancels the timer too.
      timerScope = new CancellationScope();
      timerScope.run(() => r.sleep(ms)).then(
        () => this.cancel(),
        () => undefined, // the timer was cancelled: the function finished first
      );
    }
    try {
      return await fn();
    } finally {
      if (timerScope && !timerScope.consideredCancelled) timerScope.cancel();
    }
  }

  #cancel(reason: CancelledFailure): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#reject(reason);
    if (!this.cancellable) return; // shielded: only `cancelRequested` tells
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener(reason);
    this.#detachIfIdle();
  }

  #subscribe(listener: Listener): () => void {
    this.#attach(); // used again after it went idle: follow the parent again
    this.#listeners.add(listener);
    return () => {
      if (this.#listeners.delete(listener)) this.#detachIfIdle();
    };
  }

  /**
   * Follows the parent's cancellation (Temporal: a non-cancellable parent shields its
   * children). A scope created under an already cancelled parent is cancelled at once.
   */
  #attach(): void {
    const parent = this.parent;
    if (!parent || this.#unsubscribeFromParent || this.#reason !== undefined || !parent.cancellable) return;
    parent.#attach(); // the parent may have gone idle and left its own parent meanwhile
    if (parent.#reason !== undefined) {
      this.#cancel(parent.#reason);
      return;
    }
    this.#unsubscribeFromParent = parent.#subscribe((reason) => {
      this.#unsubscribeFromParent = undefined;
      this.#cancel(reason);
    });
  }

  /**
   * A scope that is not running and has nothing subscribed leaves its parent, so that a loop
   * of short-lived scopes (`condition(fn, timeout)` in a loop) does not pile up in the root.
   * Using it again attaches it again (and its ancestors, which may have left theirs): running
   * it, an operation subscribing to it (work a scope's function left running after it
   * returned), or reading `consideredCancelled`, which is when it learns of a cancellation of
   * an ancestor that happened while it was detached. Only `cancelRequested` of a scope that is
   * never used again may miss such a cancellation.
   */
  #detachIfIdle(): void {
    if (this.#running > 0 || this.#listeners.size > 0 || !this.#unsubscribeFromParent) return;
    const unsubscribe = this.#unsubscribeFromParent;
    this.#unsubscribeFromParent = undefined;
    unsubscribe();
  }

  static {
    subscribe = (scope, listener) => scope.#subscribe(listener);
    cancelWith = (scope, reason) => scope.#cancel(reason);
  }
}

/**
 * Subscribes an operation to its scope's cancellation; returns the unsubscribe function to
 * call once the operation settled. Only for cancellable scopes that are not cancelled yet.
 * @internal
 */
export function onScopeCancelled(scope: CancellationScope, listener: (reason: CancelledFailure) => void): () => void {
  return subscribe(scope, listener);
}

/** Cancels `scope` with a given failure (the root, when the workflow's cancellation is requested). @internal */
export function cancelScope(scope: CancellationScope, reason: CancelledFailure): void {
  cancelWith(scope, reason);
}

/**
 * Creates the run's root scope and makes scopes usable in this realm. Called once per
 * sandbox by the Activator. @internal
 */
export function installCancellationScopes(storage: ScopeStorage, sleep: (ms: number) => Promise<void>): CancellationScope {
  creatingRoot = true;
  let root: CancellationScope;
  try {
    root = new CancellationScope({ cancellable: true });
  } finally {
    creatingRoot = false;
  }
  const value: ScopeRealm = Object.freeze({ storage, root, sleep });
  Object.defineProperty(globalThis, SLOT, { value, writable: false, enumerable: false, configurable: false });
  return root;
}

/**
 * A stand-in for the host's storage that tracks the scope through synchronous code only, for
 * a realm the worker gave none (module evaluation during bundling, where no workflow runs).
 * @internal
 */
export function syncScopeStorage(): ScopeStorage {
  let current: CancellationScope | undefined;
  return {
    run<R>(store: CancellationScope, fn: () => R): R {
      const previous = current;
      current = store;
      try {
        return fn();
      } finally {
        current = previous;
      }
    },
    getStore: () => current,
  };
}
