#include "plan/byte_io.h"

#include <cstring>

#include "ir/error.h"

namespace inferrt {

void ByteWriter::little(uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void ByteWriter::f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  u64(bits);
}

void ByteWriter::str(const std::string& s) {
  u32(static_cast<uint32_t>(s.size()));
  bytes(s.data(), s.size());
}

void ByteWriter::bytes(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  out_.insert(out_.end(), p, p + size);
}

void ByteWriter::dims(const Dims& d) {
  u32(static_cast<uint32_t>(d.size()));
  for (int64_t x : d) i64(x);
}

void ByteWriter::patchU64(size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) out_[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

void ByteReader::need(size_t n) {
  if (n > size_ - pos_)
    fail(ErrorCode::BadPlan, "truncated in ", where_, " at offset ", offset(), ": needs ", n, " more bytes, ",
         size_ - pos_, " left");
}

uint64_t ByteReader::little(int n) {
  need(static_cast<size_t>(n));
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
  pos_ += static_cast<size_t>(n);
  return v;
}

uint8_t ByteReader::u8() { return static_cast<uint8_t>(little(1)); }
uint32_t ByteReader::u32() { return static_cast<uint32_t>(little(4)); }
int32_t ByteReader::i32() { return static_cast<int32_t>(static_cast<uint32_t>(little(4))); }
uint64_t ByteReader::u64() { return little(8); }
int64_t ByteReader::i64() { return static_cast<int64_t>(little(8)); }

double ByteReader::f64() {
  const uint64_t bits = little(8);
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}

std::string ByteReader::str() {
  const uint32_t n = u32();
  const uint8_t* p = bytes(n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

Dims ByteReader::dims() {
  const size_t at = offset();
  const uint32_t rank = count(8, "dims");
  if (rank > 64) fail(ErrorCode::BadPlan, "corrupt ", where_, " at offset ", at, ": rank ", rank, " is over 64");
  Dims d(rank);
  for (uint32_t i = 0; i < rank; ++i) {
    d[i] = i64();
    if (d[i] < kDynamic) fail(ErrorCode::BadPlan, "corrupt ", where_, " at offset ", at, ": dim ", i, " is ", d[i]);
  }
  return d;
}

const uint8_t* ByteReader::bytes(size_t n) {
  need(n);
  const uint8_t* p = data_ + pos_;
  pos_ += n;
  return p;
}

uint32_t ByteReader::count(size_t minBytesEach, const char* what) {
  const size_t at = offset();
  const uint32_t n = u32();
  if (minBytesEach && n > remaining() / minBytesEach)
    fail(ErrorCode::BadPlan, "truncated in ", where_, " at offset ", at, ": ", n, " ", what, " need at least ",
         static_cast<uint64_t>(n) * minBytesEach, " bytes, ", remaining(), " left");
  return n;
}

ByteReader ByteReader::sub(size_t n, std::string where) {
  const size_t start = offset();
  const uint8_t* p = bytes(n);
  return ByteReader(p, n, start, std::move(where));
}

}  // namespace inferrt
