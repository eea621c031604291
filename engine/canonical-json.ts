/**
 * A payload as it comes back from PostgreSQL's jsonb: JSON round-tripped (undefined dropped,
 * toJSON applied) with object keys in jsonb's order (shorter keys first, then by UTF-8
 * bytes). Workflow code sees payloads read back from jsonb, live and on replay; a worker that
 * hands a payload to workflow code before storing it (the speculative completion) must hand
 * over this form, or `Object.keys` order and `undefined` vs `null` could differ between
 * the first run and a replay.
 */
export function canonicalJson(value: unknown): unknown {
  if (value === undefined) return null;
  return canonicalize(JSON.parse(JSON.stringify(value)));
}

const encoder = new TextEncoder();

function canonicalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonicalize);
  if (v === null || typeof v !== 'object') return v;
  const keys = Object.keys(v).sort(jsonbKeyOrder);
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = canonicalize((v as Record<string, unknown>)[k]);
  return out;
}

function jsonbKeyOrder(a: string, b: string): number {
  const ab = encoder.encode(a);
  const bb = encoder.encode(b);
  if (ab.length !== bb.length) return ab.length - bb.length;
  for (let i = 0; i < ab.length; i++) if (ab[i] !== bb[i]) return ab[i]! - bb[i]!;
  return 0;
}
