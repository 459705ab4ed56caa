#pragma once
#include <napi.h>

namespace af::napi {
// readSafetensors(path) -> Promise<{tensors: [{name, dtype, shape, data}], metadata}>
Napi::Value read_safetensors(const Napi::CallbackInfo& info);
// readTorchStateDict(path): a PyTorch .bin state dict, same result shape, never executes code
Napi::Value read_torch_state_dict(const Napi::CallbackInfo& info);
// writeSafetensors(path, [{name, dtype: 'F32'|'F16'|'BF16'|'I32'|'I64', shape, data}], metadata?)
Napi::Value write_safetensors_js(const Napi::CallbackInfo& info);
}  // namespace af::napi
