#include "ir/error.h"

namespace inferrt {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "INVALID_ARGUMENT";
    case ErrorCode::InvalidModel: return "INVALID_MODEL";
    case ErrorCode::UnsupportedOp: return "UNSUPPORTED_OP";
    case ErrorCode::ShapeMismatch: return "SHAPE_MISMATCH";
    case ErrorCode::DTypeMismatch: return "DTYPE_MISMATCH";
    case ErrorCode::BadPlan: return "BAD_PLAN";
    case ErrorCode::OutOfMemory: return "OUT_OF_MEMORY";
    case ErrorCode::CudaError: return "CUDA_ERROR";
    case ErrorCode::Disposed: return "DISPOSED";
    case ErrorCode::Internal: return "INTERNAL";
  }
  return "INTERNAL";
}

}  // namespace inferrt
