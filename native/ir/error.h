// The one exception type of the native core. The addon turns it into a JS InferrtError with the same code.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace inferrt {

// Stable codes; the TypeScript ErrorCode union mirrors these names.
enum class ErrorCode {
  InvalidArgument,  // INVALID_ARGUMENT: a caller passed something malformed
  InvalidModel,     // INVALID_MODEL: the network/ONNX graph is inconsistent
  UnsupportedOp,    // UNSUPPORTED_OP
  ShapeMismatch,    // SHAPE_MISMATCH
  DTypeMismatch,    // DTYPE_MISMATCH
  BadPlan,          // BAD_PLAN
  OutOfMemory,      // OUT_OF_MEMORY
  CudaError,        // CUDA_ERROR
  Disposed,         // DISPOSED
  Internal,         // INTERNAL: a bug in inferrt
};

const char* errorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Builds a message from streamable parts: fail(ErrorCode::ShapeMismatch, "expected ", a, " got ", b).
template <typename... Parts>
[[noreturn]] void fail(ErrorCode code, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(code, os.str());
}

}  // namespace inferrt
