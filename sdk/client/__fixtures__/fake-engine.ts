/**
 * An Engine for client unit tests: every call is recorded, and each method answers with what
 * the test scripted for it (a value, or a function of the arguments). A method the test did
 * not script throws, so a test cannot pass by accident through an unexpected call.
 */
import type { Engine } from '../../../engine/engine.js';

/** Each method with the engine's parameters; the answer may be anything (tests script plain values). */
type Methods = { [K in keyof Engine]: Engine[K] extends (...args: infer A) => unknown ? (...args: A) => unknown : never };
export type Script = Partial<{ [K in keyof Methods]: Methods[K] }>;

export interface FakeEngine extends Engine {
  readonly calls: { method: string; args: unknown[] }[];
  /** The arguments of every call of `method`, in order. */
  callsOf(method: keyof Engine): unknown[][];
}

export function fakeEngine(script: Script): FakeEngine {
  const calls: { method: string; args: unknown[] }[] = [];
  const target = {
    namespace: 'default',
    calls,
    callsOf: (method: string) => calls.filter((c) => c.method === method).map((c) => c.args),
  };
  return new Proxy(target, {
    get(t, prop) {
      if (prop in t) return (t as Record<string | symbol, unknown>)[prop];
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      const impl = (script as Record<string, ((...args: unknown[]) => unknown) | undefined>)[prop];
      return (...args: unknown[]) => {
        calls.push({ method: prop, args });
        if (!impl) return Promise.reject(new Error(`fake engine: unexpected call ${prop}(${JSON.stringify(args)})`));
        try {
          return Promise.resolve(impl(...args));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    },
  }) as unknown as FakeEngine;
}

/** A minimal engine description of a run. */
export function description(overrides: Record<string, unknown> = {}): never {
  return {
    namespace: 'default',
    workflowId: 'wf-1',
    runId: 'run-1',
    workflowType: 'order',
    taskQueue: 'orders',
    status: 'RUNNING',
    startTime: Date.UTC(2024, 0, 1),
    historyLength: 3,
    historySizeBytes: 420,
    searchAttributes: {},
    pendingEventCount: 0,
    pendingActivityCount: 1,
    pendingTimerCount: 0,
    ...overrides,
  } as never;
}
