// The addon's entry point: registers the classes and functions lib/binding.ts types.
#include <napi.h>

#include "backends.h"
#include "bert_model_wrap.h"
#include "gemm_benchmark.h"
#include "safetensors_wrap.h"

namespace af::napi {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, backend_info, "backendInfo"));
  exports.Set("gemmBenchmark", Napi::Function::New(env, gemm_benchmark, "gemmBenchmark"));
  exports.Set("readSafetensors", Napi::Function::New(env, read_safetensors, "readSafetensors"));
  exports.Set("readTorchStateDict", Napi::Function::New(env, read_torch_state_dict, "readTorchStateDict"));
  exports.Set("writeSafetensors", Napi::Function::New(env, write_safetensors_js, "writeSafetensors"));
  BertModelWrap::Init(env, exports);
  return exports;
}

}  // namespace af::napi

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return af::napi::Init(env, exports); }

NODE_API_MODULE(adapterfusion, InitModule)
