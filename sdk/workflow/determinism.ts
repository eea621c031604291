import { parseDuration } from '../../engine/protocol/durations.js';
import type { Activator, LogLevel } from './activator.js';
import { CancellationScope } from './cancellation-scope.js';
import { DeterminismViolationError } from './errors.js';

/**
 * Replaces the sandbox realm's nondeterministic globals with per-run deterministic ones.
 * Runs once per sandbox, before the user's workflow module is evaluated, so module-level code
 * is deterministic too. Never call this in plain Node: it rewrites `globalThis`.
 *
 * - `Date`: `new Date()` and `Date.now()` return the activation's workflow time; `new Date(x)`,
 *   `Date.parse`, `Date.UTC` behave normally.
 * - `Math.random`, `crypto.randomUUID`, `crypto.getRandomValues`: the run's seeded PRNG.
 * - `setTimeout`/`clearTimeout`: durable timers (StartTimer/CancelTimer commands) in the
 *   current CancellationScope.
 * - `queueMicrotask`: a promise job in the sandbox's own queue.
 * - `WeakRef`, `FinalizationRegistry`: throw, because they observe garbage collection.
 * - `console.*`: the worker's logger, silent during replay.
 */
export function installDeterministicGlobals(activator: Activator): void {
  const g = globalThis as unknown as Record<string, unknown>;

  g.Date = deterministicDate(activator);
  Math.random = () => activator.random.nextFloat();

  g.crypto = Object.freeze({
    randomUUID: (): string => activator.random.uuid4(),
    getRandomValues: <T extends ArrayBufferView | null>(array: T): T => {
      if (!isIntegerTypedArray(array)) {
        throw new TypeError('crypto.getRandomValues expects an integer typed array (Uint8Array, Int32Array, …)');
      }
      if (array.byteLength > 65536) {
        throw new RangeError(`crypto.getRandomValues can fill at most 65536 bytes at once, got ${array.byteLength}`);
      }
      activator.random.fillBytes(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
      return array;
    },
  });

  g.setTimeout = (callback: unknown, delay?: unknown, ...args: unknown[]): number => {
    if (typeof callback !== 'function') {
      throw new TypeError('setTimeout in a workflow needs a function callback; strings of code are not supported');
    }
    const durationMs = Math.max(1, parseDuration(delay ?? 0, 'setTimeout delay'));
    const { seq, promise } = activator.timers.start(durationMs, CancellationScope.current(), 'setTimeout()');
    promise.then(
      () => {
        try {
          (callback as (...a: unknown[]) => void)(...args);
        } catch (err) {
          activator.failTask(err); // as an uncaught exception would crash a Node process
        }
      },
      () => undefined, // cancelled with the workflow: the callback simply never runs
    );
    return seq;
  };
  g.clearTimeout = (handle: unknown): void => {
    if (typeof handle === 'number' && handle > 0) activator.timers.cancel(handle);
  };

  g.queueMicrotask = (callback: unknown): void => {
    if (typeof callback !== 'function') throw new TypeError('queueMicrotask expects a function');
    void Promise.resolve().then(() => {
      try {
        (callback as () => void)();
      } catch (err) {
        activator.failTask(err);
      }
    });
  };

  g.WeakRef = bannedConstructor('WeakRef');
  g.FinalizationRegistry = bannedConstructor('FinalizationRegistry');

  g.console = workflowConsole(activator);
}

function deterministicDate(activator: Activator): DateConstructor {
  const OriginalDate = Date;
  // A function rather than a class so that `Date()` (no `new`) keeps returning a string and
  // `class X extends Date` keeps working: Reflect.construct honours new.target.
  function WorkflowDate(this: unknown, ...args: unknown[]): unknown {
    if (!new.target) return new OriginalDate(activator.now).toString();
    return Reflect.construct(OriginalDate, args.length === 0 ? [activator.now] : args, new.target);
  }
  const D = WorkflowDate as unknown as DateConstructor & Record<string, unknown>;
  Object.defineProperty(D, 'prototype', { value: OriginalDate.prototype, writable: false });
  Object.defineProperty(D, 'name', { value: 'Date' });
  Object.defineProperty(D, 'length', { value: OriginalDate.length });
  D.now = () => activator.now;
  D.parse = OriginalDate.parse;
  D.UTC = OriginalDate.UTC;
  Object.defineProperty(OriginalDate.prototype, 'constructor', { value: D, writable: true, configurable: true, enumerable: false });
  return D;
}

function isIntegerTypedArray(value: unknown): value is ArrayBufferView {
  return (
    value instanceof Int8Array || value instanceof Uint8Array || value instanceof Uint8ClampedArray ||
    value instanceof Int16Array || value instanceof Uint16Array || value instanceof Int32Array ||
    value instanceof Uint32Array || value instanceof BigInt64Array || value instanceof BigUint64Array
  );
}

function bannedConstructor(name: string): unknown {
  return function Banned(): never {
    throw new DeterminismViolationError(
      `${name} is not available in workflows: WeakRef and FinalizationRegistry are not deterministic ` +
        `(they observe garbage collection, which happens at different moments on every replay). ` +
        `Hold a strong reference (a Map) instead, or move this code into an activity.`,
    );
  };
}

const CONSOLE_LEVELS: ReadonlyArray<readonly [string, LogLevel]> = [
  ['log', 'info'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['debug', 'debug'],
  ['trace', 'trace'],
];

function workflowConsole(activator: Activator): Readonly<Record<string, (...args: unknown[]) => void>> {
  const console: Record<string, (...args: unknown[]) => void> = {};
  for (const [method, level] of CONSOLE_LEVELS) {
    console[method] = (...args: unknown[]) => activator.log(level, args.map(formatLogArg).join(' '));
  }
  return Object.freeze(console);
}

function formatLogArg(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}
