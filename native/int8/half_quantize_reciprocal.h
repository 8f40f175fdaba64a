// QuantizeLinear divides (saturate(round-half-even(x / s))); kernels that quantize fp16 values in their own stores
// (a layer norm's or attention's int8 output) would rather multiply by 1 / s: a float division's slow path costs
// them registers (the fp16 layer norm dropped from 3 blocks per SM to 2). Multiplying is exact for a scale when it
// gives every fp16 value the division's int8 value, which 65,536 bit patterns settle once per scale.
#pragma once

namespace inferrt {

// RN(1 / s) when x * RN(1 / s) and x / s (each rounded to float32) quantize every fp16 value x alike (saturated to
// [-128, 127], NaN to 0), else 0 (the kernel divides). Memoized per scale; thread-safe. s: finite, > 0.
float halfQuantizeReciprocal(float s);

}  // namespace inferrt
