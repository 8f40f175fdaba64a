/**
 * How close two outputs are (largest difference, cosine similarity): shared by the examples and the benchmarks that
 * compare precisions, sparse and dense, or packed and padded engines.
 */

export interface Agreement {
  /** Largest |a - b| over the finite pairs. */
  maxAbsDiff: number;
  /** Largest |a| (a: the reference, the scale maxAbsDiff is relative to). */
  maxAbs: number;
  /** Cosine similarity; two all-zero outputs agree (1), one all-zero output does not (0). */
  cosine: number;
  /** Pairs with a NaN or infinite value on either side (not in the figures above). */
  nonFinite: number;
}

/** Running sums of a comparison, so that parts (say, one request's rows each) can be compared and merged. */
export class AgreementSums {
  maxAbsDiff = 0;
  maxAbs = 0;
  nonFinite = 0;
  #dot = 0;
  #na = 0;
  #nb = 0;

  /** Adds the pairs (a[i], b[i]); a is the reference. */
  add(a: ArrayLike<number>, b: ArrayLike<number>): this {
    if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} vs ${b.length}`);
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!, y = b[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        this.nonFinite++;
        continue;
      }
      this.maxAbsDiff = Math.max(this.maxAbsDiff, Math.abs(x - y));
      this.maxAbs = Math.max(this.maxAbs, Math.abs(x));
      this.#dot += x * y;
      this.#na += x * x;
      this.#nb += y * y;
    }
    return this;
  }

  merge(other: AgreementSums): this {
    this.maxAbsDiff = Math.max(this.maxAbsDiff, other.maxAbsDiff);
    this.maxAbs = Math.max(this.maxAbs, other.maxAbs);
    this.nonFinite += other.nonFinite;
    this.#dot += other.#dot;
    this.#na += other.#na;
    this.#nb += other.#nb;
    return this;
  }

  result(): Agreement {
    const cosine = this.#na === 0 || this.#nb === 0 ? (this.#na === this.#nb ? 1 : 0) : this.#dot / Math.sqrt(this.#na * this.#nb);
    return { maxAbsDiff: this.maxAbsDiff, maxAbs: this.maxAbs, cosine, nonFinite: this.nonFinite };
  }
}

/** Largest |a - b|, largest |a| and cosine similarity of two outputs (a: the reference). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): Agreement {
  return new AgreementSums().add(a, b).result();
}

/** Share of rows of [rows, classes] logits whose argmax is the same in both. */
export function argmaxAgreement(a: Float32Array, b: Float32Array, classes: number): number {
  let same = 0;
  const rows = a.length / classes;
  for (let r = 0; r < rows; r++) {
    let ia = 0, ib = 0;
    for (let c = 1; c < classes; c++) {
      if (a[r * classes + c]! > a[r * classes + ia]!) ia = c;
      if (b[r * classes + c]! > b[r * classes + ib]!) ib = c;
    }
    if (ia === ib) same++;
  }
  return same / rows;
}
