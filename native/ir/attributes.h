// Layer attributes: a small typed map. Serialized in plans; set from JS (numbers arrive as int when integral).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace inferrt {

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

class Attributes {
 public:
  void set(const std::string& key, AttrValue value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  void erase(const std::string& key) { values_.erase(key); }

  // Getters convert int<->float where lossless; a wrong type throws InvalidArgument naming the key.
  int64_t getInt(const std::string& key) const;  // required
  int64_t getInt(const std::string& key, int64_t fallback) const;
  double getFloat(const std::string& key) const;
  double getFloat(const std::string& key, double fallback) const;
  std::string getString(const std::string& key) const;
  std::string getString(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> getInts(const std::string& key) const;
  std::vector<int64_t> getInts(const std::string& key, const std::vector<int64_t>& fallback) const;
  std::vector<double> getFloats(const std::string& key) const;
  std::vector<double> getFloats(const std::string& key, const std::vector<double>& fallback) const;

  const std::map<std::string, AttrValue>& all() const { return values_; }

 private:
  const AttrValue& require(const std::string& key) const;
  std::map<std::string, AttrValue> values_;  // ordered: serialization is deterministic
};

}  // namespace inferrt
