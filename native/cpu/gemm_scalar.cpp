// Portable GEMM pieces (baseline flags, any architecture): a 4 x 16 micro-kernel written so the
// compiler can vectorize it with whatever the baseline offers (SSE2 on x86-64, NEON on arm64),
// and the reference packing routines, which the AVX2 set reuses for the transposing cases.
#include <cstring>

#include "gemm_kernels.h"

namespace af::cpu::gemm_detail {

void pack_a_ref(int MR, bool trans_a, int m, int k, const float* A, long lda, float* dst) {
  for (int i0 = 0; i0 < m; i0 += MR, dst += long(k) * MR) {
    const int mr = m - i0 < MR ? m - i0 : MR;
    for (int p = 0; p < k; ++p) {
      float* d = dst + long(p) * MR;
      for (int i = 0; i < mr; ++i) d[i] = trans_a ? A[long(p) * lda + i0 + i] : A[long(i0 + i) * lda + p];
      for (int i = mr; i < MR; ++i) d[i] = 0.0f;
    }
  }
}

void pack_b_ref(int NR, bool trans_b, int k, int n, const float* B, long ldb, float* dst) {
  for (int j0 = 0; j0 < n; j0 += NR, dst += long(k) * NR) {
    const int nr = n - j0 < NR ? n - j0 : NR;
    if (trans_b) {  // walk B rows (contiguous along k) and scatter into the panel
      for (int j = 0; j < nr; ++j) {
        const float* src = B + long(j0 + j) * ldb;
        for (int p = 0; p < k; ++p) dst[long(p) * NR + j] = src[p];
      }
      for (int p = 0; p < k; ++p)
        for (int j = nr; j < NR; ++j) dst[long(p) * NR + j] = 0.0f;
    } else {
      for (int p = 0; p < k; ++p) {
        float* d = dst + long(p) * NR;
        std::memcpy(d, B + long(p) * ldb + j0, sizeof(float) * nr);
        for (int j = nr; j < NR; ++j) d[j] = 0.0f;
      }
    }
  }
}

namespace {

constexpr int MR = 4, NR = 16;

void pack_a(bool trans_a, int m, int k, const float* A, long lda, float* dst) {
  pack_a_ref(MR, trans_a, m, k, A, lda, dst);
}
void pack_b(bool trans_b, int k, int n, const float* B, long ldb, float* dst) {
  pack_b_ref(NR, trans_b, k, n, B, ldb, dst);
}

void kernel(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
            bool b_packed, float* c, long ldc, int mr, int nr, float alpha, float beta) {
  float acc[MR][NR] = {};
  if (mr == MR && (nr == NR || b_packed)) {  // full tile: fixed trip counts vectorize
    for (int k = 0; k < kc; ++k, a += a_cs, b += b_rs)
      for (int i = 0; i < MR; ++i) {
        const float ai = a[i * a_rs];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
      }
  } else {  // edge tile read in place: stay inside mr x nr
    for (int k = 0; k < kc; ++k, a += a_cs, b += b_rs)
      for (int i = 0; i < mr; ++i) {
        const float ai = a[i * a_rs];
        for (int j = 0; j < nr; ++j) acc[i][j] += ai * b[j];
      }
  }
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    for (int j = 0; j < nr; ++j) ci[j] = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * ci[j]);
  }
}

// Small blocks: this kernel is far from peak anyway, so favour L1 reuse.
const KernelSet kSet = {"scalar", MR, NR, 256, 128, 2048, pack_a, pack_b, kernel};

}  // namespace

const KernelSet& scalar_kernels() { return kSet; }

}  // namespace af::cpu::gemm_detail
