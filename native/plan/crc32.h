// CRC-32 (IEEE 802.3, as zlib's crc32) of the plan body.
#pragma once
#include <cstddef>
#include <cstdint>

namespace inferrt {

uint32_t crc32(const uint8_t* data, size_t size);

}  // namespace inferrt
