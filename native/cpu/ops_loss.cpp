// Softmax cross-entropy over rows of logits [N,C]: loss = logsumexp(row) - row[label], with
// the max subtracted first (stable); probs are kept for backward.
#include <algorithm>
#include <cmath>
#include <string>

#include "../core/errors.h"
#include "ops.h"

namespace af::cpu {

namespace {
void check_label(int32_t label, int C) {
  if (label < 0 || label >= C)
    fail(ErrorCode::InvalidArgument, "cross_entropy: label " + std::to_string(label) +
                                         " outside [0, " + std::to_string(C) + ")");
}
size_t rows_per_chunk(int C) { return std::max<size_t>(1, 16384 / std::max(1, C)); }
}  // namespace

void cross_entropy_forward(const OpContext& c, float* losses, float* probs, const float* logits,
                           const int32_t* labels, int N, int C) {
  if (N <= 0) return;
  const size_t n = static_cast<size_t>(C);
  c.pool.parallel_for(static_cast<size_t>(N), rows_per_chunk(C), [&](int, size_t r0,
                                                                     size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      check_label(labels[r], C);
      const float* x = logits + r * n;
      float* p = probs + r * n;
      const float m = c.k.max(x, n);
      const double sum = c.k.exp_shift_sum(p, x, n, m);
      losses[r] = static_cast<float>(static_cast<double>(m) + std::log(sum) - x[labels[r]]);
      c.k.scale(p, p, n, static_cast<float>(1.0 / sum));
    }
  });
}

void cross_entropy_backward(const OpContext& c, float* dlogits, const float* probs,
                            const int32_t* labels, int N, int C, float scale) {
  if (N <= 0) return;
  const size_t n = static_cast<size_t>(C);
  c.pool.parallel_for(static_cast<size_t>(N), rows_per_chunk(C), [&](int, size_t r0,
                                                                     size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      check_label(labels[r], C);
      c.k.scale(dlogits + r * n, probs + r * n, n, scale);
      dlogits[r * n + labels[r]] -= scale;
    }
  });
}

}  // namespace af::cpu
