#include "checkpoint.h"

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
  if (!is_file(config_path)) fail(ErrorCode::Io, config_path + ": file not found");
  if (!is_file(weights_path)) {
    std::string hint = is_file(dir + "/pytorch_model.bin")
                           ? " (only pytorch_model.bin is present: save the model with safe_serialization=True)"
                           : "";
    fail(ErrorCode::Io, weights_path + ": file not found" + hint);
  }
  BertConfig config = BertConfig::from_file(config_path);
  SafetensorsFile file = SafetensorsFile::open(weights_path);
  auto model = std::make_unique<BertModel>(std::move(backend), config);
  const TensorTable& params = model->params();

  std::vector<bool> loaded(params.size(), false);
  std::set<std::string> dtypes;
  std::vector<float> host;
  for (const TensorInfo& info : file.tensors()) {
    const std::string key = encoder_key(info.name);
    if (key.empty()) {
      if (report) report->ignored_keys.push_back(info.name);
      continue;
    }
    const TensorEntry* entry = params.find(key);
    if (!entry)
      fail(ErrorCode::InvalidFile, weights_path + ": tensor \"" + info.name +
                                       "\" is not a parameter of a BERT encoder with this config.json");
    const size_t index = params.index_of(key);
    if (loaded[index])
      fail(ErrorCode::InvalidFile, weights_path + ": tensor \"" + info.name + "\" appears twice (with and without the \"bert.\" prefix)");
    if (info.shape != entry->shape)
      fail(ErrorCode::ShapeMismatch, weights_path + ": tensor \"" + info.name + "\" has shape " +
                                         shape_to_string(info.shape) + " but config.json implies " +
                                         shape_to_string(entry->shape));
    if (info.dtype != DType::F32 && info.dtype != DType::F16 && info.dtype != DType::BF16)
      fail(ErrorCode::Unsupported, weights_path + ": tensor \"" + info.name + "\" has dtype " +
                                       dtype_name(info.dtype) + " (expected F32, F16 or BF16)");
    host.resize(entry->numel);
    file.read_f32(info, host.data());
    model->set_param(index, host.data(), host.size());
    loaded[index] = true;
    dtypes.insert(dtype_name(info.dtype));
  }
  std::string missing;
  size_t n_missing = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    if (loaded[i]) continue;
    if (n_missing++ < 5) missing += (missing.empty() ? "" : ", ") + params[i].name;
  }
  if (n_missing)
    fail(ErrorCode::InvalidFile, weights_path + ": " + std::to_string(n_missing) +
                                     " encoder tensor(s) missing, e.g. " + missing);
  if (report) {
    for (const auto& d : dtypes) report->dtype += (report->dtype.empty() ? "" : ",") + d;
  }
  return model;
}

}  // namespace af
