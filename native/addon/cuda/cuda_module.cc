#include "addon/cuda/cuda_module.h"

#include <climits>

#include "addon/addon_state.h"
#include "addon/convert.h"
#include "addon/cuda/addon_device_buffer.h"
#include "addon/cuda/addon_event.h"
#include "addon/cuda/addon_host_buffer.h"
#include "addon/cuda/addon_sparse_testing.h"
#include "addon/cuda/addon_stream.h"
#include "addon/cuda/cuda_state.h"
#include "addon/errors.h"
#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels/cudnn_int8_convolution.h"

namespace inferrt::addon {

namespace {

// cudaElapsedMs(start, end): milliseconds between two completed events.
Napi::Value elapsedMs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<CudaEvent> start = EventWrap::from(info[0], "elapsedMs: start");
  const std::shared_ptr<CudaEvent> end = EventWrap::from(info[1], "elapsedMs: end");
  return Napi::Number::New(env, guard(env, [&] { return CudaEvent::elapsedMs(*start, *end); }));
}

// cudaMemoryInfo(device): { free, total } in bytes.
Napi::Value memoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = static_cast<int>(toInt(info[0], "memoryInfo: device", 0, INT_MAX));
  const DeviceMemoryInfo m = guard(env, [&] { return deviceMemoryInfo(device); });
  Napi::Object o = Napi::Object::New(env);
  o.Set("free", static_cast<double>(m.free));
  o.Set("total", static_cast<double>(m.total));
  return o;
}

// cudnnPlanCounts(): { searches, replays } of INT8 cuDNN graph plans in this process (GPU suite hook).
Napi::Value cudnnPlanCounts(const Napi::CallbackInfo& info) {
  const cudnnint8::PlanCounts counts = cudnnint8::planCounts();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("searches", static_cast<double>(counts.searches));
  o.Set("replays", static_cast<double>(counts.replays));
  return o;
}

// Environment shutdown (process exit, a worker ending): no host function may fire into a dead environment.
// Deleting the state drops this environment's hold on the release thread; the last environment's drop frees
// what is queued and joins the thread while the CUDA runtime is still up. Frees after that (finalizers run
// later in teardown) happen inline, once the device is idle anyway.
void shutdown(AddonState* addon) {
  CudaState* cuda = addon->cuda;
  if (!cuda) return;
  addon->cuda = nullptr;
  cuda->completions->close();
  delete cuda;
}

}  // namespace

CudaState& cudaState(Napi::Env env) {
  CudaState* cuda = state(env).cuda;
  if (!cuda) throw makeError(env, ErrorCode::CudaError, "the CUDA part of the addon has shut down with its environment");
  return *cuda;
}

bool isInstance(const Napi::Value& v, const Napi::FunctionReference& cls) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(cls.Value());
}

void registerCudaExports(Napi::Env env, Napi::Object exports) {
  AddonState& addon = state(env);
  auto* cuda = new CudaState(env);
  addon.cuda = cuda;
  // Registered after the completion queue's thread-safe function, so it runs before that is torn down.
  env.AddCleanupHook(shutdown, &addon);

  Napi::Function stream = StreamWrap::define(env);
  Napi::Function event = EventWrap::define(env);
  Napi::Function deviceBuffer = DeviceBufferWrap::define(env);
  Napi::Function hostBuffer = HostBufferWrap::define(env);
  cuda->streamClass = Napi::Persistent(stream);
  cuda->eventClass = Napi::Persistent(event);
  cuda->deviceBufferClass = Napi::Persistent(deviceBuffer);
  cuda->hostBufferClass = Napi::Persistent(hostBuffer);
  exports.Set("CudaStream", stream);
  exports.Set("CudaEvent", event);
  exports.Set("DeviceBuffer", deviceBuffer);
  exports.Set("HostBuffer", hostBuffer);
  registerSparseTestingExports(env, exports);
  exports.Set("cudaElapsedMs", Napi::Function::New<elapsedMs>(env, "cudaElapsedMs"));
  exports.Set("cudaMemoryInfo", Napi::Function::New<memoryInfo>(env, "cudaMemoryInfo"));
  exports.Set("cudnnPlanCounts", Napi::Function::New<cudnnPlanCounts>(env, "cudnnPlanCounts"));
}

}  // namespace inferrt::addon
