// IEEE fp16 <-> fp32 conversion (round to nearest even), used by fp16 tensors and fp16 emulation.
#pragma once
#include <cstdint>

namespace inferrt {

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
// Rounds a float to the nearest value an fp16 can hold (what storing in fp16 then reading back gives).
inline float roundToHalf(float f) { return halfToFloat(floatToHalf(f)); }

}  // namespace inferrt
