// Multi-head self-attention core, one (batch, head) pair per work item. Q, K and V are read in
// place from qkv [T, 3D] as strided views (row stride 3D), so nothing is copied; each item
// runs single-threaded small GEMMs (sgemm is serial inside a parallel region).
//
// Per item, with S, P [L,L] (rows: queries, columns: keys):
//   forward:  S = Q K^T / sqrt(Dh); masked keys get probability 0 (HF adds the lowest float,
//             which underflows to exactly 0), a row with every key masked becomes uniform
//             (HF: all scores equal the lowest float); P = softmax(S); ctx = drop(P) V
//   backward: dP = drop(dctx V^T); dV = drop(P)^T dctx; dS = P (dP - rowsum(dP P)) / sqrt(Dh);
//             dQ = dS K; dK = dS^T Q
// drop() is dropout with counter offset + flat index into probs [B,H,L,L].
#include <cmath>
#include <vector>

#include "ops.h"

namespace af::cpu {

namespace {

struct HeadView {
  const float *q, *k, *v;  // [L, Dh] each, row stride 3D
  size_t bh;               // b * H + h
};

HeadView head_view(const float* qkv, size_t bh, int L, int H, int Dh) {
  const size_t D = static_cast<size_t>(H) * Dh;
  const size_t b = bh / H, h = bh % H;
  const float* q = qkv + b * L * 3 * D + h * Dh;
  return {q, q + D, q + 2 * D, bh};
}

// Softmax of each score row in place, with padding keys removed.
void masked_softmax_rows(const Kernels& k, float* P, const float* mask_b, int L) {
  const float ninf = -HUGE_VALF;
  bool any = true;
  if (mask_b) {
    any = false;
    for (int j = 0; j < L; ++j) any = any || mask_b[j] != 0.0f;
  }
  for (int i = 0; i < L; ++i) {
    float* row = P + static_cast<size_t>(i) * L;
    if (!any) {
      for (int j = 0; j < L; ++j) row[j] = 1.0f / static_cast<float>(L);
      continue;
    }
    if (mask_b)
      for (int j = 0; j < L; ++j)
        if (mask_b[j] == 0.0f) row[j] = ninf;
    const float m = k.max(row, static_cast<size_t>(L));
    const double sum = k.exp_shift_sum(row, row, static_cast<size_t>(L), m);
    k.scale(row, row, static_cast<size_t>(L), static_cast<float>(1.0 / sum));
  }
}

}  // namespace

void attention_forward(const OpContext& c, float* ctx, float* probs, const float* qkv,
                       const float* mask, int B, int L, int H, int Dh, DropoutSpec dropout) {
  if (B <= 0 || L <= 0 || H <= 0) return;
  const int D = H * Dh, LD = 3 * D;
  const size_t LL = static_cast<size_t>(L) * L;
  const float alpha = 1.0f / std::sqrt(static_cast<float>(Dh));
  const float keep_scale = dropout.active() ? dropout_scale(dropout.p) : 1.0f;
  const size_t items = static_cast<size_t>(B) * H;
  // one dropped-probabilities buffer per thread chunk
  std::vector<float> dropped(dropout.active() ? static_cast<size_t>(c.pool.threads()) * LL : 0);
  c.pool.parallel_for(items, 1, [&](int chunk, size_t i0, size_t i1) {
    for (size_t bh = i0; bh < i1; ++bh) {
      const HeadView hv = head_view(qkv, bh, L, H, Dh);
      const size_t b = bh / H, h = bh % H;
      float* P = probs + bh * LL;
      sgemm(c.pool, c.gemm, false, true, L, L, Dh, alpha, hv.q, LD, hv.k, LD, 0.0f, P, L);
      masked_softmax_rows(c.k, P, mask ? mask + b * L : nullptr, L);
      const float* Pd = P;
      if (dropout.active()) {
        float* buf = dropped.data() + static_cast<size_t>(chunk) * LL;
        c.k.dropout(buf, P, LL, dropout.seed, dropout.offset + bh * LL, dropout.p, keep_scale);
        Pd = buf;
      }
      float* out = ctx + b * L * D + h * Dh;  // [L, Dh], row stride D
      sgemm(c.pool, c.gemm, false, false, L, Dh, L, 1.0f, Pd, L, hv.v, LD, 0.0f, out, D);
    }
  });
}

void attention_backward(const OpContext& c, float* dqkv, const float* dctx, const float* qkv,
                        const float* probs, const float* mask, int B, int L, int H, int Dh,
                        DropoutSpec dropout, float* scratch) {
  (void)mask;  // masked keys have P = 0, so dS = 0 there already
  if (B <= 0 || L <= 0 || H <= 0) return;
  const int D = H * Dh, LD = 3 * D;
  const size_t LL = static_cast<size_t>(L) * L;
  const float alpha = 1.0f / std::sqrt(static_cast<float>(Dh));
  const float keep_scale = dropout.active() ? dropout_scale(dropout.p) : 1.0f;
  const size_t items = static_cast<size_t>(B) * H;
  std::vector<float> dropped(dropout.active() ? static_cast<size_t>(c.pool.threads()) * LL : 0);
  c.pool.parallel_for(items, 1, [&](int chunk, size_t i0, size_t i1) {
    for (size_t bh = i0; bh < i1; ++bh) {
      const HeadView hv = head_view(qkv, bh, L, H, Dh);
      const size_t b = bh / H, h = bh % H;
      const float* P = probs + bh * LL;
      const float* dout = dctx + b * L * D + h * Dh;  // [L, Dh], row stride D
      float* dq = dqkv + b * L * LD + h * Dh;         // [L, Dh] each, row stride 3D
      float* dk = dq + D;
      float* dv = dq + 2 * D;
      float* dS = scratch + bh * LL;
      // dP (after dropout) = dctx V^T
      sgemm(c.pool, c.gemm, false, true, L, L, Dh, 1.0f, dout, D, hv.v, LD, 0.0f, dS, L);
      const float* Pd = P;
      if (dropout.active()) {
        float* buf = dropped.data() + static_cast<size_t>(chunk) * LL;
        c.k.dropout(buf, P, LL, dropout.seed, dropout.offset + bh * LL, dropout.p, keep_scale);
        Pd = buf;
        c.k.dropout(dS, dS, LL, dropout.seed, dropout.offset + bh * LL, dropout.p, keep_scale);
      }
      // dV = drop(P)^T dctx
      sgemm(c.pool, c.gemm, true, false, L, Dh, L, 1.0f, Pd, L, dout, D, 0.0f, dv, LD);
      for (int i = 0; i < L; ++i) {
        const size_t at = static_cast<size_t>(i) * L;
        c.k.softmax_backward(dS + at, dS + at, P + at, static_cast<size_t>(L), alpha);
      }
      sgemm(c.pool, c.gemm, false, false, L, Dh, L, 1.0f, dS, L, hv.k, LD, 0.0f, dq, LD);
      sgemm(c.pool, c.gemm, true, false, L, Dh, L, 1.0f, dS, L, hv.q, LD, 0.0f, dk, LD);
    }
  });
}

}  // namespace af::cpu
