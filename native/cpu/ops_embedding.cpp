// BERT embeddings: out[t] = (wte[ids[t]] + wtt[types[t]]) + wpe[t % L], summed in Hugging
// Face's order. Backward scatter-adds over columns blocks, so repeated ids never race and
// every parameter row is summed in token order whatever the thread count.
#include <algorithm>

#include "ops.h"

namespace af::cpu {

void embeddings_forward(const OpContext& c, float* out, const int32_t* ids,
                        const int32_t* types, const float* wte, const float* wpe,
                        const float* wtt, int B, int L, int D) {
  const size_t T = static_cast<size_t>(B) * L, d = static_cast<size_t>(D);
  c.pool.parallel_for(T, std::max<size_t>(1, 16384 / std::max<size_t>(1, d)),
                      [&](int, size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      float* row = out + t * d;
      const int32_t type = types ? types[t] : 0;
      c.k.add(row, wte + static_cast<size_t>(ids[t]) * d, wtt + static_cast<size_t>(type) * d, d);
      c.k.add(row, row, wpe + (t % static_cast<size_t>(L)) * d, d);
    }
  });
}

void embeddings_backward(const OpContext& c, float* dwte, float* dwpe, float* dwtt,
                         const float* dout, const int32_t* ids, const int32_t* types, int B,
                         int L, int D) {
  if (!dwte && !dwpe && !dwtt) return;
  constexpr size_t kCols = 64;  // 256 bytes of each row per work item
  const size_t T = static_cast<size_t>(B) * L, d = static_cast<size_t>(D);
  const size_t blocks = (d + kCols - 1) / kCols;
  c.pool.parallel_for(blocks, 1, [&](int, size_t b0, size_t b1) {
    const size_t j0 = b0 * kCols, n = std::min(d, b1 * kCols) - j0;
    for (size_t t = 0; t < T; ++t) {
      const float* g = dout + t * d + j0;
      if (dwte) {
        float* dst = dwte + static_cast<size_t>(ids[t]) * d + j0;
        c.k.add(dst, dst, g, n);
      }
      if (dwpe) {
        float* dst = dwpe + (t % static_cast<size_t>(L)) * d + j0;
        c.k.add(dst, dst, g, n);
      }
      if (dwtt) {
        float* dst = dwtt + static_cast<size_t>(types ? types[t] : 0) * d + j0;
        c.k.add(dst, dst, g, n);
      }
    }
  });
}

}  // namespace af::cpu
