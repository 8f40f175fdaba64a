#include "addon/cuda/context_cuda_calls.h"

#include <memory>
#include <utility>

#include "addon/convert.h"
#include "addon/cuda/addon_device_buffer.h"
#include "addon/cuda/addon_stream.h"
#include "addon/errors.h"

namespace inferrt::addon {

namespace {

// Enqueues on a worker thread (planning a new shape signature and the first eager run take host time), holding
// the stream, the buffers and the context's JS object until done.
class EnqueueWorker : public Napi::AsyncWorker {
 public:
  EnqueueWorker(Napi::Env env, ContextWrap* wrap, std::shared_ptr<ContextRunner> runner, EnqueueRequest request,
                std::shared_ptr<CudaStream> stream)
      : Napi::AsyncWorker(env, "inferrt.enqueue"),
        deferred_(env),
        wrap_(wrap),
        runner_(std::move(runner)),
        request_(std::move(request)),
        stream_(std::move(stream)) {
    wrap_->Ref();
  }
  ~EnqueueWorker() override { wrap_->Unref(); }
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (!catchOnWorker([&] { runner_->enqueue(request_, stream_->handle()); }, error_)) SetError(error_.message);
  }
  void OnOK() override {
    wrap_->finishInfer();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error&) override {
    wrap_->finishInfer();
    deferred_.Reject(makeError(Env(), error_.code, error_.message).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ContextWrap* wrap_;
  std::shared_ptr<ContextRunner> runner_;
  EnqueueRequest request_;  // its bindings keep the buffers alive while the run is enqueued
  std::shared_ptr<CudaStream> stream_;
  CaughtError error_;
};

}  // namespace

Napi::Value ContextCudaCalls::setTensorAddress(ContextWrap& wrap, ExecutionContext& ctx, const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (wrap.busy())
    throw makeError(env, ErrorCode::InvalidArgument, "setTensorAddress: an infer or enqueue is in flight; await it first");
  const std::string name = toString(info[0], "setTensorAddress: name");
  TensorBinding binding;
  if (!info[1].IsNull() && !info[1].IsUndefined()) {
    std::shared_ptr<DeviceMemory> memory = DeviceBufferWrap::from(info[1], "setTensorAddress: buffer");
    if (memory->device() != ctx.engine()->info().device)
      throw makeError(env, ErrorCode::InvalidArgument,
                      "setTensorAddress: the buffer for '" + name + "' is on device " + std::to_string(memory->device()) +
                          " but the engine runs on device " + std::to_string(ctx.engine()->info().device));
    binding.address = memory->data();
    binding.bytes = memory->size();
    binding.keepAlive = memory;
  }
  guard(env, [&] { ctx.setTensorAddress(name, std::move(binding)); });
  return env.Undefined();
}

Napi::Value ContextCudaCalls::enqueue(ContextWrap& wrap, ExecutionContext& ctx, const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (wrap.busy())
    throw makeError(env, ErrorCode::InvalidArgument, "enqueue: an infer or enqueue is in flight on this context; await it first");
  std::shared_ptr<CudaStream> stream = StreamWrap::from(info[0], "enqueue: stream");
  if (stream->device() != ctx.engine()->info().device)
    throw makeError(env, ErrorCode::InvalidArgument,
                    "enqueue: the stream is on device " + std::to_string(stream->device()) + " but the engine runs on device " +
                        std::to_string(ctx.engine()->info().device));
  EnqueueRequest request = guard(env, [&] { return ctx.prepareEnqueue(); });
  std::shared_ptr<ContextRunner> runner = guard(env, [&] { return ctx.runner(); });
  auto* worker = new EnqueueWorker(env, &wrap, std::move(runner), std::move(request), std::move(stream));
  Napi::Promise promise = worker->promise();
  wrap.startCall();
  worker->Queue();
  return promise;
}

}  // namespace inferrt::addon
