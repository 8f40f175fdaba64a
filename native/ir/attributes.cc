#include "ir/attributes.h"

#include <cmath>

#include "ir/error.h"

namespace inferrt {

namespace {
// An integral double that fits int64 (casting one that does not, or an infinity, is undefined behaviour).
bool isInt64(double d) { return std::floor(d) == d && d >= -0x1p63 && d < 0x1p63; }
}  // namespace

const AttrValue& Attributes::require(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) fail(ErrorCode::InvalidArgument, "missing attribute '", key, "'");
  return it->second;
}

int64_t Attributes::getInt(const std::string& key) const {
  const AttrValue& v = require(key);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  if (auto d = std::get_if<double>(&v); d && isInt64(*d)) return static_cast<int64_t>(*d);
  fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be an integer in int64 range");
}
int64_t Attributes::getInt(const std::string& key, int64_t fallback) const {
  return has(key) ? getInt(key) : fallback;
}

double Attributes::getFloat(const std::string& key) const {
  const AttrValue& v = require(key);
  if (auto d = std::get_if<double>(&v)) return *d;
  if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be a number");
}
double Attributes::getFloat(const std::string& key, double fallback) const {
  return has(key) ? getFloat(key) : fallback;
}

std::string Attributes::getString(const std::string& key) const {
  const AttrValue& v = require(key);
  if (auto s = std::get_if<std::string>(&v)) return *s;
  fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be a string");
}
std::string Attributes::getString(const std::string& key, const std::string& fallback) const {
  return has(key) ? getString(key) : fallback;
}

std::vector<int64_t> Attributes::getInts(const std::string& key) const {
  const AttrValue& v = require(key);
  if (auto p = std::get_if<std::vector<int64_t>>(&v)) return *p;
  if (auto d = std::get_if<std::vector<double>>(&v)) {
    std::vector<int64_t> out;
    for (double x : *d) {
      if (!isInt64(x)) fail(ErrorCode::InvalidArgument, "attribute '", key, "' must hold integers in int64 range");
      out.push_back(static_cast<int64_t>(x));
    }
    return out;
  }
  if (auto p = std::get_if<int64_t>(&v)) return {*p};
  fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be a list of integers");
}
std::vector<int64_t> Attributes::getInts(const std::string& key, const std::vector<int64_t>& fallback) const {
  return has(key) ? getInts(key) : fallback;
}

std::vector<double> Attributes::getFloats(const std::string& key) const {
  const AttrValue& v = require(key);
  if (auto d = std::get_if<std::vector<double>>(&v)) return *d;
  if (auto p = std::get_if<std::vector<int64_t>>(&v)) return std::vector<double>(p->begin(), p->end());
  if (auto d = std::get_if<double>(&v)) return {*d};
  if (auto p = std::get_if<int64_t>(&v)) return {static_cast<double>(*p)};
  fail(ErrorCode::InvalidArgument, "attribute '", key, "' must be a list of numbers");
}
std::vector<double> Attributes::getFloats(const std::string& key, const std::vector<double>& fallback) const {
  return has(key) ? getFloats(key) : fallback;
}

}  // namespace inferrt
