/**
 * The per-run deterministic random source behind `Math.random`, `uuid4()`,
 * `crypto.randomUUID()` and `crypto.getRandomValues()` inside a workflow.
 *
 * The 128-bit state is hashed from the run id, so every replay of a run draws the same
 * sequence, and different runs draw different ones. The generator is xoshiro128** (Blackman &
 * Vigna): 32-bit arithmetic only, period 2^128 − 1, good statistical quality, and small
 * enough to keep in the sandbox bundle. It is not cryptographically secure, and neither is
 * anything in a workflow: randomness that must be secret belongs in an activity.
 */
export class DeterministicRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: string) {
    [this.s0, this.s1, this.s2, this.s3] = seedState(seed);
  }

  /** The generator's state, for `restore` (a query handler must not move the sequence). */
  snapshot(): readonly [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Puts back a state taken by `snapshot`. */
  restore(state: readonly [number, number, number, number]): void {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits, like `Math.random()`. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992; // (high·2^26 + low) / 2^53
  }

  /** Fills `bytes` with random bytes. */
  fillBytes(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += 4) {
      let word = this.nextUint32();
      for (let j = i; j < i + 4 && j < bytes.length; j++) {
        bytes[j] = word & 0xff;
        word >>>= 8;
      }
    }
  }

  /** An RFC 4122 version-4 UUID string drawn from this source. */
  uuid4(): string {
    const b = new Uint8Array(16);
    this.fillBytes(b);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
    let hex = '';
    for (let i = 0; i < 16; i++) {
      hex += (b[i] < 16 ? '0' : '') + b[i].toString(16);
      if (i === 3 || i === 5 || i === 7 || i === 9) hex += '-';
    }
    return hex;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The murmur3 32-bit finalizer: spreads every input bit over the whole word. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes a string to four 32-bit words. Each lane starts from a different constant (the
 * fractional parts of √2, √3, √5, √7) and absorbs every UTF-16 code unit with its own
 * multiplier; the lanes are then cross-mixed and finalized so that one changed character
 * changes all 128 bits.
 */
function seedState(seed: string): [number, number, number, number] {
  let a = 0x6a09e667 ^ seed.length;
  let b = 0xbb67ae85;
  let c = 0x3c6ef372;
  let d = 0xa54ff53a;
  for (let i = 0; i < seed.length; i++) {
    const code = seed.charCodeAt(i);
    a = rotl(Math.imul(a ^ code, 0x9e3779b1), 13);
    b = rotl(Math.imul(b ^ code, 0x85ebca77), 15);
    c = rotl(Math.imul(c ^ code, 0xc2b2ae3d), 17);
    d = rotl(Math.imul(d ^ code, 0x27d4eb2f), 19);
  }
  a = avalanche(a ^ b ^ c ^ d);
  b = avalanche(b ^ a);
  c = avalanche(c ^ a ^ b);
  d = avalanche(d ^ a ^ b ^ c);
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is the one xoshiro cannot leave
  return [a, b, c, d];
}
