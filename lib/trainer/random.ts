// Seeded randomness of the trainer: a hash that turns (seed, epoch) or (seed, step) into a
// well-mixed integer, a small PRNG for shuffles, and the dropout seed of each step. Pure
// 32-bit integer arithmetic, so results are the same on every platform and Node version.

const TWO_32 = 0x1_0000_0000;

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Splits a non-negative integer below 2^53 into its low and high 32-bit words. */
function words(x: number): [number, number] {
  return [x % TWO_32 >>> 0, Math.floor(x / TWO_32) >>> 0];
}

/**
 * Hashes a list of non-negative integers (each below 2^53) into a uint32. Different lists, and
 * different orders, give unrelated values.
 */
export function hashInts(...xs: number[]): number {
  let h = 0x6a09e667 ^ xs.length;
  for (const x of xs) {
    const [lo, hi] = words(x);
    h = fmix32((h ^ fmix32((lo + 0x9e3779b9) >>> 0)) >>> 0);
    h = fmix32((h ^ fmix32((hi ^ 0x7f4a7c15) >>> 0)) >>> 0);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  return fmix32(h);
}

// Domain tags, so that shuffle and dropout seeds never collide even for equal (seed, n).
const TAG_SHUFFLE = 0x5348;
const TAG_DROPOUT = 0x4452;

/** sfc32: a small, fast PRNG with a 128-bit state; returns floats in [0, 1). */
export function sfc32(seed: number): () => number {
  let a = hashInts(seed, 1);
  let b = hashInts(seed, 2);
  let c = hashInts(seed, 3);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return () => next() / TWO_32;
}

/** Fisher–Yates permutation of 0..n-1 from a seed. */
export function permutation(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rand = sfc32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** The order of the training examples in one epoch: a function of (seed, epoch) only. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Uint32Array {
  if (!shuffle) {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return out;
  }
  return permutation(n, hashInts(TAG_SHUFFLE, seed, epoch));
}

/** The dropout seed of one optimizer step: a function of (seed, global step) only, below 2^53. */
export function stepSeed(seed: number, step: number): number {
  const lo = hashInts(TAG_DROPOUT, seed, step, 0);
  const hi = hashInts(TAG_DROPOUT, seed, step, 1) & 0x1fffff;
  return hi * TWO_32 + lo;
}
