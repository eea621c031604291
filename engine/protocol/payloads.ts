/**
 * Payloads are JSON values. Everything a workflow passes in or out (arguments, results,
 * heartbeat details, failure details) crosses a process boundary and is stored as jsonb,
 * so it must survive `JSON.stringify` → `JSON.parse` unchanged in meaning.
 */
export type Payload = unknown;

/** Where a payload was found, for error messages: `args[1].items[3]`. */
export type PayloadPath = string;

/**
 * Returns a description of the first value that JSON cannot carry faithfully, or
 * `undefined` when the value is a plain JSON value. Pure; used by the SDK and the engine
 * so the same input is refused at the same place with the same words.
 */
export function findNonJsonValue(value: unknown, path: PayloadPath = 'value'): string | undefined {
  const seen = new Set<object>();
  const visit = (v: unknown, p: string): string | undefined => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return undefined;
      case 'number':
        return Number.isFinite(v) ? undefined : `${p} is ${String(v)}, which JSON cannot represent`;
      case 'undefined':
        return undefined; // dropped by JSON, as Temporal's JSON converter does
      case 'bigint':
        return `${p} is a bigint; convert it to a string or number`;
      case 'function':
        return `${p} is a function; functions cannot be sent to or from a workflow`;
      case 'symbol':
        return `${p} is a symbol, which JSON cannot represent`;
      case 'object': {
        if (v === null) return undefined;
        if (seen.has(v)) return `${p} is a circular reference`;
        seen.add(v);
        try {
          if (Array.isArray(v)) {
            for (let i = 0; i < v.length; i++) {
              const r = visit(v[i], `${p}[${i}]`);
              if (r) return r;
            }
            return undefined;
          }
          if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return undefined; // Date and friends
          const proto = Object.getPrototypeOf(v);
          if (proto !== null && Object.getPrototypeOf(proto) !== null) {
            const name = (v as object).constructor?.name ?? 'object';
            if (v instanceof Map || v instanceof Set || name === 'Map' || name === 'Set') {
              return `${p} is a ${name}, which JSON turns into {}; convert it to an array or object`;
            }
          }
          for (const [k, item] of Object.entries(v)) {
            const r = visit(item, `${p}.${k}`);
            if (r) return r;
          }
          return undefined;
        } finally {
          seen.delete(v);
        }
      }
      default:
        return undefined;
    }
  };
  return visit(value, path);
}
