#include "batch_args.h"

#include "args.h"
#include "js_errors.h"

namespace af::napi {

BatchArgs batch_args(const Napi::CallbackInfo& info, size_t first) {
  BatchArgs b;
  const int64_t B = int_arg(info[first + 3], "batchSize", 1, 1 << 24);
  const int64_t L = int_arg(info[first + 4], "seqLen", 1, 1 << 24);
  if (B * L > (1LL << 28)) type_error(info.Env(), "batchSize * seqLen", "at most 2^28");
  const size_t T = static_cast<size_t>(B * L);
  b.ids = int32_array_arg(info[first], "inputIds", T);
  if (!info[first + 1].IsUndefined() && !info[first + 1].IsNull()) b.types = int32_array_arg(info[first + 1], "tokenTypeIds", T);
  if (!info[first + 2].IsUndefined() && !info[first + 2].IsNull()) b.mask = int32_array_arg(info[first + 2], "attentionMask", T);
  b.batch_size = static_cast<int>(B);
  b.seq_len = static_cast<int>(L);
  return b;
}

}  // namespace af::napi
