import { afterEach, describe, expect, it, vi } from 'vitest';
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import type { Duration } from '../../engine/protocol/durations.js';
import { ChronicleError, InvalidArgumentError, PayloadNotSerializableError } from '../../engine/protocol/errors.js';
import type { ActivityTask } from '../../engine/protocol/tasks.js';
import { CancelledFailure } from '../workflow/errors.js';
import { Context, activityInfoFromTask, runWithContext, type Logger } from './context.js';
import * as activity from './index.js';

const task: ActivityTask = {
  taskToken: 'tok-1',
  namespace: 'default',
  workflowId: 'order-42',
  runId: 'run-1',
  workflowType: 'processOrder',
  activityType: 'chargeCard',
  activityId: '3',
  taskQueue: 'payments',
  args: [],
  attempt: 2,
  heartbeatDetails: { page: 7 },
  priority: 50,
  scheduledAt: 1_000,
  startedAt: 5_000,
  leaseExpiresAt: 65_000,
  startToCloseTimeoutMs: 60_000,
  heartbeatTimeoutMs: 10_000,
};

function makeContext(opts: { logger?: Logger } = {}) {
  const controller = new AbortController();
  const heartbeats: unknown[] = [];
  const ctx = new Context(activityInfoFromTask(task), {
    heartbeat: (details) => heartbeats.push(details),
    signal: controller.signal,
    logger: opts.logger,
  });
  return { ctx, controller, heartbeats };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('activityInfoFromTask', () => {
  it('maps the task to Temporal-named fields', () => {
    expect(activityInfoFromTask(task)).toEqual({
      taskToken: 'tok-1',
      activityId: '3',
      activityType: 'chargeCard',
      workflowId: 'order-42',
      runId: 'run-1',
      workflowType: 'processOrder',
      taskQueue: 'payments',
      namespace: 'default',
      attempt: 2,
      heartbeatDetails: { page: 7 },
      scheduledTimestampMs: 1_000,
      startedTimestampMs: 5_000,
      currentAttemptScheduledTimestampMs: 5_000,
      startToCloseTimeoutMs: 60_000,
      heartbeatTimeoutMs: 10_000,
      scheduleToCloseTimeoutMs: undefined,
      priority: 50,
      isLocal: false,
    });
    expect(activityInfoFromTask({ ...task, attempt: 1 }).currentAttemptScheduledTimestampMs).toBe(1_000);
    expect(activityInfoFromTask(task, { isLocal: true }).isLocal).toBe(true);
  });
});

describe('Context.current', () => {
  it('returns the context inside runWithContext, across awaits', async () => {
    const { ctx } = makeContext();
    const seen = await runWithContext(ctx, async () => {
      const before = Context.current();
      await new Promise((r) => setTimeout(r, 1));
      return [before, Context.current(), activity.activityInfo()] as const;
    });
    expect(seen[0]).toBe(ctx);
    expect(seen[1]).toBe(ctx);
    expect(seen[2]).toBe(ctx.info);
    expect(seen[2].attempt).toBe(2);
  });

  it('keeps concurrent activities apart', async () => {
    const a = makeContext().ctx;
    const b = makeContext().ctx;
    const [ra, rb] = await Promise.all([
      runWithContext(a, async () => {
        await new Promise((r) => setTimeout(r, 5));
        return Context.current();
      }),
      runWithContext(b, async () => Context.current()),
    ]);
    expect(ra).toBe(a);
    expect(rb).toBe(b);
  });

  it('throws CHR_NOT_IN_ACTIVITY_CONTEXT outside an activity', () => {
    let caught: unknown;
    try {
      Context.current();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ChronicleError);
    expect((caught as ChronicleError).code).toBe(ERROR_CODES.NOT_IN_ACTIVITY_CONTEXT);
    expect((caught as Error).message).toMatch(/outside an activity/);
    expect(() => activity.heartbeat()).toThrow(/outside an activity/);
    expect(() => activity.cancellationSignal()).toThrow(/outside an activity/);
  });

  it('is gone once runWithContext has returned', async () => {
    const { ctx } = makeContext();
    await runWithContext(ctx, async () => undefined);
    expect(() => Context.current()).toThrow(ChronicleError);
  });
});

describe('heartbeat', () => {
  it('calls the worker callback with the details', async () => {
    const { ctx, heartbeats } = makeContext();
    ctx.heartbeat({ page: 8 });
    ctx.heartbeat();
    await runWithContext(ctx, async () => activity.heartbeat(9));
    expect(heartbeats).toEqual([{ page: 8 }, undefined, 9]);
  });

  it('refuses details JSON cannot carry, at the call, without calling the worker', () => {
    const { ctx, heartbeats } = makeContext();
    expect(() => ctx.heartbeat({ seen: new Set([1]) })).toThrow(PayloadNotSerializableError);
    expect(() => ctx.heartbeat({ seen: new Set([1]) })).toThrow(/details\.seen is a Set/);
    expect(heartbeats).toEqual([]);
  });
});

describe('sleep', () => {
  it('resolves after the given time, in ms or as a duration string', async () => {
    vi.useFakeTimers();
    const { ctx } = makeContext();
    for (const [ms, expected] of [
      [1500, 1500],
      ['2s', 2000],
      ['1 minute', 60_000],
    ] as const) {
      let done = false;
      const p = ctx.sleep(ms).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(expected - 1);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(done).toBe(true);
      await p;
    }
  });

  it('waits out delays longer than setTimeout can hold (2^31 − 1 ms)', async () => {
    vi.useFakeTimers();
    const { ctx } = makeContext();
    let done = false;
    void ctx.sleep('30 days').then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(25 * 86_400_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(5 * 86_400_000);
    expect(done).toBe(true);
  });

  it('rejects with CancelledFailure when the signal aborts first, and clears its timer', async () => {
    vi.useFakeTimers();
    const { ctx, controller } = makeContext();
    const p = ctx.sleep('1h');
    await vi.advanceTimersByTimeAsync(1000);
    controller.abort('CANCELLED');
    await expect(p).rejects.toBeInstanceOf(CancelledFailure);
    await expect(p).rejects.toThrow('CANCELLED');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when already cancelled', async () => {
    const { ctx, controller } = makeContext();
    controller.abort();
    await expect(ctx.sleep(10)).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('rejects an invalid duration with the field named', async () => {
    const { ctx } = makeContext();
    await expect(ctx.sleep('soon' as Duration)).rejects.toThrow(InvalidArgumentError);
    await expect(ctx.sleep(Number.NaN)).rejects.toThrow(/^sleep\(ms\): /);
  });

  it('treats zero and negative durations as the next timer tick', async () => {
    vi.useFakeTimers();
    const { ctx } = makeContext();
    const p = Promise.all([ctx.sleep(0), ctx.sleep(-5)]);
    await vi.advanceTimersByTimeAsync(0);
    await p;
  });
});

describe('cancellation', () => {
  it('aborts cancellationSignal and rejects cancelled with the same CancelledFailure sleep gets', async () => {
    const { ctx, controller } = makeContext();
    const signal = await runWithContext(ctx, async () => activity.cancellationSignal());
    expect(signal).toBe(ctx.cancellationSignal);
    expect(signal.aborted).toBe(false);
    const sleeping = ctx.sleep(60_000);
    controller.abort();
    expect(signal.aborted).toBe(true);
    const failure = await ctx.cancelled.catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CancelledFailure);
    expect((failure as Error).message).toBe('Activity cancelled');
    await expect(sleeping).rejects.toBe(failure);
  });

  it('uses a CancelledFailure given as the abort reason as is', async () => {
    const { ctx, controller } = makeContext();
    const reason = new CancelledFailure('TIMED_OUT');
    controller.abort(reason);
    await expect(ctx.cancelled).rejects.toBe(reason);
  });

  it('does not raise an unhandled rejection when nobody awaits cancelled', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const { controller } = makeContext();
      controller.abort();
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});

describe('log', () => {
  it('prefixes the activity type and attempt', async () => {
    const lines: [string, string, unknown][] = [];
    const logger: Logger = {
      debug: (m, a) => lines.push(['debug', m, a]),
      info: (m, a) => lines.push(['info', m, a]),
      warn: (m, a) => lines.push(['warn', m, a]),
      error: (m, a) => lines.push(['error', m, a]),
    };
    const { ctx } = makeContext({ logger });
    ctx.log.info('charging', { amount: 5 });
    await runWithContext(ctx, async () => activity.log.warn('slow'));
    expect(lines).toEqual([
      ['info', '[chargeCard attempt 2] charging', { amount: 5 }],
      ['warn', '[chargeCard attempt 2] slow', undefined],
    ]);
  });
});

describe('CompleteAsyncError', () => {
  it('has a stable name and a brand-based instanceof', () => {
    const err = new activity.CompleteAsyncError();
    expect(err.name).toBe('CompleteAsyncError');
    expect(err).toBeInstanceOf(activity.CompleteAsyncError);
    expect(err).toBeInstanceOf(Error);
    expect(new Error('x')).not.toBeInstanceOf(activity.CompleteAsyncError);
    // A copy of the class from another module instance recognises it through the brand.
    const foreign = Object.assign(new Error('x'), { [Symbol.for('chronicle.CompleteAsyncError')]: true });
    expect(foreign instanceof activity.CompleteAsyncError).toBe(true);
  });
});
