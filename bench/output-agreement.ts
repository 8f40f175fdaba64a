/** How close two engines' outputs are: shared by the benchmarks that compare precisions or sparse and dense. */

/** Largest |a - b|, largest |a| and cosine similarity of two outputs. */
export function agreement(a: Float32Array, b: Float32Array): { maxAbsDiff: number; maxAbs: number; cosine: number; nonFinite: number } {
  if (a.length !== b.length) throw new Error(`outputs differ in length: ${a.length} vs ${b.length}`);
  let maxAbsDiff = 0, maxAbs = 0, dot = 0, na = 0, nb = 0, nonFinite = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      nonFinite++;
      continue;
    }
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x - y));
    maxAbs = Math.max(maxAbs, Math.abs(x));
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return { maxAbsDiff, maxAbs, cosine: dot / Math.sqrt(na * nb), nonFinite };
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
