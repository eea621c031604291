import { InvalidArgumentError, PayloadNotSerializableError } from './errors.js';
import { findNonJsonValue } from './protocol/payloads.js';

/** Longest workflow id, task queue or type name accepted (Temporal's limit too). */
export const MAX_ID_LENGTH = 1000;

// Control characters break logs, URLs and terminals; no legitimate id needs them.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Checks an identifier-like string option; throws InvalidArgumentError naming the field. */
export function validateName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(field, `must be a non-empty string, got ${describe(value)}`);
  }
  if (value.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError(field, `is ${value.length} characters long; the limit is ${MAX_ID_LENGTH}. Use a shorter id (a hash of a long key works)`);
  }
  if (CONTROL_CHARS.test(value)) {
    throw new InvalidArgumentError(field, `contains a control character; use printable characters only`);
  }
  return value;
}

/** Checks that every payload is a JSON value; throws PayloadNotSerializableError naming the path. */
export function validatePayloads(field: string, values: readonly unknown[]): void {
  if (!Array.isArray(values)) throw new InvalidArgumentError(field, `must be an array, got ${describe(values)}`);
  values.forEach((v, i) => validatePayload(`${field}[${i}]`, v));
}

export function validatePayload(field: string, value: unknown): void {
  const problem = findNonJsonValue(value, field);
  if (problem) throw new PayloadNotSerializableError(field, problem);
}

/**
 * Checks that a payload's JSON text is at most `maxBytes` bytes (UTF-8); throws
 * InvalidArgumentError naming the field, the size and the limit. Call after
 * validatePayload(s): the value must already be known to be JSON.
 */
export function validatePayloadSize(field: string, value: unknown, maxBytes: number): void {
  const bytes = Buffer.byteLength(payloadJson(value), 'utf8');
  if (bytes > maxBytes) {
    throw new InvalidArgumentError(
      field,
      `is ${bytes} bytes as JSON; the limit is ${maxBytes} bytes (engine option limits.payloadMaxBytes). ` +
        `Pass a reference (an id, a URL) to large data instead of the data itself`,
    );
  }
}

/** JSON text of a payload for a jsonb parameter; `undefined` becomes null. */
export function payloadJson(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v.slice(0, 40)}'`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
