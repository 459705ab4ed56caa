// The batch arguments shared by forward/predict/train calls:
// (inputIds, tokenTypeIds|null, attentionMask|null, batchSize, seqLen), copied so JS may
// reuse its arrays at once.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "../core/bert.h"

namespace af::napi {

struct BatchArgs {
  std::vector<int32_t> ids, types, mask;
  int batch_size = 0, seq_len = 0;
  BertBatch view() const {
    return {ids.data(), types.empty() ? nullptr : types.data(), mask.empty() ? nullptr : mask.data(),
            batch_size, seq_len};
  }
};

// Reads info[first .. first+4].
BatchArgs batch_args(const Napi::CallbackInfo& info, size_t first);

}  // namespace af::napi
