// The safetensors reader/writer of the core, exposed for tools and tests. Floating-point
// tensors arrive as Float32Array (F16/BF16/F64 converted), I32 as Int32Array, I64 as
// BigInt64Array, everything else as the raw bytes in a Uint8Array.
#include "safetensors_wrap.h"

#include <cstring>
#include <memory>

#include "../core/half.h"
#include "../core/safetensors.h"
#include "../core/torch_pickle.h"
#include "args.h"
#include "js_errors.h"
#include "promise_worker.h"

namespace af::napi {

namespace {

struct LoadedTensor {
  TensorInfo info;
  std::vector<float> f32;
  std::vector<uint8_t> raw;
};

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64; }

Napi::Object tensors_to_js(Napi::Env env, const std::vector<LoadedTensor>& tensors,
                           const std::vector<std::pair<std::string, std::string>>& metadata) {
  Napi::Array list = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const LoadedTensor& t = tensors[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", t.info.name);
    o.Set("dtype", dtype_name(t.info.dtype));
    Napi::Array shape = Napi::Array::New(env, t.info.shape.size());
    for (size_t k = 0; k < t.info.shape.size(); ++k) shape.Set(k, Napi::Number::New(env, double(t.info.shape[k])));
    o.Set("shape", shape);
    if (is_float(t.info.dtype)) {
      o.Set("data", to_float32_array(env, t.f32));
    } else {
      Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, t.raw.size());
      if (!t.raw.empty()) std::memcpy(buf.Data(), t.raw.data(), t.raw.size());
      if (t.info.dtype == DType::I32)
        o.Set("data", Napi::Int32Array::New(env, t.raw.size() / 4, buf, 0));
      else if (t.info.dtype == DType::I64)
        o.Set("data", Napi::TypedArrayOf<int64_t>::New(env, t.raw.size() / 8, buf, 0, napi_bigint64_array));
      else
        o.Set("data", Napi::Uint8Array::New(env, t.raw.size(), buf, 0));
    }
    list.Set(i, o);
  }
  Napi::Object meta = Napi::Object::New(env);
  for (const auto& kv : metadata) meta.Set(kv.first, kv.second);
  Napi::Object out = Napi::Object::New(env);
  out.Set("tensors", list);
  out.Set("metadata", meta);
  return out;
}

}  // namespace

Napi::Value read_safetensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = string_arg(info[0], "path");
  auto tensors = std::make_shared<std::vector<LoadedTensor>>();
  auto metadata = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  return PromiseWorker::start(
      env,
      [=] {
        SafetensorsFile f = SafetensorsFile::open(path);
        *metadata = f.metadata();
        for (const TensorInfo& t : f.tensors()) {
          LoadedTensor lt{t, {}, {}};
          if (is_float(t.dtype)) {
            lt.f32.resize(t.numel());
            f.read_f32(t, lt.f32.data());
          } else {
            lt.raw.resize(t.nbytes());
            f.read_raw(t, lt.raw.data());
          }
          tensors->push_back(std::move(lt));
        }
      },
      [=](Napi::Env env) -> Napi::Value { return tensors_to_js(env, *tensors, *metadata); });
}

// readTorchStateDict(path) -> Promise<{tensors, metadata: {}}>: a PyTorch .bin state dict read by
// the restricted unpickler (it never executes code); tensors as readSafetensors gives them.
Napi::Value read_torch_state_dict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = string_arg(info[0], "path");
  auto tensors = std::make_shared<std::vector<LoadedTensor>>();
  return PromiseWorker::start(
      env,
      [=] {
        for (const TorchTensor& t : load_torch_state_dict(path)) {
          LoadedTensor lt;
          lt.info.name = t.name;
          lt.info.dtype = t.dtype;
          lt.info.shape = t.shape;
          if (is_float(t.dtype)) {
            lt.f32.resize(t.numel());
            read_f32(t, lt.f32.data());
          } else {
            lt.raw.resize(t.numel() * dtype_size(t.dtype));
            read_raw(t, lt.raw.data());
          }
          tensors->push_back(std::move(lt));
        }
      },
      [=](Napi::Env env) -> Napi::Value { return tensors_to_js(env, *tensors, {}); });
}

Napi::Value write_safetensors_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = string_arg(info[0], "path");
  if (!info[1].IsArray()) type_error(env, "tensors", "an array of {name, dtype, shape, data}");
  Napi::Array list = info[1].As<Napi::Array>();
  struct Owned {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  auto owned = std::make_shared<std::vector<Owned>>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string where = "tensors[" + std::to_string(i) + "]";
    Napi::Object o = options_arg(list.Get(i), where);
    Owned t;
    t.name = string_field(o, "name", where, "");
    std::string dt = string_field(o, "dtype", where, "F32");
    if (!dtype_from_name(dt, &t.dtype) || !(t.dtype == DType::F32 || t.dtype == DType::F16 ||
                                            t.dtype == DType::BF16 || t.dtype == DType::I32 ||
                                            t.dtype == DType::I64))
      type_error(env, where + ".dtype", "one of F32, F16, BF16, I32, I64");
    if (!o.Get("shape").IsArray()) type_error(env, where + ".shape", "an array of integers");
    Napi::Array shape = o.Get("shape").As<Napi::Array>();
    uint64_t numel = 1;
    for (uint32_t k = 0; k < shape.Length(); ++k) {
      int64_t d = int_arg(shape.Get(k), where + ".shape[" + std::to_string(k) + "]", 0, 1LL << 40);
      t.shape.push_back(d);
      numel *= static_cast<uint64_t>(d);
      if (numel > (1ULL << 40)) type_error(env, where + ".shape", "a shape with at most 2^40 elements");
    }
    Napi::Value data = o.Get("data");
    if (t.dtype == DType::I64) {
      if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array)
        type_error(env, where + ".data", "a BigInt64Array for I64");
    } else if (t.dtype == DType::I32) {
      if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        type_error(env, where + ".data", "an Int32Array for I32");
    } else if (!data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      type_error(env, where + ".data", "a Float32Array for " + dt);
    }
    Napi::TypedArray arr = data.As<Napi::TypedArray>();
    if (arr.ElementLength() != numel)
      type_error(env, where + ".data", "of length " + std::to_string(numel) + " (the product of shape)");
    const uint8_t* src = static_cast<const uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (t.dtype == DType::F16 || t.dtype == DType::BF16) {
      std::vector<uint16_t> half(numel);
      const float* f = reinterpret_cast<const float*>(src);
      for (uint64_t k = 0; k < numel; ++k) half[k] = t.dtype == DType::F16 ? f32_to_f16(f[k]) : f32_to_bf16(f[k]);
      t.bytes.resize(numel * 2);
      if (numel) std::memcpy(t.bytes.data(), half.data(), numel * 2);
    } else {
      t.bytes.assign(src, src + arr.ByteLength());
    }
    owned->push_back(std::move(t));
  }
  auto metadata = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  Napi::Object meta = options_arg(info[2], "metadata");
  Napi::Array keys = meta.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    metadata->emplace_back(k, string_arg(meta.Get(k), "metadata." + k));
  }
  return PromiseWorker::start(
      env,
      [=] {
        std::vector<TensorToWrite> list;
        for (const Owned& t : *owned) list.push_back({t.name, t.dtype, t.shape, t.bytes.data()});
        write_safetensors(path, list, *metadata);
      },
      [](Napi::Env env) { return env.Undefined(); });
}

}  // namespace af::napi
