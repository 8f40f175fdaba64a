// cudaSparseGemmTest(type, x, w, m, n, k, configId, device) -> Promise<{ y: Uint8Array, configCount }>: one
// cuSPARSELt GEMM from host operands, off the main thread, for the GPU suite's checks of the sparse kernel itself.
// type is 'fp16' or 'int8'; x [m, k] and w [n, k] (2:4 along k) as raw bytes of that type; y [m, n] comes back as
// fp16 or int32 bytes; configId < 0 runs the library's default configuration.
#include "addon/cuda/addon_sparse_testing.h"

#include <climits>
#include <cstring>

#include "addon/convert.h"
#include "addon/errors.h"
#include "backend/cuda/sparse/sparse_matmul.h"

namespace inferrt::addon {

namespace {

class SparseGemmWorker : public Napi::AsyncWorker {
 public:
  SparseGemmWorker(Napi::Env env, int device, sparselt::SparseGemmShape shape, std::vector<uint8_t> x,
                   std::vector<uint8_t> w, int32_t configId)
      : Napi::AsyncWorker(env, "inferrt.sparseGemmTest"),
        deferred_(env),
        device_(device),
        shape_(shape),
        x_(std::move(x)),
        w_(std::move(w)),
        configId_(configId) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (!catchOnWorker([&] { result_ = sparselt::runSparseGemmOnce(device_, shape_, x_.data(), w_.data(), configId_); },
                       error_))
      SetError(error_.message);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Uint8Array y = Napi::Uint8Array::New(env, result_.y.size());
    std::memcpy(y.Data(), result_.y.data(), result_.y.size());
    Napi::Object out = Napi::Object::New(env);
    out.Set("y", y);
    out.Set("configCount", result_.configCount);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error&) override { deferred_.Reject(makeError(Env(), error_.code, error_.message).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int device_;
  sparselt::SparseGemmShape shape_;
  std::vector<uint8_t> x_, w_;
  int32_t configId_;
  sparselt::SparseGemmResult result_;
  CaughtError error_;
};

std::vector<uint8_t> bytesOf(const Napi::Value& v, size_t expected, const std::string& what) {
  if (!v.IsTypedArray()) throw makeError(v.Env(), ErrorCode::InvalidArgument, what + " must be a typed array");
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  if (a.ByteLength() != expected)
    throw makeError(v.Env(), ErrorCode::ShapeMismatch,
                    what + " holds " + std::to_string(a.ByteLength()) + " bytes, expected " + std::to_string(expected));
  const uint8_t* data = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return std::vector<uint8_t>(data, data + expected);
}

Napi::Value sparseGemmTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string type = toString(info[0], "cudaSparseGemmTest: type");
  if (type != "fp16" && type != "int8")
    throw makeError(env, ErrorCode::InvalidArgument, "cudaSparseGemmTest: type must be 'fp16' or 'int8', got '" + type + "'");
  sparselt::SparseGemmShape shape;
  shape.type = type == "int8" ? sparselt::SparseType::Int8 : sparselt::SparseType::Half;
  shape.m = toInt(info[3], "cudaSparseGemmTest: m", 1, INT32_MAX);
  shape.n = toInt(info[4], "cudaSparseGemmTest: n", 1, INT32_MAX);
  shape.k = toInt(info[5], "cudaSparseGemmTest: k", 1, INT32_MAX);
  const auto configId = static_cast<int32_t>(toInt(info[6], "cudaSparseGemmTest: configId", -1, INT32_MAX));
  const int device = static_cast<int>(toInt(info[7], "cudaSparseGemmTest: device", 0, INT_MAX));
  const size_t elem = sparselt::operandBytes(shape.type);
  std::vector<uint8_t> x = bytesOf(info[1], static_cast<size_t>(shape.m * shape.k) * elem, "cudaSparseGemmTest: x");
  std::vector<uint8_t> w = bytesOf(info[2], static_cast<size_t>(shape.n * shape.k) * elem, "cudaSparseGemmTest: w");
  auto* worker = new SparseGemmWorker(env, device, shape, std::move(x), std::move(w), configId);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void registerSparseTestingExports(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaSparseGemmTest", Napi::Function::New<sparseGemmTest>(env, "cudaSparseGemmTest"));
}

}  // namespace inferrt::addon
