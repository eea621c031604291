import { InvalidArgumentError } from './errors.js';

/**
 * Durations as Temporal's TypeScript SDK accepts them: a number of milliseconds, or a string
 * of a number and a unit in the style of the `ms` package ('500ms', '5s', '1 minute',
 * '2 hours', '1.5h', '1d'). A string without a unit means milliseconds.
 *
 * Typed as `number | string` (not Temporal's template-literal type) so that durations read
 * from configuration or held in `let` variables need no casts; strings are checked at run
 * time, with an error that names the option and the accepted forms.
 *
 * PURE: used inside the workflow sandbox (proxyActivities, sleep) and by the engine, so that
 * the same input is accepted or refused with the same words on both sides.
 */
export type Duration = number | string;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** A Julian year, as the `ms` package counts it. */
const YEAR = 365.25 * DAY;

/** Milliseconds per unit, keyed by the lower-cased unit as written. */
const UNIT_MS: Readonly<Record<string, number>> = {
  years: YEAR, year: YEAR, yrs: YEAR, yr: YEAR, y: YEAR,
  weeks: WEEK, week: WEEK, w: WEEK,
  days: DAY, day: DAY, d: DAY,
  hours: HOUR, hour: HOUR, hrs: HOUR, hr: HOUR, h: HOUR,
  minutes: MINUTE, minute: MINUTE, mins: MINUTE, min: MINUTE, m: MINUTE,
  seconds: SECOND, second: SECOND, secs: SECOND, sec: SECOND, s: SECOND,
  milliseconds: 1, millisecond: 1, msecs: 1, msec: 1, ms: 1,
};

const DURATION_PATTERN = /^(-?(?:\d+(?:\.\d*)?|\.\d+))\s*([a-z]*)$/i;

const HINT = "use milliseconds (250) or a number with a unit ('500ms', '5s', '1 minute', '2 hours', '1.5h', '1d')";

/**
 * Converts a duration to whole milliseconds (rounded to the nearest millisecond). Negative
 * values are returned as they are: callers decide whether they are allowed (an activity
 * timeout must be positive; `sleep(-1)` sleeps 1 ms).
 *
 * @param field the option the value came from, for the error (`retry.initialInterval`).
 * @throws InvalidArgumentError for NaN, ±Infinity, unknown units and anything that is not a
 *   number or a string.
 */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(field, `${String(value)} is not a duration; ${HINT}`);
    return Math.round(value);
  }
  if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value.trim());
    const unit = match ? (match[2] === '' ? 'ms' : match[2].toLowerCase()) : undefined;
    const perUnit = unit === undefined ? undefined : UNIT_MS[unit];
    if (!match || perUnit === undefined) {
      throw new InvalidArgumentError(field, `'${value}' is not a duration; ${HINT}`);
    }
    const ms = Number(match[1]) * perUnit;
    if (!Number.isFinite(ms)) throw new InvalidArgumentError(field, `'${value}' is too large a duration`);
    return Math.round(ms);
  }
  const shown = value === undefined ? 'undefined' : value === null ? 'null' : typeof value;
  throw new InvalidArgumentError(field, `expected a duration, got ${shown}; ${HINT}`);
}

/** Like `parseDuration`, but `undefined` passes through (an option that was not set). */
export function parseOptionalDuration(value: unknown, field: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, field);
}

/**
 * A short human form of a millisecond count for messages: the largest unit that divides it
 * evenly (`90000` → `'90s'`, `3600000` → `'1h'`, `1500` → `'1500ms'`).
 */
export function formatDuration(ms: number): string {
  if (ms !== 0 && Number.isInteger(ms)) {
    for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
      if (ms % size === 0) return `${ms / size}${unit}`;
    }
  }
  return `${ms}ms`;
}

/** How a value the user gave is echoed in a message: strings as written, numbers formatted. */
export function showDuration(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? formatDuration(value) : String(value);
  return String(value);
}
