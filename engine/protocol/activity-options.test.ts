import { describe, expect, it } from 'vitest';
import { resolveActivityOptions, resolveRetryPolicy, type ActivityOptions } from './activity-options.js';
import { InvalidArgumentError } from './errors.js';

function invalid(options: unknown): InvalidArgumentError {
  try {
    resolveActivityOptions(options as ActivityOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('CHR_INVALID_ARGUMENT');
    return err as InvalidArgumentError;
  }
  throw new Error('expected InvalidArgumentError');
}

describe('resolveActivityOptions', () => {
  it('fills every default (Temporal retry defaults, Chronicle jitter and priority)', () => {
    expect(resolveActivityOptions({ startToCloseTimeout: '1 minute' })).toEqual({
      options: {
        startToCloseTimeoutMs: 60_000,
        retry: { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 100_000, maximumAttempts: 0, nonRetryableErrorTypes: [], jitter: 0.25 },
        priority: 50,
      },
    });
  });

  it('converts every duration and keeps the task queue', () => {
    const resolved = resolveActivityOptions({
      startToCloseTimeout: 30_000,
      scheduleToCloseTimeout: '5m',
      heartbeatTimeout: '10s',
      retry: { initialInterval: '500ms', backoffCoefficient: 1.5, maximumInterval: '1 minute', maximumAttempts: 4, nonRetryableErrorTypes: ['CardDeclined'], jitter: 0 },
      priority: 90,
      taskQueue: 'payments',
    });
    expect(resolved).toEqual({
      taskQueue: 'payments',
      options: {
        startToCloseTimeoutMs: 30_000,
        scheduleToCloseTimeoutMs: 300_000,
        heartbeatTimeoutMs: 10_000,
        retry: { initialIntervalMs: 500, backoffCoefficient: 1.5, maximumIntervalMs: 60_000, maximumAttempts: 4, nonRetryableErrorTypes: ['CardDeclined'], jitter: 0 },
        priority: 90,
      },
    });
  });

  it('uses scheduleToCloseTimeout as startToCloseTimeout when only it is set, and caps startToClose by it', () => {
    expect(resolveActivityOptions({ scheduleToCloseTimeout: '2m' }).options.startToCloseTimeoutMs).toBe(120_000);
    expect(resolveActivityOptions({ scheduleToCloseTimeout: '2m', startToCloseTimeout: '1h' }).options.startToCloseTimeoutMs).toBe(120_000);
  });

  it('defaults maximumInterval to 100 × initialInterval', () => {
    expect(resolveRetryPolicy({ initialInterval: '2s' }).maximumIntervalMs).toBe(200_000);
  });

  it('treats maximumAttempts Infinity as unlimited (0), as Temporal does', () => {
    expect(resolveRetryPolicy({ maximumAttempts: Infinity }).maximumAttempts).toBe(0);
  });

  it('requires a timeout', () => {
    const err = invalid({ retry: { maximumAttempts: 2 } });
    expect(err.field).toBe('startToCloseTimeout');
    expect(err.message).toBe(
      "startToCloseTimeout: either startToCloseTimeout or scheduleToCloseTimeout is required; set startToCloseTimeout to the longest one attempt may run (for example '1 minute')",
    );
  });

  it('refuses a negative interval, naming the field and echoing the value', () => {
    const err = invalid({ startToCloseTimeout: '1m', retry: { initialInterval: -5 } });
    expect(err.field).toBe('retry.initialInterval');
    expect(err.message).toBe("retry.initialInterval: -5ms must be a positive duration, for example '1s' or 1000");
  });

  it('refuses NaN and malformed durations', () => {
    expect(invalid({ startToCloseTimeout: NaN }).field).toBe('startToCloseTimeout');
    expect(invalid({ startToCloseTimeout: '1m', heartbeatTimeout: 'soon' }).message).toContain("heartbeatTimeout: 'soon' is not a duration");
  });

  it('refuses maximumInterval < initialInterval with the fix', () => {
    const err = invalid({ startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '500ms' } });
    expect(err.field).toBe('retry.maximumInterval');
    expect(err.message).toBe('retry.maximumInterval: 500ms cannot be less than retry.initialInterval (1s); raise maximumInterval or lower initialInterval');
  });

  it('compares maximumInterval with the default initialInterval too', () => {
    expect(invalid({ startToCloseTimeout: '1m', retry: { maximumInterval: 200 } }).message).toBe(
      'retry.maximumInterval: 200ms cannot be less than retry.initialInterval (1s, the default); raise maximumInterval or lower initialInterval',
    );
  });

  it('refuses backoffCoefficient < 1', () => {
    const err = invalid({ startToCloseTimeout: '1m', retry: { backoffCoefficient: 0.5 } });
    expect(err.field).toBe('retry.backoffCoefficient');
    expect(err.message).toContain('0.5 must be a number of at least 1');
  });

  it.each([101, -1, 2.5, '50'])('refuses priority %j', (priority) => {
    const err = invalid({ startToCloseTimeout: '1m', priority });
    expect(err.field).toBe('priority');
    expect(err.message).toBe(`priority: ${String(priority)} must be an integer from 0 to 100 (higher runs first; default 50)`);
  });

  it.each([-1, 1.5])('refuses maximumAttempts %d', (maximumAttempts) => {
    const err = invalid({ startToCloseTimeout: '1m', retry: { maximumAttempts } });
    expect(err.field).toBe('retry.maximumAttempts');
    expect(err.message).toContain('must be a non-negative integer');
  });

  it('refuses jitter outside [0, 1], bad error type lists, empty task queues, non-objects', () => {
    expect(invalid({ startToCloseTimeout: '1m', retry: { jitter: 1.5 } }).field).toBe('retry.jitter');
    expect(invalid({ startToCloseTimeout: '1m', retry: { nonRetryableErrorTypes: [1] } }).field).toBe('retry.nonRetryableErrorTypes');
    expect(invalid({ startToCloseTimeout: '1m', taskQueue: ' ' }).field).toBe('taskQueue');
    expect(invalid(undefined).field).toBe('options');
    expect(invalid({ startToCloseTimeout: '1m', retry: 5 }).field).toBe('retry');
  });

  it('prefixes field names when asked', () => {
    expect(() => resolveActivityOptions({ startToCloseTimeout: '1m', priority: 101 }, 'options')).toThrow(/^options\.priority: 101/);
  });
});
