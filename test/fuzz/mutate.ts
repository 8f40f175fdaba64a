/** Seeded byte-level mutations for fuzz tests: flips, overwrites, truncations, insertions and deletions. */

/** mulberry32: a small seeded PRNG returning uint32. */
export { mulberry32 as prng } from '../../examples/seeded-random.js';

export type Mutation = 'flip' | 'overwrite' | 'truncate' | 'insert' | 'delete' | 'splat';

/** Returns a mutated copy of `bytes`, damaged at offsets in [from, to), and what was done. */
export function mutate(bytes: Uint8Array, next: () => number, from = 0, to = bytes.length): { bytes: Uint8Array; how: string } {
  const kinds: Mutation[] = ['flip', 'overwrite', 'truncate', 'insert', 'delete', 'splat'];
  const kind = kinds[next() % kinds.length]!;
  const span = Math.max(Math.min(to, bytes.length) - from, 1);
  const at = from + (next() % Math.max(span, 1));
  let out: Uint8Array;
  switch (kind) {
    case 'flip': {
      out = bytes.slice();
      const flips = 1 + (next() % 8);
      for (let i = 0; i < flips; i++) {
        const p = from + (next() % span);
        out[p]! ^= 1 << (next() % 8);
      }
      return { bytes: out, how: `flip ${flips} bits from ${at}` };
    }
    case 'overwrite': {
      out = bytes.slice();
      const n = 1 + (next() % 16);
      for (let i = 0; i < n && at + i < out.length; i++) out[at + i] = next() & 0xff;
      return { bytes: out, how: `overwrite ${n} bytes at ${at}` };
    }
    case 'splat': {
      // Large values where lengths and counts live: 0xff runs make varints and u32/u64 fields huge.
      out = bytes.slice();
      const n = 1 + (next() % 8);
      for (let i = 0; i < n && at + i < out.length; i++) out[at + i] = 0xff;
      return { bytes: out, how: `0xff x${n} at ${at}` };
    }
    case 'truncate':
      return { bytes: bytes.slice(0, at), how: `truncate to ${at}` };
    case 'insert': {
      const n = 1 + (next() % 16);
      const junk = Uint8Array.from({ length: n }, () => next() & 0xff);
      out = new Uint8Array(bytes.length + n);
      out.set(bytes.subarray(0, at));
      out.set(junk, at);
      out.set(bytes.subarray(at), at + n);
      return { bytes: out, how: `insert ${n} bytes at ${at}` };
    }
    case 'delete': {
      const n = 1 + (next() % 16);
      const tail = bytes.subarray(Math.min(at + n, bytes.length));
      out = new Uint8Array(at + tail.length);
      out.set(bytes.subarray(0, at));
      out.set(tail, at);
      return { bytes: out, how: `delete ${n} bytes at ${at}` };
    }
  }
}
