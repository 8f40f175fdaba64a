/**
 * Magnitude-based 2:4 pruning of one weight along one axis: in every group of four consecutive elements along
 * the reduction axis the two largest magnitudes stay, the other two become zero (ties keep the lower index).
 */

/** A weight of dims [..outer, length, ..inner] seen along `axis`: element (o, i, r) is at (o * length + i) * inner + r. */
export interface ReductionView {
  outer: number;
  length: number;
  inner: number;
}

/** The view of a weight of `dims` along `axis`. */
export function reductionView(dims: readonly number[], axis: number): ReductionView {
  const prod = (ds: readonly number[]): number => ds.reduce((a, b) => a * b, 1);
  return { outer: prod(dims.slice(0, axis)), length: dims[axis] ?? 1, inner: prod(dims.slice(axis + 1)) };
}

/** What pruning one weight did. */
export interface TwoFourStats {
  groups: number;
  /** Non-zero elements set to zero. */
  zeroed: number;
  removedMagnitude: number;
  totalMagnitude: number;
}

/**
 * Zeroes the two smallest-magnitude elements of every group of four along the view's reduction axis, in place.
 * `magnitude[k]` is |w_k| (NaN counts as the largest); `zero(k)` clears element k (called only for non-zero
 * elements). `view.length` must be a multiple of 4. The magnitude sums count finite values only, so a NaN or
 * infinite weight does not make the reported share meaningless.
 */
export function pruneTwoFour(magnitude: Float64Array, view: ReductionView, zero: (index: number) => void): TwoFourStats {
  const { outer, length, inner } = view;
  const stats: TwoFourStats = { groups: 0, zeroed: 0, removedMagnitude: 0, totalMagnitude: 0 };
  const at = [0, 0, 0, 0];
  const mag = [0, 0, 0, 0];
  for (let o = 0; o < outer; o++) {
    for (let g = 0; g < length; g += 4) {
      for (let r = 0; r < inner; r++) {
        for (let j = 0; j < 4; j++) {
          at[j] = (o * length + g + j) * inner + r;
          const m = magnitude[at[j]!]!;
          mag[j] = Number.isNaN(m) ? Infinity : m;
          if (Number.isFinite(m)) stats.totalMagnitude += m;
        }
        stats.groups++;
        for (let j = 0; j < 4; j++) {
          // Rank = how many of the group outrank element j (larger, or equal at a lower index); the top two stay.
          let rank = 0;
          for (let k = 0; k < 4; k++) if (mag[k]! > mag[j]! || (mag[k] === mag[j] && k < j)) rank++;
          if (rank < 2) continue;
          const m = magnitude[at[j]!]!;
          if (m === 0) continue; // already zero: leave its bits (even -0) as they are
          stats.zeroed++;
          if (Number.isFinite(m)) stats.removedMagnitude += m;
          zero(at[j]!);
        }
      }
    }
  }
  return stats;
}
