// Linear layer: out[T,O] = act(in[T,I] @ W[O,I]^T + b[O]), and its backward. The bias and the
// activation (and the preact copy training needs) run in sgemm's epilogue, on each block of
// the output while it is still in cache.
#include <algorithm>

#include "ops.h"

namespace af::cpu {

namespace {

struct BiasActEpilogue {
  const Kernels* k;
  float* out;        // [T,O]
  float* preact;     // [T,O] or null
  const float* b;    // [O] or null
  int O;
  int act;
};

// Called by sgemm for each finished block; addresses come from our own base pointers, so the
// block's C pointer is not needed.
void bias_act_block(void* ctx, float* /*C*/, int /*ldc*/, int row0, int rows, int col0,
                    int cols) {
  const auto* e = static_cast<const BiasActEpilogue*>(ctx);
  const size_t at = static_cast<size_t>(row0) * e->O + col0;
  e->k->bias_act(e->act, e->out + at, e->preact ? e->preact + at : nullptr,
                 static_cast<size_t>(e->O), e->b ? e->b + col0 : nullptr, rows, cols);
}

}  // namespace

void linear_forward(const OpContext& c, float* out, float* preact, const float* in,
                    const float* W, const float* b, int T, int I, int O, Activation act) {
  if (T <= 0 || O <= 0) return;
  BiasActEpilogue e{&c.k, out, act == Activation::None ? nullptr : preact, b, O,
                    static_cast<int>(act)};
  GemmEpilogue epilogue{&bias_act_block, &e};
  const bool fused = b != nullptr || act != Activation::None;
  // out = in @ W^T: W is [O,I] row-major, so op(B) = W^T.
  sgemm(c.pool, c.gemm, false, true, T, O, I, 1.0f, in, I, W, I, 0.0f, out, O,
        fused ? &epilogue : nullptr);
}

void linear_backward(const OpContext& c, float* din, float* dW, float* db, const float* dout,
                     const float* in, const float* W, int T, int I, int O, bool accumulate_din) {
  if (din)  // din[T,I] = dout[T,O] @ W[O,I]
    sgemm(c.pool, c.gemm, false, false, T, I, O, 1.0f, dout, O, W, I,
          accumulate_din ? 1.0f : 0.0f, din, I);
  if (dW)  // dW[O,I] += dout^T @ in
    sgemm(c.pool, c.gemm, true, false, O, I, T, 1.0f, dout, O, in, I, 1.0f, dW, I);
  if (db) column_sums_add(c, db, dout, T, O);
}

void column_sums_add(const OpContext& c, float* dst, const float* src, int R, int C) {
  if (R <= 0 || C <= 0) return;
  // Columns in blocks (one per work item); rows summed in float over kRows, then in double.
  constexpr int kCols = 256, kRows = 64;
  const size_t blocks = (static_cast<size_t>(C) + kCols - 1) / kCols;
  const size_t work_per_block = static_cast<size_t>(R) * kCols;
  const size_t min_blocks = std::max<size_t>(1, (size_t{1} << 16) / work_per_block);
  c.pool.parallel_for(blocks, min_blocks, [&](int, size_t b0, size_t b1) {
    float part[kCols];
    double acc[kCols];
    for (size_t blk = b0; blk < b1; ++blk) {
      const int j0 = static_cast<int>(blk) * kCols;
      const int n = std::min(kCols, C - j0);
      std::fill(acc, acc + n, 0.0);
      for (int r0 = 0; r0 < R; r0 += kRows) {
        const int r1 = std::min(R, r0 + kRows);
        std::copy(src + static_cast<size_t>(r0) * C + j0,
                  src + static_cast<size_t>(r0) * C + j0 + n, part);
        for (int r = r0 + 1; r < r1; ++r)
          c.k.add(part, part, src + static_cast<size_t>(r) * C + j0, n);
        for (int j = 0; j < n; ++j) acc[j] += part[j];
      }
      for (int j = 0; j < n; ++j) dst[j0 + j] = static_cast<float>(dst[j0 + j] + acc[j]);
    }
  });
}

}  // namespace af::cpu
