#include "plan/attribute_bytes.h"

#include "plan/sections.h"

namespace inferrt {

using namespace plan_sections;

void writeAttributeValue(ByteWriter& w, const AttrValue& value) {
  if (auto p = std::get_if<int64_t>(&value)) {
    w.u8(kAttrInt);
    w.i64(*p);
  } else if (auto d = std::get_if<double>(&value)) {
    w.u8(kAttrFloat);
    w.f64(*d);
  } else if (auto s = std::get_if<std::string>(&value)) {
    w.u8(kAttrString);
    w.str(*s);
  } else if (auto v = std::get_if<std::vector<int64_t>>(&value)) {
    w.u8(kAttrInts);
    w.u32(static_cast<uint32_t>(v->size()));
    for (int64_t x : *v) w.i64(x);
  } else {
    const auto& f = std::get<std::vector<double>>(value);
    w.u8(kAttrFloats);
    w.u32(static_cast<uint32_t>(f.size()));
    for (double x : f) w.f64(x);
  }
}

}  // namespace inferrt
