// Little-endian byte writing and bounds-checked reading for plan files. Every read checks the bytes left in
// its container first and fails with BadPlan naming the section and file offset; counts are capped by the
// bytes left, so a corrupt length can never cause a huge allocation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ir/dims.h"

namespace inferrt {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) { little(v, 4); }
  void i32(int32_t v) { little(static_cast<uint32_t>(v), 4); }
  void u64(uint64_t v) { little(v, 8); }
  void i64(int64_t v) { little(static_cast<uint64_t>(v), 8); }
  void f64(double v);
  void str(const std::string& s);
  void bytes(const void* data, size_t size);
  void dims(const Dims& d);  // u32 rank + i64 each
  // Patches a u64 written earlier at `offset` (section lengths).
  void patchU64(size_t offset, uint64_t v);
  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& buffer() { return out_; }

 private:
  void little(uint64_t v, int n);
  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  // `base` is the file offset of data[0]; `where` names the container in messages ("section 'LAYR'").
  ByteReader(const uint8_t* data, size_t size, size_t base, std::string where)
      : data_(data), size_(size), base_(base), where_(std::move(where)) {}

  uint8_t u8();
  uint32_t u32();
  int32_t i32();
  uint64_t u64();
  int64_t i64();
  double f64();
  std::string str();
  Dims dims();  // rank <= 64, each >= -1
  const uint8_t* bytes(size_t n);
  // A u32 element count, checked so that count * minBytesEach fits in what is left.
  uint32_t count(size_t minBytesEach, const char* what);
  // A reader over the next n bytes (which this one skips).
  ByteReader sub(size_t n, std::string where);

  size_t remaining() const { return size_ - pos_; }
  size_t offset() const { return base_ + pos_; }
  bool atEnd() const { return pos_ == size_; }
  const std::string& where() const { return where_; }

 private:
  void need(size_t n);
  uint64_t little(int n);
  const uint8_t* data_;
  size_t size_;
  size_t base_;
  size_t pos_ = 0;
  std::string where_;
};

}  // namespace inferrt
