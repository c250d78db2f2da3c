#include "bindings.h"

#include "registry.h"

namespace rt {

bool Args::Check(bool cond, const char* what) {
  return Require(cond, what, "");
}

bool Args::Require(bool cond, const char* what, const char* suffix) {
  if (!ok_) return false;
  if (cond) return true;
  ok_ = false;
  Napi::TypeError::New(env(),
                       std::string("reactor-threads native: ") + what + suffix)
      .ThrowAsJavaScriptException();
  return false;
}

uint32_t Args::U32(size_t i, const char* what) {
  if (!Require(i < Length() && info_[i].IsNumber(), what, " expected"))
    return 0;
  return info_[i].As<Napi::Number>().Uint32Value();
}

double Args::F64(size_t i, const char* what) {
  if (!Require(i < Length() && info_[i].IsNumber(), what, " expected"))
    return 0;
  return info_[i].As<Napi::Number>().DoubleValue();
}

std::optional<uint32_t> Args::OptU32(size_t i) {
  if (!ok_ || i >= Length() || !info_[i].IsNumber()) return std::nullopt;
  return info_[i].As<Napi::Number>().Uint32Value();
}

std::optional<double> Args::OptF64(size_t i) {
  if (!ok_ || i >= Length() || !info_[i].IsNumber()) return std::nullopt;
  return info_[i].As<Napi::Number>().DoubleValue();
}

std::optional<std::string> Args::OptString(size_t i) {
  if (!ok_ || i >= Length() || !info_[i].IsString()) return std::nullopt;
  return info_[i].As<Napi::String>().Utf8Value();
}

bool Args::Flag(size_t i) {
  if (!ok_ || i >= Length()) return false;
  // JavaScript's truthiness, read without napi_coerce_to_bool: that call
  // is refused once the calling Worker is being terminated (the pool ends
  // a thread still starting: ThreadPool.stop()), and node-addon-api's
  // error for the refusal then ends the whole process. Nothing here is.
  napi_env env = info_.Env();
  napi_value v = info_[i];
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return false;
  switch (type) {
    case napi_undefined:
    case napi_null:
      return false;
    case napi_boolean: {
      bool b = false;
      return napi_get_value_bool(env, v, &b) == napi_ok && b;
    }
    case napi_number: {
      double d = 0;
      return napi_get_value_double(env, v, &d) == napi_ok && d == d && d != 0;
    }
    case napi_string: {
      size_t length = 0;
      return napi_get_value_string_utf8(env, v, nullptr, 0, &length) == napi_ok && length > 0;
    }
    default:
      return true;  // (a bigint 0n is not passed here)
  }
}

std::vector<uint8_t> Args::Bytes(size_t i, const char* what) {
  if (!Require(i < Length() && info_[i].IsBuffer(), what, " expected"))
    return {};
  auto b = info_[i].As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

napi_value Args::Function(size_t i, const char* what) {
  if (!Require(i < Length() && info_[i].IsFunction(), what, " expected"))
    return nullptr;
  return info_[i];
}

EnvState* Args::State() {
  return rt::State(env());
}

const std::shared_ptr<Reactor>& Args::OwnReactor() {
  const std::shared_ptr<Reactor>& reactor = State()->reactor;
  Check(reactor != nullptr, "init() first");
  return reactor;  // null when the check failed
}

std::shared_ptr<Pool> Args::PoolArg(size_t i) {
  uint32_t id = U32(i, "pool id");
  if (!ok_) return nullptr;
  auto pool = Registry::Get().FindPool(id);
  if (!Check(pool != nullptr, "unknown pool")) return nullptr;
  return pool;
}

std::shared_ptr<Pool> Args::PoolIfAny(size_t i) {
  uint32_t id = U32(i, "pool id");
  if (!ok_) return nullptr;
  return Registry::Get().FindPool(id);
}

void QuietSet(napi_env env, napi_value array, uint32_t i, napi_value v) {
  napi_set_element(env, array, i, v);
}

Napi::Value QuietU32(napi_env env, uint32_t v) {
  napi_value out = nullptr;
  if (napi_create_uint32(env, v, &out) != napi_ok) return Napi::Value();
  return Napi::Value(env, out);
}

void CallDroppingErrors(napi_env env, napi_value f) {
  // A scope of its own: a wait attended many times would otherwise keep
  // every call's handles until the native call returns.
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value recv = nullptr;
  napi_value result = nullptr;
  if (napi_get_undefined(env, &recv) == napi_ok &&
      napi_call_function(env, recv, f, 0, nullptr, &result) != napi_ok) {
    bool pending = false;
    napi_value error = nullptr;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_get_and_clear_last_exception(env, &error);
    }
  }
  napi_close_handle_scope(env, scope);
}

}  // namespace rt
