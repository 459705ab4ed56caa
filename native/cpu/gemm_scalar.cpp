// Portable GEMM pieces (baseline flags, any architecture): a 6 x 8 micro-kernel on the
// compiler's generic 4-float vectors (SSE2 on x86-64, NEON on arm64), and the reference packing
// routines, which the AVX2 set reuses for the transposing cases and the tests use as oracle.
#include <cstring>

#include "gemm_kernels.h"

namespace af::cpu::gemm_detail {

void pack_a_ref(int MR, bool trans_a, int m, int k, const float* A, long lda, float* dst) {
  for (int i0 = 0; i0 < m; i0 += MR, dst += long(k) * MR) {
    const int mr = m - i0 < MR ? m - i0 : MR;
    if (trans_a) {  // panel rows are contiguous in A
      for (int p = 0; p < k; ++p) {
        float* d = dst + long(p) * MR;
        std::memcpy(d, A + long(p) * lda + i0, sizeof(float) * mr);
        for (int i = mr; i < MR; ++i) d[i] = 0.0f;
      }
    } else {  // walk A rows (contiguous along k) and scatter into the panel
      for (int i = 0; i < mr; ++i) {
        const float* src = A + long(i0 + i) * lda;
        for (int p = 0; p < k; ++p) dst[long(p) * MR + i] = src[p];
      }
      for (int p = 0; p < k; ++p)
        for (int i = mr; i < MR; ++i) dst[long(p) * MR + i] = 0.0f;
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

// 6 x 8 tile: 12 four-float accumulators + 2 B vectors + 1 broadcast fit the 16 registers of
// SSE2 (and leave room on NEON's 32).
constexpr int MR = 6, NR = 8;

void pack_a(bool trans_a, int m, int k, const float* A, long lda, float* dst) {
  pack_a_ref(MR, trans_a, m, k, A, lda, dst);
}
void pack_b(bool trans_b, int k, int n, const float* B, long ldb, float* dst) {
  pack_b_ref(NR, trans_b, k, n, B, ldb, dst);
}

// acc[mr][nr] = sum_k a(i, k) b(k, j), plain loops (edge tiles read in place).
void tile_plain(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs, int mr,
                int nr, float acc[MR][NR]) {
  for (int k = 0; k < kc; ++k, a += a_cs, b += b_rs)
    for (int i = 0; i < mr; ++i) {
      const float ai = a[i * a_rs];
      for (int j = 0; j < nr; ++j) acc[i][j] += ai * b[j];
    }
}

#if defined(__GNUC__)
// Full tiles with the compiler's generic 4-float vectors (SSE2 / NEON / scalar fallback); the
// same per-element multiply then add as tile_plain, so both give identical bits.
typedef float v4f __attribute__((vector_size(16)));

void tile_full(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
               float acc[MR][NR]) {
  v4f c[MR][2] = {};
  for (int k = 0; k < kc; ++k, a += a_cs, b += b_rs) {
    v4f b0, b1;
    std::memcpy(&b0, b, sizeof b0);
    std::memcpy(&b1, b + 4, sizeof b1);
    for (int i = 0; i < MR; ++i) {
      const float x = a[i * a_rs];
      const v4f ai = {x, x, x, x};
      c[i][0] += ai * b0;
      c[i][1] += ai * b1;
    }
  }
  for (int i = 0; i < MR; ++i) std::memcpy(acc[i], c[i], sizeof c[i]);
}
#else
void tile_full(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
               float acc[MR][NR]) {
  tile_plain(kc, a, a_rs, a_cs, b, b_rs, MR, NR, acc);
}
#endif

void kernel(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
            bool b_packed, float* c, long ldc, int mr, int nr, float alpha, float beta) {
  float acc[MR][NR] = {};
  if (mr == MR && (nr == NR || b_packed))  // packed B is zero padded to NR columns
    tile_full(kc, a, a_rs, a_cs, b, b_rs, acc);
  else
    tile_plain(kc, a, a_rs, a_cs, b, b_rs, mr, nr, acc);
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    for (int j = 0; j < nr; ++j) ci[j] = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * ci[j]);
  }
}

// Small blocks: this kernel is far from peak anyway, so favour L1 reuse.
constexpr KernelSet kSet = {"scalar", MR, NR, 256, 128, 2048, pack_a, pack_b, kernel};

}  // namespace

const KernelSet& scalar_kernels() { return kSet; }

}  // namespace af::cpu::gemm_detail
