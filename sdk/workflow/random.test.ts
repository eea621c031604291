import { describe, expect, it } from 'vitest';
import { DeterministicRandom } from './random.js';

describe('DeterministicRandom', () => {
  it('draws the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: string) => {
      const r = new DeterministicRandom(seed);
      return [r.nextFloat(), r.nextUint32(), r.uuid4()];
    };
    expect(draw('run-1')).toEqual(draw('run-1'));
    expect(draw('run-1')).not.toEqual(draw('run-2'));
    expect(draw('')).toEqual(draw(''));
  });

  it('a one-character change of the seed changes every word of the first draws', () => {
    const a = new DeterministicRandom('7b0c3c9e-5d1f-4c57-9a43-2c6f3f0a1b11');
    const b = new DeterministicRandom('7b0c3c9e-5d1f-4c57-9a43-2c6f3f0a1b12');
    for (let i = 0; i < 4; i++) expect(a.nextUint32()).not.toBe(b.nextUint32());
  });

  it('floats are in [0, 1) and spread out', () => {
    const r = new DeterministicRandom('spread');
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const x = r.nextFloat();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      buckets[Math.floor(x * 10)]++;
    }
    for (const count of buckets) expect(count).toBeGreaterThan(850);
  });

  it('makes RFC 4122 version-4 UUIDs', () => {
    const r = new DeterministicRandom('uuids');
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const id = r.uuid4();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(100);
  });

  it('fills byte arrays of any length', () => {
    const r = new DeterministicRandom('bytes');
    const bytes = new Uint8Array(7);
    r.fillBytes(bytes);
    expect(bytes.some((b) => b !== 0)).toBe(true);
  });
});
