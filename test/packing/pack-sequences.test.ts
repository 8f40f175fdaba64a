/**
 * packSequences / unpackSequences: offsets, the flat token arrays and the round trip for the lengths the packed
 * BERT path must handle (1, 2, 63, 64, 65, 384, 512, mixed in one batch), and the typed errors.
 */
import { describe, expect, it } from 'vitest';
import { InferrtError, packSequences, unpackSequences } from '../../lib/index.js';
import { seededUniform } from '../seeded-uniform.js';

const LENGTHS = [1, 2, 63, 64, 65, 384, 512];

function requestsOf(lengths: number[], seed: number) {
  const next = seededUniform(seed);
  return lengths.map((n) => ({
    inputIds: Int32Array.from({ length: n }, () => Math.floor(next() * 30522)),
    segmentIds: Int32Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 1)),
  }));
}

describe('packSequences', () => {
  it('concatenates the sequences and records where each starts', () => {
    const requests = requestsOf(LENGTHS, 1);
    const packed = packSequences(requests);
    expect(Array.from(packed.cuSeqlens)).toEqual([0, 1, 3, 66, 130, 195, 579, 1091]);
    expect(packed.totalTokens).toBe(1091);
    expect(packed.longestSequence).toBe(512);
    requests.forEach((r, b) => {
      const [start, end] = [packed.cuSeqlens[b]!, packed.cuSeqlens[b + 1]!];
      expect(Array.from(packed.inputIds.subarray(start, end))).toEqual(Array.from(r.inputIds));
      expect(Array.from(packed.segmentIds.subarray(start, end))).toEqual(Array.from(r.segmentIds));
    });
  });

  it('takes plain arrays and bigints, and defaults segment ids to 0', () => {
    const packed = packSequences([{ inputIds: [101, 7592, 102] }, { inputIds: [101n, 102n] }]);
    expect(Array.from(packed.inputIds)).toEqual([101, 7592, 102, 101, 102]);
    expect(Array.from(packed.segmentIds)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(packed.cuSeqlens)).toEqual([0, 3, 5]);
  });

  it('round-trips through unpackSequences for every length, one at a time and all mixed', () => {
    for (const lengths of [...LENGTHS.map((n) => [n]), LENGTHS, [...LENGTHS].reverse()]) {
      const requests = requestsOf(lengths, lengths.length);
      const packed = packSequences(requests);
      // A packed "output" of 3 values per token that says which token it came from.
      const hidden = 3;
      const out = Float32Array.from({ length: packed.totalTokens * hidden }, (_, i) => packed.inputIds[Math.floor(i / hidden)]! + (i % hidden) / 4);
      const parts = unpackSequences(out, packed.cuSeqlens, hidden);
      expect(parts).toHaveLength(requests.length);
      parts.forEach((part, b) => {
        const ids = requests[b]!.inputIds;
        expect(part.length).toBe(ids.length * hidden);
        expect(Array.from(part)).toEqual(Array.from({ length: ids.length * hidden }, (_, i) => ids[Math.floor(i / hidden)]! + (i % hidden) / 4));
      });
    }
  });
});

describe('packing errors', () => {
  const bad = (f: () => unknown, pattern: RegExp) => {
    expect(f).toThrow(InferrtError);
    expect(f).toThrow(pattern);
  };
  it('packSequences names the request and what is wrong', () => {
    bad(() => packSequences([]), /requests must be a non-empty array/);
    bad(() => packSequences([{ inputIds: [1] }, { inputIds: [] }]), /requests\[1\]\.inputIds is empty/);
    bad(() => packSequences([{ inputIds: new Int32Array(513) }], { maxSequenceLength: 512 }), /requests\[0\] has 513 tokens, more than maxSequenceLength 512/);
    bad(() => packSequences([{ inputIds: [1, 2.5] }]), /requests\[0\]\.inputIds\[1\] must be an integer id in \[0, 2\^31\), got 2\.5/);
    bad(() => packSequences([{ inputIds: [-1] }]), /inputIds\[0\] must be an integer id/);
    bad(() => packSequences([{ inputIds: [1, 2], segmentIds: [0] }]), /segmentIds must have inputIds' length 2, got 1/);
    bad(() => packSequences([{ inputIds: 'abc' as never }]), /inputIds must be an array or typed array/);
    bad(() => packSequences([{ inputIds: [1] }], { maxSequenceLength: 0 }), /maxSequenceLength must be an integer >= 1, got 0/);
  });
  it('unpackSequences rejects offsets that do not increase or do not fit the data', () => {
    bad(() => unpackSequences(new Float32Array(6), Int32Array.from([0, 2, 2]), 3), /cuSeqlens must increase, but cuSeqlens\[2\] = 2 after 2/);
    bad(() => unpackSequences(new Float32Array(6), Int32Array.from([1, 2]), 3), /cuSeqlens must be an Int32Array of batch \+ 1 offsets starting at 0/);
    bad(() => unpackSequences(new Float32Array(7), Int32Array.from([0, 1, 2]), 3), /data holds 7 values, expected 2 tokens × rowSize 3 = 6/);
    bad(() => unpackSequences(new Float32Array(6), Int32Array.from([0, 2]), 0), /rowSize must be an integer >= 1/);
  });
});
