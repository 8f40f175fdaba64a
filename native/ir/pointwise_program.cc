// Reading and writing Pointwise programs (see pointwise_program.h and the grammar in native/ir/LAYERS.md).
#include "ir/pointwise_program.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <locale>
#include <sstream>

#include "ir/error.h"
#include "ir/op_registry.h"

namespace inferrt {

namespace {

const char* const kSpace = " \t\r\n\f\v";

const char* const kOpList =
    "add sub mul div pow max min mod fmod prelu (ElementWise); abs neg sign exp log sqrt reciprocal floor ceil "
    "round sin cos tan asin acos atan sinh cosh asinh acosh atanh erf (Unary); relu sigmoid tanh leaky_relu elu "
    "selu clip hard_sigmoid hard_swish softplus softsign gelu thresholded_relu celu mish (Activation)";

// A cursor over one step's text; every failure names the step.
class StepReader {
 public:
  StepReader(const std::string& text, int index) : s_(text), index_(index) {}

  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(ErrorCode::InvalidArgument, "program step ", index_, " '", s_, "': ", parts...);
  }

  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool atEnd() {
    skipSpace();
    return pos_ == s_.size();
  }
  bool accept(char c) {
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* where) {
    if (!accept(c)) bad("expected '", c, "' ", where);
  }
  // [A-Za-z_][A-Za-z0-9_]*, or "" when none starts here.
  std::string identifier() {
    skipSpace();
    const size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    if (start < s_.size() && std::isdigit(static_cast<unsigned char>(s_[start]))) pos_ = start;
    return s_.substr(start, pos_ - start);
  }
  // The text up to the next ',' or ']' (a parameter value), trimmed.
  std::string value() {
    skipSpace();
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ']') ++pos_;
    size_t end = pos_;
    while (end > start && std::isspace(static_cast<unsigned char>(s_[end - 1]))) --end;
    return s_.substr(start, end - start);
  }

 private:
  const std::string& s_;
  int index_;
  size_t pos_ = 0;
};

// A decimal number (or inf, -inf, nan) read in the classic locale, whatever the process's locale is; false
// unless `v` is exactly one number.
bool parseNumber(const std::string& v, double* d) {
  if (v == "inf" || v == "+inf" || v == "-inf" || v == "nan") {
    *d = v == "nan" ? NAN : (v[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  std::istringstream is(v);
  is.imbue(std::locale::classic());
  is >> *d;
  return !v.empty() && !is.fail() && is.peek() == std::char_traits<char>::eof();
}

// "x3" -> ('x', 3); false unless one letter and decimal digits (no sign, no leading zeros).
bool splitName(const std::string& name, char* letter, int* number) {
  if (name.size() < 2 || name.size() > 4 || (name[1] == '0' && name.size() > 2)) return false;
  for (size_t i = 1; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  *letter = name[0];
  *number = std::atoi(name.c_str() + 1);
  return true;
}

// Whether Activation op `op` reads parameter `name` (LAYERS.md's Activation row; the others ignore it).
bool takesParam(const std::string& op, const std::string& name) {
  if (name == "approximate") return op == "gelu";
  const bool beta = op == "selu" || op == "clip" || op == "hard_sigmoid";
  if (name == "beta") return beta;
  return beta || op == "leaky_relu" || op == "elu" || op == "thresholded_relu" || op == "celu";  // alpha
}

// Reads "[name=value, ...]" into attrs (numbers for alpha/beta, a word for approximate).
void readParams(StepReader& r, const std::string& op, Attributes& attrs) {
  if (r.accept(']')) r.bad("empty parameter list");
  do {
    const std::string name = r.identifier();
    if (name != "alpha" && name != "beta" && name != "approximate")
      r.bad("unknown parameter '", name, "' of ", op, "; expected alpha, beta or approximate");
    if (!takesParam(op, name)) r.bad(op, " takes no parameter '", name, "'");
    if (attrs.has(name)) r.bad("parameter '", name, "' given twice");
    r.expect('=', ("after parameter '" + name + "'").c_str());
    const std::string v = r.value();
    if (name == "approximate") {
      attrs.set(name, v);
      continue;
    }
    double d = 0;
    if (!parseNumber(v, &d)) r.bad("parameter '", name, "' needs a number, got '", v, "'");
    attrs.set(name, d);
  } while (r.accept(','));
  r.expect(']', "to close the parameter list");
}

PointwiseStep readStep(const std::string& text, int index, int numInputs) {
  StepReader r(text, index);
  PointwiseStep step;
  step.text = text;
  char letter = 0;
  int number = -1;
  const std::string target = r.identifier();
  if (!splitName(target, &letter, &number) || letter != 't' || number != index)
    r.bad("must define ", pointwiseStepName(index), " (steps are numbered in order), got '", target, "'");
  r.expect('=', ("after " + target).c_str());
  const std::string op = r.identifier();
  if (op.empty()) r.bad("expected an op name after '='");
  int arity = 1;
  if (findBinaryOp(op, &step.binary) && isFloatArithmetic(step.binary)) {
    step.kind = PointwiseStepKind::Binary;
    arity = 2;
  } else if (findUnaryOp(op, &step.unary) && isFloatUnary(step.unary)) {
    step.kind = PointwiseStepKind::Unary;
  } else if (findActivationDefaults(op)) {
    step.kind = PointwiseStepKind::Activation;
  } else {
    r.bad("unknown op '", op, "'; expected one of ", kOpList);
  }
  step.attrs.set("op", op);
  if (r.accept('[')) {
    if (step.kind != PointwiseStepKind::Activation) r.bad(op, " takes no parameters");
    readParams(r, op, step.attrs);
  }
  r.expect('(', ("after " + op).c_str());
  std::vector<int> slots;
  do {
    const std::string name = r.identifier();
    if (!splitName(name, &letter, &number) || (letter != 'x' && letter != 't'))
      r.bad("operand '", name, "' is neither an input x<i> nor a step result t<k>");
    if (letter == 'x' && number >= numInputs) r.bad("operand ", name, " names input ", number, " of ", numInputs);
    if (letter == 't' && number >= index) r.bad("operand ", name, " is not an earlier step's result");
    slots.push_back(letter == 'x' ? number : numInputs + number);
  } while (r.accept(','));
  r.expect(')', "to close the operand list");
  if (!r.atEnd()) r.bad("unexpected text after ')'");
  if (static_cast<int>(slots.size()) != arity)
    r.bad(op, " takes ", arity, arity == 1 ? " operand" : " operands", ", got ", slots.size());
  step.a = slots[0];
  step.b = arity == 2 ? slots[1] : -1;
  // Checked exactly as the unfused layer would be (its shape rule), then resolved as its kernel resolves it.
  Layer layer;
  layer.kind = pointwiseStepLayerKind(step.kind);
  layer.attrs = step.attrs;
  layer.outputs = {0};
  TensorDesc scalar;
  try {
    findOpSchema(layer.kind)->inferShapes(layer, std::vector<TensorDesc>(arity, scalar));
    if (step.kind == PointwiseStepKind::Activation) step.activation = parseActivation(step.attrs);
  } catch (const Error& e) {
    r.bad(e.what());
  }
  return step;
}

// The shortest decimal that parseNumber reads back as `d`.
std::string shortestDecimal(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::string text;
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream os;
    os.imbue(std::locale::classic());
    os << std::setprecision(precision) << d;
    text = os.str();
    double back = 0;
    if (parseNumber(text, &back) && back == d) break;
  }
  return text;
}

}  // namespace

const char* pointwiseStepLayerKind(PointwiseStepKind kind) {
  switch (kind) {
    case PointwiseStepKind::Binary: return "ElementWise";
    case PointwiseStepKind::Unary: return "Unary";
    case PointwiseStepKind::Activation: return "Activation";
  }
  return "?";
}

PointwiseProgram parsePointwiseProgram(const std::string& text, int numInputs) {
  if (numInputs < 1 || numInputs > kPointwiseMaxInputs)
    fail(ErrorCode::InvalidArgument, "a Pointwise layer takes 1 to ", kPointwiseMaxInputs, " inputs, got ", numInputs);
  PointwiseProgram program;
  program.numInputs = numInputs;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(';', start);
    std::string piece = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const int index = static_cast<int>(program.steps.size());
    if (index == kPointwiseMaxSteps)
      fail(ErrorCode::InvalidArgument, "program has more than ", kPointwiseMaxSteps, " steps");
    const size_t first = piece.find_first_not_of(kSpace);
    if (first == std::string::npos)
      fail(ErrorCode::InvalidArgument, "program step ", index, " is empty (program '", text, "')");
    piece = piece.substr(first, piece.find_last_not_of(kSpace) + 1 - first);  // messages quote the step trimmed
    program.steps.push_back(readStep(piece, index, numInputs));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return program;
}

std::string pointwiseInputName(int i) { return "x" + std::to_string(i); }
std::string pointwiseStepName(int k) { return "t" + std::to_string(k); }

std::string formatPointwiseStep(int index, const Attributes& attrs, const std::vector<std::string>& operands) {
  std::string s = pointwiseStepName(index) + "=" + attrs.getString("op");
  std::string params;
  const std::string op = attrs.getString("op");
  for (const char* key : {"alpha", "beta"})  // only what the op reads: the unfused layer ignores the rest
    if (attrs.has(key) && takesParam(op, key)) params += (params.empty() ? "" : ",") + std::string(key) + "=" + shortestDecimal(attrs.getFloat(key));
  if (attrs.has("approximate") && takesParam(op, "approximate")) params += (params.empty() ? "" : ",") + std::string("approximate=") + attrs.getString("approximate");
  if (!params.empty()) s += "[" + params + "]";
  s += "(";
  for (size_t i = 0; i < operands.size(); ++i) s += (i ? "," : "") + operands[i];
  return s + ")";
}

}  // namespace inferrt
