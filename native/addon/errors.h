// Native errors as JS errors: every inferrt::Error becomes `new ErrorClass(codeName, message)` (the class
// registered with setErrorClass; a plain Error with a `code` property before that).
#pragma once
#include <napi.h>

#include <new>
#include <string>

#include "ir/error.h"

namespace inferrt::addon {

Napi::Value setErrorClass(const Napi::CallbackInfo& info);

// The JS error object for a code and message.
Napi::Error makeError(Napi::Env env, ErrorCode code, const std::string& message);

// A Promise already rejected with `error`: async entry points report bad arguments this way, not by throwing.
Napi::Promise rejectedPromise(Napi::Env env, const Napi::Error& error);

// Runs `fn`, rethrowing core failures as JS errors (Napi::Error, thrown to JS by node-addon-api).
template <typename Fn>
auto guard(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw makeError(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw makeError(env, ErrorCode::OutOfMemory, "out of host memory");
  } catch (const std::exception& e) {
    throw makeError(env, ErrorCode::Internal, e.what());
  }
}

// A failure caught on a worker thread, turned into a JS error later on the main thread.
struct CaughtError {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};
// Runs `fn` on a worker thread; returns false and fills `out` on failure.
template <typename Fn>
bool catchOnWorker(Fn&& fn, CaughtError& out) {
  try {
    fn();
    return true;
  } catch (const Error& e) {
    out = {e.code(), e.what()};
  } catch (const std::bad_alloc&) {
    out = {ErrorCode::OutOfMemory, "out of host memory"};
  } catch (const std::exception& e) {
    out = {ErrorCode::Internal, e.what()};
  }
  return false;
}

}  // namespace inferrt::addon
