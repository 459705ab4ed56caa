// Loading a Hugging Face BERT checkpoint folder: config.json + model.safetensors
// (F32/F16/BF16; keys with or without the "bert." prefix; cls.* and pooler.* tolerated).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "bert.h"

namespace af {

struct CheckpointReport {
  std::vector<std::string> ignored_keys;  // tensors in the file that are not encoder weights
  std::string dtype;                      // dtype(s) of the loaded weights, e.g. "F16"
  std::vector<std::string> non_finite;    // tensors holding NaN or ±Infinity (loaded as they are)
};

// Throws Error(Io) when a file cannot be read, Error(InvalidFile) for malformed files,
// missing or unexpected encoder tensors, Error(ShapeMismatch) when a tensor's shape disagrees
// with config.json — each message names the file and the tensor.
std::unique_ptr<BertModel> load_bert_checkpoint(const std::string& dir,
                                                std::shared_ptr<Backend> backend,
                                                CheckpointReport* report = nullptr);

}  // namespace af
