// The binary ElementWise ops (ONNX semantics) and the fp32 scalar arithmetic of their float forms, shared by the
// CPU ElementWise kernel and the fused Pointwise kernel (backend/cpu/pointwise.cc), so a fused chain computes
// exactly what its unfused layers do. Names are parsed once per kernel call, not per element.
#pragma once
#include <cmath>
#include <string>

#include "ir/error.h"

namespace inferrt {

enum class BinaryOp {
  Add, Sub, Mul, Div, Pow, Max, Min, Mod, FMod, PRelu, And, Or, Xor, Equal, Less, Greater, LessEqual, GreaterEqual,
};

// False when `name` is no ElementWise op.
inline bool findBinaryOp(const std::string& name, BinaryOp* op) {
  static const struct { const char* name; BinaryOp op; } kTable[] = {
      {"add", BinaryOp::Add},     {"sub", BinaryOp::Sub},     {"mul", BinaryOp::Mul},   {"div", BinaryOp::Div},
      {"pow", BinaryOp::Pow},     {"max", BinaryOp::Max},     {"min", BinaryOp::Min},   {"mod", BinaryOp::Mod},
      {"fmod", BinaryOp::FMod},   {"prelu", BinaryOp::PRelu}, {"and", BinaryOp::And},   {"or", BinaryOp::Or},
      {"xor", BinaryOp::Xor},     {"equal", BinaryOp::Equal}, {"less", BinaryOp::Less}, {"greater", BinaryOp::Greater},
      {"less_equal", BinaryOp::LessEqual}, {"greater_equal", BinaryOp::GreaterEqual},
  };
  for (const auto& e : kTable) {
    if (name != e.name) continue;
    *op = e.op;
    return true;
  }
  return false;
}

inline BinaryOp parseBinaryOp(const std::string& name) {
  BinaryOp op;
  if (!findBinaryOp(name, &op)) fail(ErrorCode::InvalidArgument, "unknown ElementWise op '", name, "'");
  return op;
}

inline bool isComparison(BinaryOp op) { return op >= BinaryOp::Equal; }
inline bool isLogic(BinaryOp op) { return op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Xor; }
// The ops that map floats to floats (the rest compare, or take bool).
inline bool isFloatArithmetic(BinaryOp op) { return op <= BinaryOp::PRelu; }

// pow of a float base: evaluated in double (exact wherever glibc's pow is), rounded once to float.
inline float floatPow(float x, double y) { return static_cast<float>(std::pow(static_cast<double>(x), y)); }

// Calls fn(f) with f(float x, float y) -> float, the fp32 arithmetic of `op` (pow through floatPow), so callers
// run one tight loop per op. Returns false, calling nothing, for an op that is not float arithmetic.
template <typename Fn>
bool withFloatArithmetic(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::Add: fn([](float x, float y) { return x + y; }); return true;
    case BinaryOp::Sub: fn([](float x, float y) { return x - y; }); return true;
    case BinaryOp::Mul: fn([](float x, float y) { return x * y; }); return true;
    case BinaryOp::Div: fn([](float x, float y) { return x / y; }); return true;
    case BinaryOp::Pow: fn([](float x, float y) { return floatPow(x, static_cast<double>(y)); }); return true;
    case BinaryOp::Max: fn([](float x, float y) { return x != x || y != y ? NAN : (x > y ? x : y); }); return true;
    case BinaryOp::Min: fn([](float x, float y) { return x != x || y != y ? NAN : (x < y ? x : y); }); return true;
    case BinaryOp::FMod: fn([](float x, float y) { return std::fmod(x, y); }); return true;
    case BinaryOp::Mod:  // np.mod: the result takes the divisor's sign
      fn([](float x, float y) {
        float r = std::fmod(x, y);
        return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
      });
      return true;
    case BinaryOp::PRelu: fn([](float x, float y) { return x < 0 ? x * y : x; }); return true;
    default: return false;
  }
}

}  // namespace inferrt
