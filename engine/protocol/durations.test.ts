import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './durations.js';
import { InvalidArgumentError } from './errors.js';

describe('parseDuration', () => {
  it.each([
    [250, 250],
    [0, 0],
    [-5, -5],
    [1.4, 1],
    ['250', 250],
    ['500ms', 500],
    ['5s', 5000],
    ['5 s', 5000],
    ['1 minute', 60_000],
    ['2 hours', 7_200_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['1d', 86_400_000],
    ['1 week', 604_800_000],
    ['3 Seconds', 3000],
    ['10M', 600_000],
    ['  2m  ', 120_000],
    ['-1s', -1000],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseDuration(input, 'timeout')).toBe(ms);
  });

  it.each(['', 'abc', '5 parsecs', '1h30m', 's', '5 s s', '--1s', '1e3s'])('rejects the string %j, naming the field', (input) => {
    const run = () => parseDuration(input, 'retry.initialInterval');
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(`retry.initialInterval: '${input}' is not a duration; use milliseconds (250) or a number with a unit`);
  });

  it.each([NaN, Infinity, -Infinity])('rejects %d', (input) => {
    expect(() => parseDuration(input, 'ms')).toThrow(`ms: ${input} is not a duration`);
  });

  it('rejects values that are neither numbers nor strings', () => {
    expect(() => parseDuration(null, 'heartbeatTimeout')).toThrow('heartbeatTimeout: expected a duration, got null');
    expect(() => parseDuration({}, 'heartbeatTimeout')).toThrow('heartbeatTimeout: expected a duration, got object');
    try {
      parseDuration(true, 'x');
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidArgumentError).code).toBe('CHR_INVALID_ARGUMENT');
      expect((err as InvalidArgumentError).field).toBe('x');
    }
  });
});

describe('formatDuration', () => {
  it.each([
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1500ms'],
    [90_000, '90s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [0, '0ms'],
  ])('%d → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
