import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('gives undefined as null, drops undefined fields, applies toJSON', () => {
    expect(canonicalJson(undefined)).toBeNull();
    expect(canonicalJson({ a: undefined, b: 1 })).toEqual({ b: 1 });
    expect(canonicalJson({ at: new Date(0) })).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it("orders keys as jsonb does: shorter first, then by bytes", () => {
    expect(Object.keys(canonicalJson({ bb: 1, a: 2, ab: 3, c: { zz: 1, y: 2 } }) as object)).toEqual(['a', 'c', 'ab', 'bb']);
    expect(Object.keys((canonicalJson({ c: { zz: 1, y: 2 } }) as { c: object }).c)).toEqual(['y', 'zz']);
  });
});
