import { AsyncLocalStorage } from 'node:async_hooks';
import vm from 'node:vm';
import type { Logger } from '../../engine/logger.js';
import type { Activation, LocalActivityRequest, QueryOutcome, WorkflowRunInfo } from '../../engine/protocol/activation.js';
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import type { WorkflowCommand } from '../../engine/protocol/commands.js';
import { ChronicleError } from '../../engine/protocol/errors.js';
import { toFailureInfo, type FailureInfo } from '../../engine/protocol/failures.js';
import type { ActivationOutcome, LogLevel } from '../workflow/activator.js';
import { BUNDLE_GLOBAL, type WorkflowBundle } from './bundler.js';

/**
 * What one activation of a sandbox produced:
 * - `{ commands, localActivities? }`: the commands to complete the workflow task with, and
 *   the local activities the workflow asked for, which must run (and be answered with
 *   ResolveLocalActivity jobs in a further activation) before the task completes;
 * - `{ kind: 'WORKFLOW_ERROR', error }`: workflow code threw a plain Error (not a
 *   TemporalFailure), or failed otherwise; the workflow *task* fails and is retried, the run
 *   stays open;
 * - `{ kind: 'DEADLOCK', error }`: workflow code ran past the deadlock timeout without
 *   yielding (WorkflowDeadlockError).
 * After either error the sandbox must be disposed (evicted), never activated again.
 */
export type ActivationResult =
  | { readonly commands: WorkflowCommand[]; readonly localActivities?: LocalActivityRequest[] }
  | { readonly error: FailureInfo; readonly kind: 'WORKFLOW_ERROR' | 'DEADLOCK' };

export interface SandboxOptions {
  /** How long one activation may run without yielding. Default 2000 ms. */
  readonly deadlockTimeoutMs?: number;
  /** Receives workflow `console.*`/`log.*` lines (not during replay). Default: dropped. */
  readonly logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

/** One workflow run's isolated realm. Activations are synchronous. */
export interface WorkflowSandbox {
  readonly info: WorkflowRunInfo;
  /** False once the sandbox deadlocked, failed, or was disposed. */
  readonly usable: boolean;
  /**
   * Runs the activation's jobs, lets every resulting promise continuation run (the
   * sandbox's microtask queue is drained under the deadlock timeout), and returns what the
   * workflow produced. Never throws for workflow errors or deadlocks: they are results.
   * @throws Error when called on a sandbox that is not `usable`.
   */
  activate(activation: Activation): ActivationResult;
  /**
   * Runs a query handler against the sandbox's current state (call it between activations).
   * Never throws for workflow errors: an unknown query type, a throwing handler or a handler
   * that ran past the deadlock timeout (which breaks the sandbox) is a `{ failure }` outcome.
   * @throws Error when called on a sandbox that is not `usable`.
   */
  query(queryType: string, args: readonly unknown[]): QueryOutcome;
  /** Drops the context. Idempotent. */
  dispose(): void;
}

export interface WorkflowSandboxFactory {
  readonly workflowTypes: readonly string[];
  /**
   * A fresh `node:vm` context for one run: the bundle is evaluated in it (module top-level
   * code runs once per run, under the deterministic globals seeded from `info.runId`).
   * Keep the sandbox for as long as the run stays cached, not per workflow task.
   * @throws WorkflowDeadlockError when module top-level code does not finish in time; the
   *   error of module top-level code when it throws.
   */
  create(info: WorkflowRunInfo): WorkflowSandbox;
}

/** Workflow code did not yield within the deadlock timeout. The sandbox is unusable afterwards. */
export class WorkflowDeadlockError extends ChronicleError {
  readonly timeoutMs: number;
  readonly workflowId: string;
  readonly runId: string;
  /** What a worker reports to `failWorkflowTask` as the cause. */
  readonly taskFailureCause = 'DEADLOCK' as const;
  constructor(timeoutMs: number, info: Pick<WorkflowRunInfo, 'workflowId' | 'runId' | 'workflowType'>) {
    super(
      ERROR_CODES.WORKFLOW_DEADLOCK,
      `Workflow '${info.workflowId}' (run ${info.runId}, type ${info.workflowType}) ran for more than ${timeoutMs} ms without yielding. ` +
        `Workflow code must not block: look for an endless loop or heavy synchronous computation, and move long work into an activity. ` +
        `The workflow task fails and is retried.`,
    );
    this.timeoutMs = timeoutMs;
    this.workflowId = info.workflowId;
    this.runId = info.runId;
  }
}

// The host's side of the sandbox protocol (sdk/workflow/worker-interface.ts), compiled once.
const ACTIVATE_SCRIPT = new vm.Script(`${BUNDLE_GLOBAL}.activate(globalThis.__chronicleInput); delete globalThis.__chronicleInput;`, {
  filename: 'chronicle-activate.js',
});
const UNBLOCK_SCRIPT = new vm.Script(`${BUNDLE_GLOBAL}.unblock()`, { filename: 'chronicle-unblock.js' });
const CONCLUDE_SCRIPT = new vm.Script(`${BUNDLE_GLOBAL}.conclude()`, { filename: 'chronicle-conclude.js' });
const QUERY_SCRIPT = new vm.Script(
  `(() => { const q = JSON.parse(globalThis.__chronicleInput); delete globalThis.__chronicleInput; return ${BUNDLE_GLOBAL}.query(q.queryType, JSON.stringify(q.args)); })()`,
  { filename: 'chronicle-query.js' },
);

/**
 * The async-context store behind every sandbox's `CancellationScope.current()`: ONE
 * AsyncLocalStorage for the whole process, not one per sandbox. Each enabled instance adds
 * work to every promise the process creates (Node 20 copies each instance's store into every
 * new async resource), so per-sandbox instances made the worker slower with every cached
 * run: with 1000 cached runs, 200,000 awaits took 48 s instead of 15 ms. Sandboxes only get
 * `run` and `getStore` (never `disable`); the host enters every sandbox with the store
 * cleared (`enter`), and a sandbox ignores a store that is not one of its own scopes.
 */
const scopeStorage = new AsyncLocalStorage<unknown>();
const SANDBOX_SCOPE_STORAGE = Object.freeze({
  run: <R>(store: unknown, fn: () => R): R => scopeStorage.run(store, fn),
  getStore: (): unknown => scopeStorage.getStore(),
});

/**
 * Runs a host → sandbox call outside any scope a sandbox may have left in the host's async
 * context. `run(undefined, …)` rather than `exit`, which toggles the process's async hooks.
 */
function enter<T>(fn: () => T): T {
  return scopeStorage.getStore() === undefined ? fn() : scopeStorage.run(undefined, fn);
}

/**
 * Most rounds of "drain the microtasks, check the conditions" in one activation. Each round
 * resolves at least one condition; workflow code that keeps creating conditions that hold at
 * once would loop forever, so past this many rounds the activation is a deadlock.
 */
const MAX_UNBLOCK_ROUNDS = 10_000;

/**
 * Prepares a workflow bundle for running: the bundle is compiled once (`vm.Script`) and
 * evaluated in a fresh context per run by `create`.
 *
 * Isolation: each context gets only what the bundle's runtime installs (deterministic
 * `Date`, `Math.random`, timers, `crypto`, a logging `console`); there is no `process`,
 * `require`, `Buffer` or I/O. Data crosses the boundary as JSON strings only. `node:vm` is a
 * determinism boundary, not a security boundary: do not run untrusted workflow code.
 */
export function createSandboxFactory(bundle: WorkflowBundle, options: SandboxOptions = {}): WorkflowSandboxFactory {
  const timeoutMs = options.deadlockTimeoutMs ?? 2000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`deadlockTimeoutMs must be a positive integer number of milliseconds, got ${String(timeoutMs)}`);
  }
  const script = new vm.Script(bundle.code, { filename: 'chronicle-workflow-bundle.js' });
  return {
    workflowTypes: bundle.workflowTypes,
    create: (info) => new VmWorkflowSandbox(script, info, timeoutMs, options.logger),
  };
}

class VmWorkflowSandbox implements WorkflowSandbox {
  readonly info: WorkflowRunInfo;
  private context: vm.Context | undefined;
  private broken = false;

  constructor(
    script: vm.Script,
    info: WorkflowRunInfo,
    private readonly timeoutMs: number,
    private readonly logger: SandboxOptions['logger'],
  ) {
    this.info = info;
    const context = vm.createContext(Object.create(null), {
      name: `chronicle workflow ${info.workflowId} ${info.runId}`,
      // Microtasks run at the end of each runInContext call, inside its timeout: an activation
      // is over when this returns, and a promise loop that never yields is a deadlock too.
      microtaskMode: 'afterEvaluate',
    });
    const globals = context as Record<string, unknown>;
    globals.__chronicleBootstrap = JSON.stringify({ info });
    globals.__chronicleHostLog = (level: string, message: string, attributesJson: string) => this.hostLog(level, message, attributesJson);
    // CancellationScope.current() follows the workflow across awaits through it (works across
    // node:vm with microtaskMode 'afterEvaluate': sdk/worker/workflow-run.cancellation.test.ts).
    globals.__chronicleScopeStorage = SANDBOX_SCOPE_STORAGE;
    try {
      enter(() => script.runInContext(context, { timeout: timeoutMs }));
    } catch (err) {
      if (isTimeout(err)) throw new WorkflowDeadlockError(timeoutMs, info);
      throw err;
    }
    this.context = context;
    registerForRejections(vm.runInContext('Promise.prototype', context) as object, this);
  }

  get usable(): boolean {
    return this.context !== undefined && !this.broken;
  }

  activate(activation: Activation): ActivationResult {
    const context = this.context;
    if (context === undefined || this.broken) {
      throw new Error(`The sandbox of workflow run ${this.info.runId} is ${this.context ? 'broken by an earlier failure' : 'disposed'}; dispose it and create a new one`);
    }
    try {
      (context as Record<string, unknown>).__chronicleInput = JSON.stringify(activation);
      enter(() => ACTIVATE_SCRIPT.runInContext(context, { timeout: this.timeoutMs }));
      // Conditions are checked again after each drain of the microtasks, until none resolves
      // (Temporal's tryUnblockConditions loop).
      let rounds = 0;
      while ((enter(() => UNBLOCK_SCRIPT.runInContext(context, { timeout: this.timeoutMs })) as number) > 0) {
        if (++rounds > MAX_UNBLOCK_ROUNDS) {
          this.broken = true;
          return { kind: 'DEADLOCK', error: toFailureInfo(new WorkflowDeadlockError(this.timeoutMs, this.info)) };
        }
      }
      const outcome = JSON.parse(enter(() => CONCLUDE_SCRIPT.runInContext(context, { timeout: this.timeoutMs })) as string) as ActivationOutcome;
      if ('error' in outcome) this.broken = true;
      return outcome;
    } catch (err) {
      this.broken = true;
      if (isTimeout(err)) return { kind: 'DEADLOCK', error: toFailureInfo(new WorkflowDeadlockError(this.timeoutMs, this.info)) };
      return { kind: 'WORKFLOW_ERROR', error: toFailureInfo(err) };
    }
  }

  query(queryType: string, args: readonly unknown[]): QueryOutcome {
    const context = this.context;
    if (context === undefined || this.broken) {
      throw new Error(`The sandbox of workflow run ${this.info.runId} is ${this.context ? 'broken by an earlier failure' : 'disposed'}; replay the run into a new sandbox to query it`);
    }
    try {
      (context as Record<string, unknown>).__chronicleInput = JSON.stringify({ queryType, args });
      return JSON.parse(enter(() => QUERY_SCRIPT.runInContext(context, { timeout: this.timeoutMs })) as string) as QueryOutcome;
    } catch (err) {
      this.broken = true; // interrupted mid-handler (or the realm misbehaved): its state is unknown
      return { failure: toFailureInfo(isTimeout(err) ? new WorkflowDeadlockError(this.timeoutMs, this.info) : err) };
    }
  }

  dispose(): void {
    if (this.context === undefined) return;
    this.context = undefined;
  }

  /** An unhandled promise rejection inside this sandbox (see `onUnhandledRejection`). */
  unhandledRejection(reason: unknown): void {
    const message = `Unhandled promise rejection in workflow ${this.info.workflowId} (run ${this.info.runId}): ${describe(reason)}`;
    this.logger?.warn(message, { workflowId: this.info.workflowId, runId: this.info.runId, workflowType: this.info.workflowType });
  }

  private hostLog(level: string, message: string, attributesJson: string): void {
    if (!this.logger) return;
    let attributes: Record<string, unknown> = {};
    try {
      attributes = JSON.parse(String(attributesJson)) as Record<string, unknown>;
    } catch {
      // keep the line, lose the attributes
    }
    const meta = { ...attributes, workflowId: this.info.workflowId, runId: this.info.runId, workflowType: this.info.workflowType, sdkComponent: 'workflow' };
    const method = LOG_METHOD[level as LogLevel] ?? 'info';
    this.logger[method](String(message), meta);
  }
}

const LOG_METHOD: Readonly<Record<LogLevel, 'debug' | 'info' | 'warn' | 'error'>> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
};

function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

function describe(reason: unknown): string {
  if (typeof reason === 'object' && reason !== null && 'message' in reason) {
    return `${String((reason as Error).name ?? 'Error')}: ${String((reason as Error).message)}`;
  }
  return String(reason);
}

// ---- unhandled rejections ------------------------------------------------------------------
//
// V8 reports promise rejections of every context to the host process, so a workflow that
// leaves a rejected promise unawaited (a cancelled activity it never awaits, say) would
// otherwise crash the worker under Node's default `--unhandled-rejections=throw`. One
// process listener, installed with the first sandbox, claims rejections of sandbox promises
// (recognised by their realm's Promise.prototype, even after the sandbox was disposed) and
// logs them. Any other rejection keeps Node's default behaviour when nobody else listens: it
// is rethrown as an uncaught exception.

const sandboxByPromisePrototype = new WeakMap<object, VmWorkflowSandbox>();
let listening = false;

function onUnhandledRejection(reason: unknown, promise: Promise<unknown>): void {
  const sandbox = typeof promise === 'object' && promise !== null ? sandboxByPromisePrototype.get(Object.getPrototypeOf(promise) as object) : undefined;
  if (sandbox) {
    sandbox.unhandledRejection(reason);
    return;
  }
  if (process.listenerCount('unhandledRejection') === 1) {
    process.nextTick(() => {
      throw reason;
    });
  }
}

function registerForRejections(promisePrototype: object, sandbox: VmWorkflowSandbox): void {
  sandboxByPromisePrototype.set(promisePrototype, sandbox);
  if (!listening) {
    listening = true;
    process.on('unhandledRejection', onUnhandledRejection);
  }
}
