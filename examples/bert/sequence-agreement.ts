/**
 * How closely a packed engine's output matches a padded engine's, sequence by sequence: request b's rows are
 * packed rows cuSeqlens[b] .. cuSeqlens[b+1] and padded rows b*width .. b*width + length (its padding rows are not
 * compared: they are not part of any answer).
 */
import { InferrtError } from '../../lib/index.js';
import { AgreementSums, type Agreement } from '../output-agreement.js';

/** Agreement over every real token of a batch (maxAbs: largest |padded|). */
export interface SequenceAgreement extends Agreement {
  /** The lowest cosine similarity of one request's rows, and which request. */
  minSequenceCosine: number;
  worstSequence: number;
}

/**
 * Compares `packed` ([totalTokens, rowSize]) with `padded` ([batch, width, rowSize]) for the requests that
 * `cuSeqlens` delimits. For per-request outputs (pooler_output: [batch, rowSize] both) pass width 1 and
 * cuSeqlens 0, 1, ..., batch.
 */
export function compareSequences(packed: Float32Array, cuSeqlens: Int32Array, padded: Float32Array, width: number, rowSize: number): SequenceAgreement {
  const batch = cuSeqlens.length - 1;
  const total = cuSeqlens[batch] ?? 0;
  if (packed.length !== total * rowSize || padded.length !== batch * width * rowSize) {
    throw new InferrtError('INVALID_ARGUMENT', `compareSequences: packed holds ${packed.length} values (expected ${total} x ${rowSize}), padded ${padded.length} (expected ${batch} x ${width} x ${rowSize})`);
  }
  const all = new AgreementSums();
  let minSequenceCosine = Infinity, worstSequence = -1;
  for (let b = 0; b < batch; b++) {
    const start = cuSeqlens[b]!, length = cuSeqlens[b + 1]! - start;
    if (length < 0 || length > width) throw new InferrtError('INVALID_ARGUMENT', `compareSequences: request ${b} has ${length} tokens but the padded width is ${width}`);
    const one = new AgreementSums().add(padded.subarray(b * width * rowSize, (b * width + length) * rowSize), packed.subarray(start * rowSize, (start + length) * rowSize));
    all.merge(one);
    const c = one.result().cosine;
    if (c < minSequenceCosine) [minSequenceCosine, worstSequence] = [c, b];
  }
  return { ...all.result(), minSequenceCosine, worstSequence };
}

/** The worst of several batches' agreement: each figure's worst value, and where the lowest-cosine request was. */
export function worstAgreement(all: readonly SequenceAgreement[]): SequenceAgreement & { worstBatch: number } {
  const merged = { maxAbsDiff: 0, maxAbs: 0, cosine: 1, minSequenceCosine: 1, worstSequence: -1, nonFinite: 0, worstBatch: -1 };
  all.forEach((a, i) => {
    merged.maxAbsDiff = Math.max(merged.maxAbsDiff, a.maxAbsDiff);
    merged.maxAbs = Math.max(merged.maxAbs, a.maxAbs);
    merged.cosine = Math.min(merged.cosine, a.cosine);
    merged.nonFinite += a.nonFinite;
    if (merged.worstBatch < 0 || a.minSequenceCosine < merged.minSequenceCosine) {
      [merged.minSequenceCosine, merged.worstSequence, merged.worstBatch] = [a.minSequenceCosine, a.worstSequence, i];
    }
  });
  return merged;
}

/** The real rows of padded [batch, width, rowSize] output, one request after another ([sum of lengths, rowSize]). */
export function unpadRows(padded: Float32Array, lengths: readonly number[], width: number, rowSize: number): Float32Array {
  if (padded.length !== lengths.length * width * rowSize || lengths.some((n) => n < 0 || n > width)) {
    throw new InferrtError('INVALID_ARGUMENT', `unpadRows: ${padded.length} values do not hold ${lengths.length} requests of at most ${width} rows of ${rowSize}`);
  }
  const out = new Float32Array(lengths.reduce((a, b) => a + b, 0) * rowSize);
  let at = 0;
  lengths.forEach((n, b) => {
    out.set(padded.subarray(b * width * rowSize, (b * width + n) * rowSize), at);
    at += n * rowSize;
  });
  return out;
}
