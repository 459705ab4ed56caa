// Reductions and the AdamW update over flat parameter/gradient buffers. Reductions are summed
// per chunk in double and combined in chunk order, so they repeat for a fixed thread count.
#include <cmath>
#include <vector>

#include "ops.h"

namespace af::cpu {

namespace {
constexpr size_t kMinChunk = 1 << 14;
}

double sum_squares(const OpContext& c, const float* x, size_t n) {
  std::vector<double> part(c.pool.threads(), 0.0);
  c.pool.parallel_for(n, kMinChunk, [&](int chunk, size_t i0, size_t i1) {
    double s = 0;
    for (size_t i = i0; i < i1; ++i) s += double(x[i]) * x[i];
    part[chunk] = s;
  });
  double total = 0;
  for (double p : part) total += p;
  return total;
}

void scale(const OpContext& c, float* x, size_t n, float s) {
  c.pool.parallel_for(n, kMinChunk, [&](int, size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) x[i] *= s;
  });
}

double identity_regularizer(const OpContext& c, float* grad, const float* W, int D, float coeff) {
  std::vector<double> part(c.pool.threads(), 0.0);
  c.pool.parallel_for(D, 16, [&](int chunk, size_t r0, size_t r1) {
    double s = 0;
    for (size_t r = r0; r < r1; ++r)
      for (int j = 0; j < D; ++j) {
        const float diff = W[r * D + j] - (static_cast<int>(r) == j ? 1.0f : 0.0f);
        s += double(diff) * diff;
        if (grad) grad[r * D + j] += 2.0f * coeff * diff;
      }
    part[chunk] = s;
  });
  double total = 0;
  for (double p : part) total += p;
  return coeff * total;
}

void adamw_update(const OpContext& c, float* p, const float* g, float* m, float* v, size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, float bc1,
                  float bc2) {
  const float decay = 1.0f - lr * weight_decay;
  const float step_size = lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  c.pool.parallel_for(n, kMinChunk, [&](int, size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      p[i] *= decay;
      m[i] += (g[i] - m[i]) * (1.0f - beta1);  // lerp, as torch.optim.AdamW
      v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
      const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
      p[i] -= step_size * m[i] / denom;
    }
  });
}

}  // namespace af::cpu
