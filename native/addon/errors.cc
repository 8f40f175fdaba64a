#include "addon/errors.h"

#include "addon/addon_state.h"

namespace inferrt::addon {

Napi::Value setErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction())
    throw makeError(env, ErrorCode::InvalidArgument, "setErrorClass: ctor must be a constructor function");
  state(env).errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Promise rejectedPromise(Napi::Env env, const Napi::Error& error) {
  Napi::Promise::Deferred rejected(env);
  rejected.Reject(error.Value());
  return rejected.Promise();
}

Napi::Error makeError(Napi::Env env, ErrorCode code, const std::string& message) {
  AddonState& s = state(env);
  if (!s.errorClass.IsEmpty()) {
    Napi::Object error = s.errorClass.New({Napi::String::New(env, errorCodeName(code)), Napi::String::New(env, message)});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, errorCodeName(code)));
  return error;
}

}  // namespace inferrt::addon
