// Argument checks for the addon's entry points: every wrong type or range becomes a
// TypeError/RangeError naming the argument, before any native work starts.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace af::napi {

// An options object; undefined/null give an empty object.
Napi::Object options_arg(const Napi::Value& v, const std::string& name);

std::string string_arg(const Napi::Value& v, const std::string& name);
// An integer number in [lo, hi].
int64_t int_arg(const Napi::Value& v, const std::string& name, int64_t lo, int64_t hi);
bool bool_arg(const Napi::Value& v, const std::string& name);

// Optional fields of an options object (absent/undefined -> fallback).
int64_t int_field(const Napi::Object& o, const char* key, const std::string& where, int64_t fallback,
                  int64_t lo, int64_t hi);
bool bool_field(const Napi::Object& o, const char* key, const std::string& where, bool fallback);
std::string string_field(const Napi::Object& o, const char* key, const std::string& where,
                         const std::string& fallback);

// An Int32Array of exactly `length` elements, copied (so JS may reuse it at once).
std::vector<int32_t> int32_array_arg(const Napi::Value& v, const std::string& name, size_t length);
// A Float32Array of exactly `length` elements, copied.
std::vector<float> float32_array_arg(const Napi::Value& v, const std::string& name, size_t length);

// Typed arrays of any length, copied; the callee checks the length where the task runs.
std::vector<float> float32_array_any(const Napi::Value& v, const std::string& name);
std::vector<int32_t> int32_array_any(const Napi::Value& v, const std::string& name);
std::vector<std::string> string_array_arg(const Napi::Value& v, const std::string& name);
Napi::Array string_array_to_js(Napi::Env env, const std::vector<std::string>& v);
Napi::Array shape_to_js(Napi::Env env, const std::vector<int64_t>& shape);
// A new Float32Array holding a copy of `data`.
Napi::Float32Array to_float32_array(Napi::Env env, const std::vector<float>& data);

}  // namespace af::napi
