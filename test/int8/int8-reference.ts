/**
 * An INT8 reference written here in plain JS, independent of the native code: the arithmetic the INT8 layers
 * promise (README "INT8"), step by step in float32 (Math.fround) and exact integers.
 */

/** Round half to even, as the native std::nearbyint and CUDA's __float2int_rn do. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function quantize(v: number, scale: number): number {
  return Math.max(-128, Math.min(127, roundHalfEven(Math.fround(v / scale))));
}

/** Per output channel weight scales amax / 127 over `channels` channels; element i is in channel channelOf(i). */
export function weightScales(w: Float32Array, channels: number, channelOf: (i: number) => number): number[] {
  const amax = new Array<number>(channels).fill(0);
  w.forEach((v, i) => {
    amax[channelOf(i)] = Math.max(amax[channelOf(i)], Math.abs(v));
  });
  return amax.map((a) => (a > 0 ? Math.fround(a / 127) : 1));
}

/** The epilogue: float(acc) * (inputScale * weightScale), + bias, then relu; each step rounded to float32. */
export function dequantize(acc: number, inputScale: number, weightScale: number, bias: number, relu: boolean): number {
  let v = Math.fround(Math.fround(acc) * Math.fround(Math.fround(inputScale * weightScale) * 1));
  v = Math.fround(v + bias);
  return relu && v < 0 ? 0 : v;
}

/** y[m, n] of an INT8 MatMul x [M, K] · w [K, N] + bias, relu. */
export function int8MatMul(x: Float32Array, w: Float32Array, bias: Float32Array, m: number, k: number, n: number, inputScale: number, relu: boolean): Float32Array {
  const ws = weightScales(w, n, (i) => i % n);
  const xq = Array.from(x, (v) => quantize(v, inputScale));
  const wq = Array.from(w, (v, i) => quantize(v, ws[i % n]));
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += xq[i * k + p] * wq[p * n + j];
      y[i * n + j] = dequantize(acc, inputScale, ws[j], bias[j], relu);
    }
  }
  return y;
}

/** y of an INT8 2-D convolution, NCHW, square kernel, stride 1, symmetric padding, + bias, relu. */
export function int8Conv2d(
  x: Float32Array, xDims: [number, number, number, number], w: Float32Array, wDims: [number, number, number, number],
  bias: Float32Array, pad: number, inputScale: number, relu: boolean,
): Float32Array {
  const [batch, c, h, wd] = xDims;
  const [m, , kh, kw] = wDims;
  const taps = c * kh * kw;
  const ws = weightScales(w, m, (i) => Math.floor(i / taps));
  const xq = Array.from(x, (v) => quantize(v, inputScale));
  const wq = Array.from(w, (v, i) => quantize(v, ws[Math.floor(i / taps)]));
  const oh = h + 2 * pad - kh + 1, ow = wd + 2 * pad - kw + 1;
  const y = new Float32Array(batch * m * oh * ow);
  for (let b = 0; b < batch; b++)
    for (let o = 0; o < m; o++)
      for (let r = 0; r < oh; r++)
        for (let s = 0; s < ow; s++) {
          let acc = 0;
          for (let ch = 0; ch < c; ch++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const ir = r + i - pad, is = s + j - pad;
                if (ir < 0 || ir >= h || is < 0 || is >= wd) continue;
                acc += xq[((b * c + ch) * h + ir) * wd + is] * wq[((o * c + ch) * kh + i) * kw + j];
              }
          y[((b * m + o) * oh + r) * ow + s] = dequantize(acc, inputScale, ws[o], bias[o], relu);
        }
  return y;
}

/** float32 max |x|. */
export function maxAbs(x: Float32Array): number {
  let a = 0;
  for (const v of x) a = Math.max(a, Math.abs(v));
  return a;
}

/**
 * erf in double: 2/sqrt(pi) * exp(-x^2) * sum of 2^n x^(2n+1) / (1 * 3 * ... * (2n + 1)), a series of positive terms
 * (no cancellation), to about 1e-15 relative; +-1 beyond |x| = 6, where erf rounds to +-1 in double anyway.
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  let term = a, sum = a;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

/** Exact GELU as the CPU kernel evaluates it: 0.5 x (1 + erf(x / sqrt 2)) in double, rounded to float32. */
export function gelu(x: number): number {
  return Math.fround(0.5 * x * (1 + erf(x / Math.SQRT2)));
}
