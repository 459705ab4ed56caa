#include "args.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "js_errors.h"

namespace af::napi {

Napi::Object options_arg(const Napi::Value& v, const std::string& name) {
  if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(v.Env());
  if (!v.IsObject() || v.IsArray()) type_error(v.Env(), name, "an object");
  return v.As<Napi::Object>();
}

std::string string_arg(const Napi::Value& v, const std::string& name) {
  if (!v.IsString()) type_error(v.Env(), name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

int64_t int_arg(const Napi::Value& v, const std::string& name, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) type_error(v.Env(), name, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    Napi::RangeError err = Napi::RangeError::New(
        v.Env(), name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    err.Set("code", Napi::String::New(v.Env(), "ERR_AF_INVALID_ARGUMENT"));
    throw err;
  }
  return static_cast<int64_t>(d);
}

bool bool_arg(const Napi::Value& v, const std::string& name) {
  if (!v.IsBoolean()) type_error(v.Env(), name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

int64_t int_field(const Napi::Object& o, const char* key, const std::string& where, int64_t fallback,
                  int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  return int_arg(v, where + "." + key, lo, hi);
}

bool bool_field(const Napi::Object& o, const char* key, const std::string& where, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  return bool_arg(v, where + "." + key);
}

std::string string_field(const Napi::Object& o, const char* key, const std::string& where,
                         const std::string& fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  return string_arg(v, where + "." + key);
}

// length SIZE_MAX: any length.
template <typename T, napi_typedarray_type Kind>
static std::vector<T> typed_copy(const Napi::Value& v, const std::string& name, size_t length,
                                 const char* expected) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != Kind)
    type_error(v.Env(), name, expected);
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (length == SIZE_MAX) length = arr.ElementLength();
  if (arr.ElementLength() != length) {
    Napi::RangeError err = Napi::RangeError::New(
        v.Env(), name + " must have " + std::to_string(length) + " elements, got " +
                     std::to_string(arr.ElementLength()));
    err.Set("code", Napi::String::New(v.Env(), "ERR_AF_INVALID_ARGUMENT"));
    throw err;
  }
  std::vector<T> out(length);
  if (length) std::memcpy(out.data(), arr.Data(), length * sizeof(T));
  return out;
}

std::vector<int32_t> int32_array_arg(const Napi::Value& v, const std::string& name, size_t length) {
  return typed_copy<int32_t, napi_int32_array>(v, name, length, "an Int32Array");
}

std::vector<float> float32_array_arg(const Napi::Value& v, const std::string& name, size_t length) {
  return typed_copy<float, napi_float32_array>(v, name, length, "a Float32Array");
}

std::vector<float> float32_array_any(const Napi::Value& v, const std::string& name) {
  return typed_copy<float, napi_float32_array>(v, name, SIZE_MAX, "a Float32Array");
}

std::vector<int32_t> int32_array_any(const Napi::Value& v, const std::string& name) {
  return typed_copy<int32_t, napi_int32_array>(v, name, SIZE_MAX, "an Int32Array");
}

std::vector<std::string> string_array_arg(const Napi::Value& v, const std::string& name) {
  if (!v.IsArray()) type_error(v.Env(), name, "an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(string_arg(a.Get(i), name + "[" + std::to_string(i) + "]"));
  return out;
}

Napi::Array string_array_to_js(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(i, v[i]);
  return a;
}

Napi::Array shape_to_js(Napi::Env env, const std::vector<int64_t>& shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t k = 0; k < shape.size(); ++k) a.Set(k, Napi::Number::New(env, double(shape[k])));
  return a;
}

Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& data) {
  Napi::Float32Array arr = Napi::Float32Array::New(env, data.size());
  if (!data.empty()) std::memcpy(arr.Data(), data.data(), data.size() * sizeof(float));
  return arr;
}

}  // namespace af::napi
