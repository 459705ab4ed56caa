#pragma once
#include <napi.h>

namespace af::napi {
Napi::Value gemm_benchmark(const Napi::CallbackInfo& info);
}
