// AdapterFusion's small row ops on [T,N] scores and [T,R] column-blocked bottleneck
// activations, threaded over rows. N (adapters) is small, so plain loops suffice; the heavy
// work of fusion is in the GEMMs around these.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/dropout_rng.h"
#include "ops.h"

namespace af::cpu {

namespace {
constexpr size_t kMinRows = 64;
}

void fusion_softmax_forward(const OpContext& c, float* probs, const float* scores,
                            const float* row_bias, int T, int N, float inv_temperature,
                            DropoutSpec d) {
  const float keep_scale = d.active() ? dropout_scale(d.p) : 1.0f;
  c.pool.parallel_for(T, kMinRows, [&](int, size_t t0, size_t t1) {
    std::vector<float> s(N);
    for (size_t t = t0; t < t1; ++t) {
      const float rb = row_bias ? row_bias[t] : 0.0f;
      float mx = -INFINITY;
      for (int n = 0; n < N; ++n) {
        float v = scores[t * N + n] + rb;
        if (d.active()) v = dropout_keep(d.seed, d.offset + t * N + n, d.p) ? v * keep_scale : 0.0f;
        s[n] = v * inv_temperature;
        mx = std::max(mx, s[n]);
      }
      double sum = 0;
      for (int n = 0; n < N; ++n) {
        s[n] = std::exp(s[n] - mx);
        sum += s[n];
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int n = 0; n < N; ++n) probs[t * N + n] = s[n] * inv;
    }
  });
}

void fusion_softmax_backward(const OpContext& c, float* dscores, float* drow_bias,
                             const float* dprobs, const float* probs, int T, int N,
                             float inv_temperature, DropoutSpec d) {
  const float keep_scale = d.active() ? dropout_scale(d.p) : 1.0f;
  c.pool.parallel_for(T, kMinRows, [&](int, size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* p = probs + t * N;
      const float* dp = dprobs + t * N;
      double dot = 0;
      for (int n = 0; n < N; ++n) dot += double(dp[n]) * p[n];
      double row = 0;
      for (int n = 0; n < N; ++n) {
        float g = p[n] * (dp[n] - static_cast<float>(dot)) * inv_temperature;
        if (d.active()) g = dropout_keep(d.seed, d.offset + t * N + n, d.p) ? g * keep_scale : 0.0f;
        dscores[t * N + n] = g;
        row += g;
      }
      if (drow_bias) drow_bias[t] = static_cast<float>(row);
    }
  });
}

void block_dot(const OpContext& c, float* out, const float* a, const float* b,
               const int32_t* offsets, int T, int R, int N, bool accumulate) {
  c.pool.parallel_for(T, kMinRows, [&](int, size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* ar = a + t * R;
      const float* br = b + t * R;
      for (int n = 0; n < N; ++n) {
        float acc = 0;
        for (int j = offsets[n]; j < offsets[n + 1]; ++j) acc += ar[j] * br[j];
        out[t * N + n] = accumulate ? out[t * N + n] + acc : acc;
      }
    }
  });
}

void block_scale(const OpContext& c, float* out, const float* in, const float* scale,
                 const int32_t* offsets, int T, int R, int N) {
  c.pool.parallel_for(T, kMinRows, [&](int, size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t)
      for (int n = 0; n < N; ++n) {
        const float s = scale[t * N + n];
        for (int j = offsets[n]; j < offsets[n + 1]; ++j) out[t * R + j] = s * in[t * R + j];
      }
  });
}

void copy_rows(const OpContext& c, float* dst, size_t dst_stride, const float* src,
               size_t src_stride, int rows, int cols, bool accumulate) {
  c.pool.parallel_for(rows, 16, [&](int, size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      float* d = dst + r * dst_stride;
      const float* s = src + r * src_stride;
      if (accumulate)
        for (int j = 0; j < cols; ++j) d[j] += s[j];
      else
        std::copy(s, s + cols, d);
    }
  });
}

}  // namespace af::cpu
