// One attribute value as plan bytes: a type tag (sections.h), then the value (strings and vectors length-prefixed),
// so equal bytes mean equal values. The plan writer stores attributes this way, and the builder's
// common-subexpression pass compares layers by them.
#pragma once
#include "ir/attributes.h"
#include "plan/byte_io.h"

namespace inferrt {

void writeAttributeValue(ByteWriter& w, const AttrValue& value);

}  // namespace inferrt
