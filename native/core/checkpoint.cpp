#include "checkpoint.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sys/stat.h>

#include "errors.h"
#include "safetensors.h"

namespace af {

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Io naming the file: "file not found", or what is there instead.
[[noreturn]] void not_a_file(const std::string& path, const std::string& hint = "") {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) fail(ErrorCode::Io, path + ": is a folder or a special file, not a file");
  fail(ErrorCode::Io, path + ": file not found" + hint);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The encoder key a checkpoint tensor maps to, or "" when the tensor is not ours to load
// (MLM head, pooler, task heads, the position_ids buffer of older checkpoints).
std::string encoder_key(const std::string& name) {
  std::string key = starts_with(name, "bert.") ? name.substr(5) : name;
  if (key == "embeddings.position_ids") return "";
  if (starts_with(key, "embeddings.") || starts_with(key, "encoder.")) return key;
  return "";
}

}  // namespace

std::unique_ptr<BertModel> load_bert_checkpoint(const std::string& dir,
                                                std::shared_ptr<Backend> backend,
                                                CheckpointReport* report) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(ErrorCode::Io, dir + ": not a folder");
  const std::string config_path = dir + "/config.json";
  const std::string weights_path = dir + "/model.safetensors";
  if (!is_file(config_path)) not_a_file(config_path);
  if (!is_file(weights_path))
    not_a_file(weights_path, is_file(dir + "/pytorch_model.bin")
                                 ? " (only pytorch_model.bin is present: save the model with safe_serialization=True)"
                                 : "");
  BertConfig config = BertConfig::from_file(config_path);
  SafetensorsFile file = SafetensorsFile::open(weights_path);

  // Every tensor is checked against config.json before anything is allocated: the model's size
  // comes from config.json, and a config that claims more than the file holds must fail here,
  // naming the file, not run out of memory.
  const TensorShapes expected = BertModel::encoder_shapes(config);
  std::map<std::string, size_t> slot;
  for (size_t i = 0; i < expected.size(); ++i) slot[expected[i].first] = i;
  std::vector<const TensorInfo*> source(expected.size(), nullptr);
  for (const TensorInfo& info : file.tensors()) {
    const std::string key = encoder_key(info.name);
    if (key.empty()) {
      if (report) report->ignored_keys.push_back(info.name);
      continue;
    }
    auto it = slot.find(key);
    if (it == slot.end())
      fail(ErrorCode::InvalidFile, weights_path + ": tensor \"" + info.name +
                                       "\" is not a parameter of a BERT encoder with this config.json");
    if (source[it->second])
      fail(ErrorCode::InvalidFile, weights_path + ": tensor \"" + info.name + "\" appears twice (with and without the \"bert.\" prefix)");
    const std::vector<int64_t>& want = expected[it->second].second;
    if (info.shape != want)
      fail(ErrorCode::ShapeMismatch, weights_path + ": tensor \"" + info.name + "\" has shape " +
                                         shape_to_string(info.shape) + " but config.json implies " +
                                         shape_to_string(want));
    if (info.dtype != DType::F32 && info.dtype != DType::F16 && info.dtype != DType::BF16)
      fail(ErrorCode::Unsupported, weights_path + ": tensor \"" + info.name + "\" has dtype " +
                                       dtype_name(info.dtype) + " (expected F32, F16 or BF16)");
    source[it->second] = &info;
  }
  std::string missing;
  size_t n_missing = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (source[i]) continue;
    if (n_missing++ < 5) missing += (missing.empty() ? "" : ", ") + expected[i].first;
  }
  if (n_missing)
    fail(ErrorCode::InvalidFile, weights_path + ": " + std::to_string(n_missing) +
                                     " encoder tensor(s) missing, e.g. " + missing);

  auto model = std::make_unique<BertModel>(std::move(backend), config);
  std::set<std::string> dtypes;
  std::vector<float> host;
  for (size_t i = 0; i < expected.size(); ++i) {
    const TensorInfo& info = *source[i];
    host.resize(info.numel());
    file.read_f32(info, host.data());
    model->set_param(model->param_index(expected[i].first), host.data(), host.size());
    dtypes.insert(dtype_name(info.dtype));
    if (report && !std::all_of(host.begin(), host.end(), [](float x) { return std::isfinite(x); }))
      report->non_finite.push_back(info.name);
  }
  if (report) {
    for (const auto& d : dtypes) report->dtype += (report->dtype.empty() ? "" : ",") + d;
  }
  return model;
}

}  // namespace af
