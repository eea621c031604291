import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Activation } from '../../engine/protocol/activation.js';
import { runInfo } from './__fixtures__/history.js';
import { bundleWorkflowCode, type WorkflowBundle } from './bundler.js';
import { createSandboxFactory, WorkflowDeadlockError, type WorkflowSandbox } from './sandbox.js';

const WORKFLOWS = new URL('./__fixtures__/workflows.ts', import.meta.url).pathname;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

let bundle: WorkflowBundle;
beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS });
});

const opened: WorkflowSandbox[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.dispose();
});

function start(workflowType: string, args: unknown[] = [], options: Parameters<typeof createSandboxFactory>[1] = {}) {
  const factory = createSandboxFactory(bundle, options);
  const sandbox = factory.create(runInfo(workflowType));
  opened.push(sandbox);
  const result = sandbox.activate(activation([{ kind: 'StartWorkflow', workflowType, args }]));
  return { factory, sandbox, result };
}

function activation(jobs: Activation['jobs'], extra: Partial<Activation> = {}): Activation {
  return { timestamp: T0 + 1000, isReplaying: false, historyLength: 1, jobs, ...extra };
}

describe('createSandboxFactory', () => {
  it('refuses a non-positive deadlock timeout', () => {
    expect(() => createSandboxFactory(bundle, { deadlockTimeoutMs: 0 })).toThrow('deadlockTimeoutMs must be a positive integer');
  });

  it('exposes the bundle workflow types', () => {
    expect(createSandboxFactory(bundle).workflowTypes).toContain('sequential');
  });
});

describe('WorkflowSandbox.activate', () => {
  it('returns the commands of an activation', () => {
    const { result } = start('sequential', ['o-1']);
    expect(result).toEqual({
      commands: [expect.objectContaining({ kind: 'ScheduleActivity', seq: 1, activityType: 'reserveStock', args: ['o-1'] })],
    });
  });

  it('reports a deadlock within the timeout, and the factory still creates working sandboxes afterwards', () => {
    const began = performance.now();
    const { factory, sandbox, result } = start('infiniteLoop', [], { deadlockTimeoutMs: 150 });
    const elapsed = performance.now() - began;
    expect(result).toMatchObject({
      kind: 'DEADLOCK',
      error: { failureType: 'application', type: 'WorkflowDeadlockError', message: expect.stringContaining('ran for more than 150 ms without yielding') },
    });
    expect(elapsed).toBeLessThan(1500);
    expect(sandbox.usable).toBe(false);
    expect(() => sandbox.activate(activation([]))).toThrow('broken by an earlier failure; dispose it and create a new one');

    const fresh = factory.create(runInfo('sequential'));
    opened.push(fresh);
    expect(fresh.activate(activation([{ kind: 'StartWorkflow', workflowType: 'sequential', args: ['o-2'] }]))).toMatchObject({
      commands: [{ kind: 'ScheduleActivity', seq: 1 }],
    });
  });

  it('WorkflowDeadlockError carries code and run', () => {
    const err = new WorkflowDeadlockError(2000, runInfo('x'));
    expect([err.code, err.timeoutMs, err.workflowId]).toEqual(['CHR_WORKFLOW_DEADLOCK', 2000, 'order-1']);
  });

  it('a plain Error fails the workflow task (WORKFLOW_ERROR), not the workflow', () => {
    const { sandbox, result } = start('throwsPlainError');
    expect(result).toMatchObject({ kind: 'WORKFLOW_ERROR', error: { type: 'TypeError', message: 'a bug in workflow code' } });
    expect('error' in result && result.error.stack).toContain('throwsPlainError');
    expect(sandbox.usable).toBe(false);
  });

  it('an ApplicationFailure fails the workflow (FailWorkflow) with its type, nonRetryable flag and details', () => {
    const { result } = start('throwsApplicationFailure');
    expect(result).toEqual({
      commands: [
        {
          kind: 'FailWorkflow',
          failure: expect.objectContaining({ failureType: 'application', message: 'order rejected', type: 'OrderRejected', nonRetryable: true, details: [{ orderId: 'o-1' }] }),
        },
      ],
    });
  });

  it('WeakRef throws a clear error when constructed', () => {
    const { result } = start('usesWeakRef');
    expect(result).toMatchObject({
      kind: 'WORKFLOW_ERROR',
      error: { type: 'DeterminismViolationError', message: expect.stringMatching(/^WeakRef is not available in workflows: WeakRef and FinalizationRegistry are not deterministic/) },
    });
  });

  it('an unknown workflow type is a task failure naming the registered types', () => {
    const { result } = start('noSuchWorkflow');
    expect(result).toMatchObject({ kind: 'WORKFLOW_ERROR', error: { type: 'UnknownWorkflowTypeError', message: expect.stringContaining("named 'noSuchWorkflow' (registered: 'badArgs'") } });
  });

  it('non-JSON activity arguments and results are task failures naming where', () => {
    expect(start('badArgs').result).toMatchObject({
      kind: 'WORKFLOW_ERROR',
      error: { type: 'PayloadNotSerializableError', message: expect.stringContaining("args[0]: activity 'reserveStock': args[0] is a function") },
    });
    expect(start('badResult').result).toMatchObject({
      kind: 'WORKFLOW_ERROR',
      error: { type: 'PayloadNotSerializableError', message: expect.stringContaining('result is a Map') },
    });
  });

  it('routes console and log lines to the logger with the run ids, and is silent while replaying', () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const { sandbox } = start('logs', [], { logger });
    expect(logger.info).toHaveBeenCalledWith('hello from logs {"n":1}', expect.objectContaining({ workflowId: 'order-1', runId: runInfo('logs').runId, workflowType: 'logs' }));
    sandbox.activate(activation([{ kind: 'FireTimer', seq: 1 }]));
    expect(logger.warn).toHaveBeenCalledWith('after the timer', expect.objectContaining({ step: 2, workflowId: 'order-1' }));

    const quiet = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const replaying = createSandboxFactory(bundle, { logger: quiet }).create(runInfo('logs'));
    opened.push(replaying);
    replaying.activate(activation([{ kind: 'StartWorkflow', workflowType: 'logs', args: [] }], { isReplaying: true }));
    replaying.activate(activation([{ kind: 'FireTimer', seq: 1 }], { isReplaying: true }));
    expect([...quiet.info.mock.calls, ...quiet.warn.mock.calls]).toEqual([]);
  });

  it('offers no Node globals (process, require, Buffer, …) and the deterministic ones instead', () => {
    const { result } = start('sandboxGlobals');
    expect(result).toEqual({
      commands: [
        {
          kind: 'CompleteWorkflow',
          result: {
            process: 'undefined', require: 'undefined', Buffer: 'undefined', setImmediate: 'undefined', fetch: 'undefined',
            setTimeout: 'function', clearTimeout: 'function', queueMicrotask: 'function', crypto: 'object', console: 'object',
            __chronicleScopeStorage: 'undefined', // taken by the runtime before user code runs
            order: 'sync,microtask',
          },
        },
      ],
    });
  });

  it('a pending activity left unawaited when the workflow is cancelled does not raise an unhandled rejection', async () => {
    const seen: unknown[] = [];
    const listener = (reason: unknown) => seen.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const { sandbox } = start('unawaitedActivity');
      const result = sandbox.activate(activation([{ kind: 'CancelWorkflow' }]));
      expect(result).toEqual({ commands: [{ kind: 'RequestCancelActivity', seq: 1 }, { kind: 'CancelTimer', seq: 1 }, { kind: 'CancelWorkflow' }] });
      await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});

describe('unhandled rejections (in a separate process, away from the test runner)', () => {
  const script = new URL('./__fixtures__/unhandled-rejection-main.ts', import.meta.url).pathname;

  it('a rejection left unhandled by workflow code is logged and the worker carries on', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script, 'sandbox'], { encoding: 'utf8' }).trim());
    expect(out.first).toEqual({ commands: [{ kind: 'StartTimer', seq: 1, durationMs: 1 }] });
    expect(out.second).toEqual({ commands: [{ kind: 'CompleteWorkflow', result: 'still fine' }] });
    expect(out.warnings).toEqual([expect.stringMatching(/^Unhandled promise rejection in workflow order-1 \(run .+\): Error: nobody handles me$/)]);
  });

  it("a host rejection still gets Node's default treatment (the process dies)", async () => {
    const { spawnSync } = await import('node:child_process');
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, 'host'], { encoding: 'utf8' });
    expect(child.status).not.toBe(0);
    expect(child.stderr).toContain('a host bug nobody handles');
  });
});

describe('CancellationScope storage (one AsyncLocalStorage for every sandbox)', () => {
  const MODEL = new URL('./__fixtures__/model.ts', import.meta.url).pathname;
  let modelBundle: WorkflowBundle;
  beforeAll(async () => {
    modelBundle = await bundleWorkflowCode({ workflowsPath: MODEL });
  });

  it('many cached sandboxes that use scopes do not slow down every promise of the process', async () => {
    const factory = createSandboxFactory(modelBundle);
    for (let i = 0; i < 300; i++) {
      const sandbox = factory.create(runInfo('scopeAcrossAwaits', { runId: `run-${i}` }));
      opened.push(sandbox);
      expect(sandbox.activate(activation([{ kind: 'StartWorkflow', workflowType: 'scopeAcrossAwaits', args: [] }]))).toMatchObject({ commands: [{ kind: 'StartTimer' }, { kind: 'StartTimer' }] });
    }
    const began = performance.now();
    for (let i = 0; i < 100_000; i++) await null;
    // One storage instance costs well under a second here; one per sandbox cost ~7 s.
    expect(performance.now() - began).toBeLessThan(2000);
  });

  it('answers queries between activations', () => {
    const { sandbox } = start('sequential', ['o-1']);
    expect(sandbox.query('__stack_trace', [])).toEqual({ result: expect.any(String) });
    expect(sandbox.query('nope', [])).toEqual({ failure: expect.objectContaining({ type: 'QueryNotRegistered' }) });
  });
});
