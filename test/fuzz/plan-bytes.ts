/**
 * Byte surgery on plan files for tests (layout: native/plan/plan.h). `reseal` rewrites the body length and
 * CRC-32 so that a damaged body gets past the checksum and only the plan parser itself can object.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE, as zlib computes it). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The header length field (bytes 12..15, after the 8-byte magic and the format version). */
export function headerLength(plan: Uint8Array): number {
  return new DataView(plan.buffer, plan.byteOffset).getUint32(12, true);
}

/** A copy of `plan` whose body length and checksum match its (possibly damaged) body. */
export function reseal(plan: Uint8Array): Uint8Array {
  const out = plan.slice();
  const h = headerLength(out);
  const view = new DataView(out.buffer);
  view.setBigUint64(h - 12, BigInt(out.length - h), true);
  view.setUint32(h - 4, crc32(out.subarray(h)), true);
  return out;
}

/** Each body section: its tag, the offset of its 16-byte section header, and its payload length. */
export function sections(plan: Uint8Array): Array<{ tag: string; at: number; length: number }> {
  const view = new DataView(plan.buffer, plan.byteOffset);
  const list = [];
  for (let at = headerLength(plan); at < plan.length; ) {
    const tag = new TextDecoder().decode(plan.subarray(at, at + 4));
    const length = Number(view.getBigUint64(at + 8, true));
    list.push({ tag, at, length });
    at += 16 + length;
  }
  return list;
}
