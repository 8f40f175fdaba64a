/**
 * Seedable randomness for the loadgen: a small xoshiro128** PRNG (seeded through splitmix32, as its authors
 * recommend) and the exponential inter-arrival gaps of a Poisson process. Same seed, same sequence, on every
 * platform: the generator uses only 32-bit integer math (`Math.imul`, shifts).
 */

/** A source of uniformly distributed random numbers. */
export interface Rng {
  /** The next 32-bit unsigned integer, uniform on [0, 2^32). */
  nextUint32(): number;
  /** The next float, uniform on [0, 1), with 32 bits of resolution. */
  nextFloat(): number;
}

const TWO_POW_32 = 4294967296;

/** splitmix32: turns one 32-bit seed into a stream of well-mixed words, used to fill the xoshiro state. */
function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** 1.1 (Blackman and Vigna): 128 bits of state, period 2^128 − 1, passes BigCrush. Fast and tiny; not
 * cryptographic.
 */
export class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /**
   * @param seed any integer (only its low 32 bits are used, after folding the high bits in); the same seed always
   *   gives the same sequence.
   */
  constructor(seed: number) {
    const folded = (seed | 0) ^ Math.floor(seed / TWO_POW_32);
    const mix = splitmix32(folded);
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /**
   * A generator with the given raw state (four 32-bit words, not all zero), bypassing the seeding. For checking
   * against the reference implementation's test vectors.
   */
  static fromState(s0: number, s1: number, s2: number, s3: number): Xoshiro128 {
    if (((s0 | s1 | s2 | s3) >>> 0) === 0) throw new RangeError('xoshiro128** state must not be all zero');
    const rng = new Xoshiro128(0);
    rng.s0 = s0 | 0;
    rng.s1 = s1 | 0;
    rng.s2 = s2 | 0;
    rng.s3 = s3 | 0;
    return rng;
  }

  /** {@inheritDoc Rng.nextUint32} */
  nextUint32(): number {
    const s1 = this.s1;
    const product = Math.imul(s1, 5);
    const result = Math.imul((product << 7) | (product >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result >>> 0;
  }

  /** {@inheritDoc Rng.nextFloat} */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }
}

/** Creates the loadgen's PRNG ({@link Xoshiro128}) from an integer seed. */
export function createRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/**
 * One exponentially distributed gap of a Poisson process with `rate` events per unit time: `-ln(1 − U) / rate`
 * with U uniform on [0, 1). Mean `1 / rate`, variance `1 / rate²`. The result is in the reciprocal unit of `rate`.
 */
export function exponentialGap(rng: Rng, rate: number): number {
  return -Math.log1p(-rng.nextFloat()) / rate;
}

/**
 * The arrival times of a Poisson process, generated lazily: {@link PoissonArrivals.next} returns cumulative times in
 * nanoseconds from the start of the run. The first arrival comes one gap after time 0, as in MLPerf's Server
 * scenario.
 */
export class PoissonArrivals {
  private readonly meanGapNs: number;
  private readonly rng: Rng;
  private t = 0;

  /**
   * @param ratePerSecond mean arrivals per second (the target QPS); must be positive and finite.
   * @param seed PRNG seed, or an {@link Rng} to draw from.
   */
  constructor(ratePerSecond: number, seed: number | Rng) {
    if (!(ratePerSecond > 0 && Number.isFinite(ratePerSecond))) {
      throw new RangeError(`ratePerSecond must be a positive number, got ${ratePerSecond}`);
    }
    this.meanGapNs = 1e9 / ratePerSecond;
    this.rng = typeof seed === 'number' ? createRng(seed) : seed;
  }

  /** The next arrival time, in nanoseconds since the start. Strictly non-decreasing. */
  next(): number {
    this.t += -Math.log1p(-this.rng.nextFloat()) * this.meanGapNs;
    return this.t;
  }
}
