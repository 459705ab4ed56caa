// Layer norm over the last dimension (biased variance, eps inside the sqrt, as torch).
// Rows are independent; the parameter gradients are reduced per thread chunk (float over
// kRowBlock rows, then double) and the chunks combined in order, so results repeat bit for
// bit for a fixed thread count.
#include <algorithm>
#include <vector>

#include "ops.h"

namespace af::cpu {

namespace {
constexpr int kRowBlock = 32;
size_t rows_per_chunk(int D) { return std::max<size_t>(1, 16384 / std::max(1, D)); }
}  // namespace

void layernorm_forward(const OpContext& c, float* out, float* mean, float* rstd,
                       const float* in, const float* w, const float* b, int T, int D,
                       float eps) {
  const size_t d = static_cast<size_t>(D);
  c.pool.parallel_for(static_cast<size_t>(std::max(T, 0)), rows_per_chunk(D),
                      [&](int, size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      float m, s;
      c.k.layernorm_forward(out + r * d, &m, &s, in + r * d, w, b, D, eps);
      if (mean) mean[r] = m;
      if (rstd) rstd[r] = s;
    }
  });
}

void layernorm_backward(const OpContext& c, float* din, float* dw, float* db,
                        const float* dout, const float* in, const float* w, const float* mean,
                        const float* rstd, int T, int D, bool accumulate_din) {
  if (T <= 0 || D <= 0) return;
  const size_t d = static_cast<size_t>(D);
  const bool params = dw || db;
  // partial[chunk] = {dw[D], db[D]} in double
  std::vector<double> partial(params ? static_cast<size_t>(c.pool.threads()) * 2 * d : 0, 0.0);
  c.pool.parallel_for(static_cast<size_t>(T), rows_per_chunk(D), [&](int chunk, size_t r0,
                                                                     size_t r1) {
    std::vector<float> block(params ? 2 * d : 0);
    float* bdw = dw ? block.data() : nullptr;
    float* bdb = db ? block.data() + d : nullptr;
    double* acc = params ? partial.data() + static_cast<size_t>(chunk) * 2 * d : nullptr;
    for (size_t b0 = r0; b0 < r1; b0 += kRowBlock) {
      const size_t b1 = std::min(r1, b0 + kRowBlock);
      std::fill(block.begin(), block.end(), 0.0f);
      for (size_t r = b0; r < b1; ++r)
        c.k.layernorm_backward(din ? din + r * d : nullptr, bdw, bdb, dout + r * d, in + r * d,
                               w, mean[r], rstd[r], D, accumulate_din);
      for (size_t i = 0; i < block.size(); ++i) acc[i] += block[i];
    }
  });
  if (!params) return;
  for (size_t i = 0; i < d; ++i) {
    double sw = 0, sb = 0;
    for (int t = 0; t < c.pool.threads(); ++t) {
      sw += partial[static_cast<size_t>(t) * 2 * d + i];
      sb += partial[static_cast<size_t>(t) * 2 * d + d + i];
    }
    if (dw) dw[i] = static_cast<float>(dw[i] + sw);
    if (db) db[i] = static_cast<float>(db[i] + sb);
  }
}

}  // namespace af::cpu
