import { InvalidArgumentError } from './errors.js';

/**
 * Limits that keep a run from growing without bound (RELIABILITY F6, Temporal's defaults):
 * past a *warn* threshold a workflow task says `continueAsNewSuggested`; a completion that
 * would take the history past a *max* terminates the run instead, with a reason naming the
 * limit, so a runaway loop ends visibly instead of slowing every replay down forever. A
 * payload over `payloadMaxBytes` is refused where it enters (the client's call, or the
 * workflow task's command, which then fails with cause BAD_COMMAND).
 *
 * Precedence: the engine option `limits` > the CHRONICLE_* environment variable > the default.
 */
export interface LimitSettings {
  /** History length (events) from which workflow tasks report `continueAsNewSuggested`. */
  readonly historyLengthWarn: number;
  /** A completion that would make the history longer than this terminates the run. */
  readonly historyLengthMax: number;
  /** History size (bytes of event attributes as JSON) from which `continueAsNewSuggested` is reported. */
  readonly historySizeWarnBytes: number;
  /** A completion that would make the history bigger than this terminates the run. */
  readonly historySizeMaxBytes: number;
  /** Largest single payload (argument, result, details, memo value) as JSON text, in bytes. */
  readonly payloadMaxBytes: number;
}

const MIB = 1024 * 1024;

/** Temporal's defaults (docs.temporal.io, "Workflow Execution limits"), except payloads (Temporal: 2 MiB blob limit too). */
export const DEFAULT_LIMITS: LimitSettings = Object.freeze({
  historyLengthWarn: 10_240,
  historyLengthMax: 51_200,
  historySizeWarnBytes: 10 * MIB,
  historySizeMaxBytes: 50 * MIB,
  payloadMaxBytes: 2 * MIB,
});

/** The environment variable that overrides each default. */
export const LIMIT_ENV_VARS: { readonly [K in keyof LimitSettings]: string } = Object.freeze({
  historyLengthWarn: 'CHRONICLE_HISTORY_LENGTH_WARN',
  historyLengthMax: 'CHRONICLE_HISTORY_LENGTH_MAX',
  historySizeWarnBytes: 'CHRONICLE_HISTORY_SIZE_WARN_BYTES',
  historySizeMaxBytes: 'CHRONICLE_HISTORY_SIZE_MAX_BYTES',
  payloadMaxBytes: 'CHRONICLE_PAYLOAD_MAX_BYTES',
});

/**
 * The limits in force: `overrides` (the engine option), else the environment, else the
 * defaults. Throws InvalidArgumentError naming the option or variable when a value is not a
 * positive integer or a warn threshold is above its max.
 */
export function resolveLimits(overrides: Partial<LimitSettings> = {}, env: NodeJS.ProcessEnv = process.env): LimitSettings {
  const out = {} as { -readonly [K in keyof LimitSettings]: number };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof LimitSettings)[]) {
    const given = overrides[key];
    const fromEnv = env[LIMIT_ENV_VARS[key]];
    if (given !== undefined) out[key] = positiveInteger(`limits.${key}`, given);
    else if (fromEnv !== undefined && fromEnv !== '') out[key] = positiveInteger(LIMIT_ENV_VARS[key], Number(fromEnv), fromEnv);
    else out[key] = DEFAULT_LIMITS[key];
  }
  if (out.historyLengthWarn > out.historyLengthMax) {
    throw new InvalidArgumentError('limits.historyLengthWarn', `(${out.historyLengthWarn}) must not be above limits.historyLengthMax (${out.historyLengthMax})`);
  }
  if (out.historySizeWarnBytes > out.historySizeMaxBytes) {
    throw new InvalidArgumentError(
      'limits.historySizeWarnBytes',
      `(${out.historySizeWarnBytes}) must not be above limits.historySizeMaxBytes (${out.historySizeMaxBytes})`,
    );
  }
  return Object.freeze(out);
}

function positiveInteger(field: string, value: number, shown: unknown = value): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(field, `must be a positive integer, got ${JSON.stringify(shown)}`);
  return value;
}

let fromEnvironment: LimitSettings | undefined;

/** The limits from the environment and defaults, resolved once per process (no engine option). */
export function defaultLimits(): LimitSettings {
  return (fromEnvironment ??= resolveLimits());
}

/** What a workflow task reports as `continueAsNewSuggested` for a history of this length and size. */
export function continueAsNewSuggested(limits: LimitSettings, historyLength: number, historySizeBytes: number): boolean {
  return historyLength >= limits.historyLengthWarn || historySizeBytes >= limits.historySizeWarnBytes;
}

/** The maxima as the JSON parameter (`p_limits`) of the completion functions of migrations/0004. */
export function historyLimitsJson(limits: LimitSettings): string {
  return JSON.stringify({ historyLengthMax: limits.historyLengthMax, historySizeMaxBytes: limits.historySizeMaxBytes });
}
