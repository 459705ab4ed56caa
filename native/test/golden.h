// Reading the committed golden fixtures (fixtures/, or $AF_FIXTURES_DIR) in native tests.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../core/safetensors.h"
#include "check.h"

namespace af::test {

inline std::string fixtures_dir() {
  const char* env = std::getenv("AF_FIXTURES_DIR");
  return env ? env : "fixtures";
}

inline std::vector<float> golden_f32(const SafetensorsFile& f, const std::string& name) {
  const TensorInfo* info = f.find(name);
  CHECK_MSG(info, "golden tensor missing: " << name);
  std::vector<float> out(info->numel());
  f.read_f32(*info, out.data());
  return out;
}

inline std::vector<int32_t> golden_i32(const SafetensorsFile& f, const std::string& name) {
  const TensorInfo* info = f.find(name);
  CHECK_MSG(info && info->dtype == DType::I32, "golden I32 tensor missing: " << name);
  std::vector<int32_t> out(info->numel());
  f.read_raw(*info, out.data());
  return out;
}

}  // namespace af::test
