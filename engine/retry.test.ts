import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './protocol/errors.js';
import type { FailureInfo } from './protocol/failures.js';
import type { ResolvedRetryPolicy } from './protocol/retry-policy.js';
import { decideRetry, isRetryableFailure, jitteredDelayMs, nominalDelayMs, seededRandom } from './retry.js';

/** Temporal's defaults (initial 1 s, ×2, cap 100 × initial, unlimited) without jitter. */
const temporalDefaults: ResolvedRetryPolicy = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 100_000,
  maximumAttempts: 0,
  nonRetryableErrorTypes: [],
  jitter: 0,
};
const withJitter = (jitter: number, base: Partial<ResolvedRetryPolicy> = {}): ResolvedRetryPolicy => ({
  ...temporalDefaults,
  ...base,
  jitter,
});

const appFailure = (extra: Partial<FailureInfo> = {}): FailureInfo => ({
  failureType: 'application',
  message: 'boom',
  type: 'Error',
  ...extra,
});
const timeout = (timeoutType: FailureInfo['timeoutType']): FailureInfo => ({
  failureType: 'timeout',
  message: `activity ${timeoutType} timeout`,
  timeoutType,
});
const NOW = 1_700_000_000_000;
const neverCalled = (): number => {
  throw new Error('random must not be called');
};

describe('nominalDelayMs', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 32_000],
    [7, 64_000],
    [8, 100_000], // 128 s capped at maximumInterval
    [9, 100_000],
    [50, 100_000],
    [5000, 100_000], // 2^4999 overflows to Infinity; the cap still wins
  ])('after attempt %i waits %i ms with Temporal defaults', (attempt, expected) => {
    expect(nominalDelayMs(temporalDefaults, attempt)).toBe(expected);
  });

  it.each([
    [{ initialIntervalMs: 200, backoffCoefficient: 1.5, maximumIntervalMs: 1000 }, [200, 300, 450, 675, 1000, 1000]],
    [{ initialIntervalMs: 500, backoffCoefficient: 1, maximumIntervalMs: 500 }, [500, 500, 500, 500, 500, 500]],
    [{ initialIntervalMs: 100, backoffCoefficient: 3, maximumIntervalMs: 5000 }, [100, 300, 900, 2700, 5000, 5000]],
  ])('follows initial × coefficient^(attempt−1) capped at maximum: %o', (p, expected) => {
    const policy = { ...temporalDefaults, ...p };
    expect(expected.map((_, i) => nominalDelayMs(policy, i + 1))).toEqual(expected);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects attempt %s with the field named', (attempt) => {
    expect(() => nominalDelayMs(temporalDefaults, attempt)).toThrow(InvalidArgumentError);
    expect(() => nominalDelayMs(temporalDefaults, attempt)).toThrow(/^attempt: should be an integer ≥ 1/);
  });
});

describe('jitteredDelayMs', () => {
  it('returns exactly the nominal delay with jitter 0 and never consumes randomness', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      expect(jitteredDelayMs(temporalDefaults, attempt, neverCalled)).toBe(nominalDelayMs(temporalDefaults, attempt));
    }
  });

  it('rounds to whole milliseconds', () => {
    const policy = withJitter(0, { initialIntervalMs: 3, backoffCoefficient: 1.5 });
    expect(jitteredDelayMs(policy, 2, neverCalled)).toBe(5); // 4.5 → 5
    expect(jitteredDelayMs(withJitter(0.25, { initialIntervalMs: 3 }), 1, () => 0.5)).toBe(3);
  });

  it('maps the ends of the random range to 1 − jitter and 1 + jitter', () => {
    const policy = withJitter(0.25);
    expect(jitteredDelayMs(policy, 1, () => 0)).toBe(750);
    expect(jitteredDelayMs(policy, 1, () => 0.5)).toBe(1000);
    expect(jitteredDelayMs(policy, 1, () => 0.999_999_9)).toBe(1250);
  });

  it.each([0.1, 0.25, 0.5, 1])('stays within ±%s of nominal for every attempt over 1,000 seeds', (jitter) => {
    const policy = withJitter(jitter);
    // Collect violations and assert once: 10,000 separate expect() calls cost seconds.
    const outOfBounds: string[] = [];
    for (let seed = 0; seed < 1000; seed++) {
      const random = seededRandom(seed);
      for (let attempt = 1; attempt <= 10; attempt++) {
        const nominal = nominalDelayMs(policy, attempt);
        const d = jitteredDelayMs(policy, attempt, random);
        const ok = Number.isInteger(d) && d >= Math.floor(nominal * (1 - jitter)) && d <= Math.ceil(nominal * (1 + jitter));
        if (!ok) outOfBounds.push(`seed ${seed} attempt ${attempt}: ${d} (nominal ${nominal})`);
      }
    }
    expect(outOfBounds).toEqual([]);
  });

  it('is never negative, even for a jitter above 1 or a misbehaving random source', () => {
    expect(jitteredDelayMs(withJitter(3), 1, () => 0)).toBe(0);
    expect(jitteredDelayMs(withJitter(0.5), 1, () => -5)).toBe(0);
  });

  it('has a mean within 2 % of nominal over 10,000 seeded draws (the factor has mean 1)', () => {
    for (const [seed, jitter] of [
      [1, 0.25],
      [42, 0.5],
      [20240601, 1],
    ] as const) {
      const policy = withJitter(jitter);
      const random = seededRandom(seed);
      for (const attempt of [1, 4, 10]) {
        const nominal = nominalDelayMs(policy, attempt);
        let sum = 0;
        for (let i = 0; i < 10_000; i++) sum += jitteredDelayMs(policy, attempt, random);
        const mean = sum / 10_000;
        expect(Math.abs(mean - nominal) / nominal).toBeLessThan(0.02);
      }
    }
  });
});

describe('decideRetry', () => {
  const base = { policy: temporalDefaults, now: NOW, random: neverCalled };

  it('retries a plain failure after the nominal delay as the next attempt', () => {
    expect(decideRetry({ ...base, attempt: 1, failure: appFailure() })).toEqual({ retry: true, delayMs: 1000, nextAttempt: 2 });
    expect(decideRetry({ ...base, attempt: 3, failure: appFailure() })).toEqual({ retry: true, delayMs: 4000, nextAttempt: 4 });
  });

  it('uses the injected random source for the delay', () => {
    const decision = decideRetry({ ...base, policy: withJitter(0.25), attempt: 1, failure: appFailure(), random: () => 0 });
    expect(decision).toEqual({ retry: true, delayMs: 750, nextAttempt: 2 });
  });

  it('stops a failure marked nonRetryable after one attempt, even with attempts left', () => {
    const policy = { ...temporalDefaults, maximumAttempts: 5 };
    expect(decideRetry({ ...base, policy, attempt: 1, failure: appFailure({ nonRetryable: true }) })).toEqual({
      retry: false,
      retryState: 'NON_RETRYABLE_FAILURE',
    });
  });

  it('stops a failure whose type is listed in nonRetryableErrorTypes (exact match only)', () => {
    const policy = { ...temporalDefaults, nonRetryableErrorTypes: ['InvalidAccount', 'TypeError'] };
    for (const type of ['InvalidAccount', 'TypeError']) {
      expect(decideRetry({ ...base, policy, attempt: 1, failure: appFailure({ type }) })).toEqual({
        retry: false,
        retryState: 'NON_RETRYABLE_FAILURE',
      });
    }
    for (const type of ['InvalidAccountX', 'invalidaccount', 'Error', undefined]) {
      expect(decideRetry({ ...base, policy, attempt: 1, failure: appFailure({ type }) }).retry).toBe(true);
    }
  });

  it('reports NON_RETRYABLE_FAILURE rather than MAXIMUM_ATTEMPTS_REACHED on the last attempt', () => {
    const policy = { ...temporalDefaults, maximumAttempts: 2 };
    expect(decideRetry({ ...base, policy, attempt: 2, failure: appFailure({ nonRetryable: true }) })).toEqual({
      retry: false,
      retryState: 'NON_RETRYABLE_FAILURE',
    });
  });

  it('never retries cancelled or terminated failures', () => {
    for (const failureType of ['cancelled', 'terminated'] as const) {
      expect(decideRetry({ ...base, attempt: 1, failure: { failureType, message: 'stop' } })).toEqual({
        retry: false,
        retryState: 'NON_RETRYABLE_FAILURE',
      });
    }
  });

  it('retries START_TO_CLOSE and HEARTBEAT timeouts', () => {
    for (const t of ['START_TO_CLOSE', 'HEARTBEAT'] as const) {
      expect(decideRetry({ ...base, attempt: 1, failure: timeout(t) })).toEqual({ retry: true, delayMs: 1000, nextAttempt: 2 });
    }
  });

  it.each([
    ['START_TO_CLOSE', 'START_TO_CLOSE'],
    ['START_TO_CLOSE', 'TemporalTimeout:StartToClose'],
    ['HEARTBEAT', 'HEARTBEAT'],
    ['HEARTBEAT', 'TemporalTimeout:Heartbeat'],
  ] as const)('stops a %s timeout when nonRetryableErrorTypes lists %s', (timeoutType, listed) => {
    const policy = { ...temporalDefaults, nonRetryableErrorTypes: [listed] };
    expect(decideRetry({ ...base, policy, attempt: 1, failure: timeout(timeoutType) })).toEqual({
      retry: false,
      retryState: 'NON_RETRYABLE_FAILURE',
    });
    const other = timeoutType === 'HEARTBEAT' ? 'START_TO_CLOSE' : 'HEARTBEAT';
    expect(decideRetry({ ...base, policy, attempt: 1, failure: timeout(other) }).retry).toBe(true);
  });

  it('ends a SCHEDULE_TO_CLOSE timeout with TIMEOUT: it bounds every attempt', () => {
    expect(decideRetry({ ...base, attempt: 1, failure: timeout('SCHEDULE_TO_CLOSE') })).toEqual({ retry: false, retryState: 'TIMEOUT' });
  });

  it('respects maximumAttempts', () => {
    const policy = { ...temporalDefaults, maximumAttempts: 3 };
    expect(decideRetry({ ...base, policy, attempt: 1, failure: appFailure() })).toMatchObject({ retry: true, nextAttempt: 2 });
    expect(decideRetry({ ...base, policy, attempt: 2, failure: appFailure() })).toMatchObject({ retry: true, nextAttempt: 3 });
    expect(decideRetry({ ...base, policy, attempt: 3, failure: appFailure() })).toEqual({
      retry: false,
      retryState: 'MAXIMUM_ATTEMPTS_REACHED',
    });
  });

  it('gives exactly one attempt with maximumAttempts 1', () => {
    const policy = { ...temporalDefaults, maximumAttempts: 1 };
    expect(decideRetry({ ...base, policy, attempt: 1, failure: appFailure() })).toEqual({
      retry: false,
      retryState: 'MAXIMUM_ATTEMPTS_REACHED',
    });
  });

  it('retries without limit when maximumAttempts is 0, at the capped interval', () => {
    for (const attempt of [1, 10, 100, 10_000, 1_000_000]) {
      expect(decideRetry({ ...base, attempt, failure: appFailure() })).toEqual({
        retry: true,
        delayMs: Math.min(100_000, 1000 * 2 ** (attempt - 1)),
        nextAttempt: attempt + 1,
      });
    }
  });

  it('stops with TIMEOUT when the next backoff would reach the schedule-to-close deadline', () => {
    const failure = appFailure();
    // Attempt 3 fails; the next delay is 4 s.
    expect(decideRetry({ ...base, attempt: 3, failure, scheduleToCloseDeadline: NOW + 4001 })).toEqual({
      retry: true,
      delayMs: 4000,
      nextAttempt: 4,
    });
    expect(decideRetry({ ...base, attempt: 3, failure, scheduleToCloseDeadline: NOW + 4000 })).toEqual({
      retry: false,
      retryState: 'TIMEOUT',
    });
    expect(decideRetry({ ...base, attempt: 3, failure, scheduleToCloseDeadline: NOW - 1 })).toEqual({
      retry: false,
      retryState: 'TIMEOUT',
    });
  });

  it('compares the jittered delay, not the nominal one, with the deadline', () => {
    const policy = withJitter(0.5);
    const args = { ...base, policy, attempt: 1, failure: appFailure(), scheduleToCloseDeadline: NOW + 1200 };
    expect(decideRetry({ ...args, random: () => 0 })).toEqual({ retry: true, delayMs: 500, nextAttempt: 2 });
    expect(decideRetry({ ...args, random: () => 0.99 })).toEqual({ retry: false, retryState: 'TIMEOUT' });
  });

  it('lets maximumAttempts win over a deadline still far away, and a far deadline not stop retries', () => {
    const policy = { ...temporalDefaults, maximumAttempts: 2 };
    const far = NOW + 86_400_000;
    expect(decideRetry({ ...base, policy, attempt: 2, failure: appFailure(), scheduleToCloseDeadline: far })).toEqual({
      retry: false,
      retryState: 'MAXIMUM_ATTEMPTS_REACHED',
    });
    expect(decideRetry({ ...base, attempt: 1, failure: appFailure(), scheduleToCloseDeadline: far }).retry).toBe(true);
  });
});

describe('isRetryableFailure', () => {
  it('treats failures without a type as retryable', () => {
    expect(isRetryableFailure({ failureType: 'application', message: 'x' }, ['Error'])).toBe(true);
  });
});

describe('seededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const take = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 5 }, () => r());
    };
    expect(take(7)).toEqual(take(7));
    expect(take(7)).not.toEqual(take(8));
  });

  it('returns values in [0, 1) spread over the whole range', () => {
    const r = seededRandom(123);
    const buckets = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r();
      if (x >= 0 && x < 1) buckets[Math.floor(x * 10)]!++;
      else outside++;
    }
    expect(outside).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});
