/**
 * Calibration scales as TensorRT's cache text stores them: the IEEE-754 float32 bit pattern of the scale,
 * printed as 8 hex digits (most significant first, like `%08x` of the 32-bit word). scale = amax / 127.
 */

/** The largest INT8 magnitude a symmetric scale maps amax onto. */
export const INT8_MAX = 127;

const word = new DataView(new ArrayBuffer(4));

/** The 8 lowercase hex digits of the float32 bit pattern of `scale` (rounded to float32 first). */
export function scaleToHex(scale: number): string {
  word.setFloat32(0, scale);
  return word.getUint32(0).toString(16).padStart(8, '0');
}

/** The float32 whose bit pattern the 8 hex digits spell. The caller checks the digits (see HEX_SCALE). */
export function hexToScale(hex: string): number {
  word.setUint32(0, Number.parseInt(hex, 16));
  return word.getFloat32(0);
}

/** Exactly 8 hex digits; TensorRT writes lowercase, uppercase is accepted on read. */
export const HEX_SCALE = /^[0-9a-fA-F]{8}$/;

/** The activation range a scale stands for: amax = scale * 127. */
export function amaxOf(scale: number): number {
  return scale * INT8_MAX;
}

/** The float32 scale that a calibrator stores for an activation range: scale = amax / 127. */
export function scaleOfAmax(amax: number): number {
  return Math.fround(amax / INT8_MAX);
}
