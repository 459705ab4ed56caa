// AVX2 + FMA GEMM pieces: a 6 x 16 micro-kernel (12 ymm accumulators + 2 B vectors + 1
// broadcast = 15 of 16 registers) and a vectorized copy for the non-transposing B pack.
// Compiled with -mavx2 -mfma -mf16c; only reached when detect_isa() reports Avx2 or better.
// See gemm_kernels.h for the layouts.
#include "gemm_kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace af::cpu::gemm_detail {

namespace {

constexpr int MR = 6;
constexpr int NV = 2;  // 8-float vectors per tile row
constexpr int NR = NV * 8;

// Lane mask with lanes [0, n) set (n clamped to [0, 8]), for maskload / maskstore.
inline __m256i lanes(int n) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), iota);
}

// MR_ rows x NV_ vectors of C; kMaskB: B is the caller's matrix and its last vector is partial.
template <int MR_, int NV_, bool kMaskB>
void kernel_tile(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                 float* c, long ldc, int nr, float alpha, float beta) {
  const int last_n = nr - (NV_ - 1) * 8;
  const __m256i last = lanes(last_n);
  __m256 acc[MR_][NV_];
#pragma GCC unroll 8
  for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NV_; ++v) acc[i][v] = _mm256_setzero_ps();

#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k) {
    __m256 bv[NV_];
#pragma GCC unroll 2
    for (int v = 0; v < NV_; ++v)
      bv[v] = (kMaskB && v == NV_ - 1) ? _mm256_maskload_ps(b + v * 8, last)
                                       : _mm256_loadu_ps(b + v * 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR_; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i * a_rs);
#pragma GCC unroll 2
      for (int v = 0; v < NV_; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += a_cs;
    b += b_rs;
  }

  // C = alpha * acc + beta * C; beta == 0 never reads C.
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < MR_; ++i) {
    float* ci = c + i * ldc;
#pragma GCC unroll 2
    for (int v = 0; v < NV_; ++v) {
      float* cv = ci + v * 8;
      __m256 r = _mm256_mul_ps(va, acc[i][v]);
      if (v < NV_ - 1 || last_n >= 8) {
        if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cv), r);
        _mm256_storeu_ps(cv, r);
      } else {
        if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cv, last), r);
        _mm256_maskstore_ps(cv, last, r);
      }
    }
  }
}

using KernelFn = void (*)(int, const float*, long, long, const float*, long, float*, long, int,
                          float, float);

struct KernelTable {
  KernelFn fn[MR][NV][2];  // [mr - 1][nv - 1][masked]
};

template <int MR_, int NV_>
void fill_row(KernelTable& t) {
  t.fn[MR_ - 1][NV_ - 1][0] = kernel_tile<MR_, NV_, false>;
  t.fn[MR_ - 1][NV_ - 1][1] = kernel_tile<MR_, NV_, true>;
  if constexpr (NV_ > 1) fill_row<MR_, NV_ - 1>(t);
}

template <int MR_>
void fill_table(KernelTable& t) {
  fill_row<MR_, NV>(t);
  if constexpr (MR_ > 1) fill_table<MR_ - 1>(t);
}

KernelTable make_table() {
  KernelTable t{};
  fill_table<MR>(t);
  return t;
}

void kernel(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
            bool b_packed, float* c, long ldc, int mr, int nr, float alpha, float beta) {
  static const KernelTable table = make_table();  // on first call only (see gemm_avx512.cpp)
  const int nv = (nr + 7) / 8;
  const bool masked = !b_packed && (nr % 8) != 0;
  table.fn[mr - 1][nv - 1][masked](kc, a, a_rs, a_cs, b, b_rs, c, ldc, nr, alpha, beta);
}

void pack_a(bool trans_a, int m, int k, const float* A, long lda, float* dst) {
  pack_a_ref(MR, trans_a, m, k, A, lda, dst);
}

void pack_b(bool trans_b, int k, int n, const float* B, long ldb, float* dst) {
  if (trans_b) return pack_b_ref(NR, trans_b, k, n, B, ldb, dst);
  for (int j0 = 0; j0 < n; j0 += NR, dst += long(k) * NR) {
    const int nr = n - j0 < NR ? n - j0 : NR;
    for (int v = 0; v < NV; ++v) {
      const __m256i m = lanes(nr - v * 8);
      for (int p = 0; p < k; ++p)
        _mm256_store_ps(dst + long(p) * NR + v * 8, _mm256_maskload_ps(B + long(p) * ldb + j0 + v * 8, m));
    }
  }
}

// Sized for the smallest AVX2 caches (Haswell..Comet Lake: 32 KiB L1d, 256 KiB L2): a kc x NR
// B micro-panel is 32 KiB, an mc x kc A block 144 KiB. kc = 512 halves the passes over C
// against kc = 256 (measured +10% at n = 2048).
constexpr KernelSet kSet = {"avx2", MR, NR, 512, 72, 2048, pack_a, pack_b, kernel};

}  // namespace

const KernelSet* avx2_kernels() { return &kSet; }

}  // namespace af::cpu::gemm_detail

#else  // not x86-64 with AVX2 flags

namespace af::cpu::gemm_detail {
const KernelSet* avx2_kernels() { return nullptr; }
}  // namespace af::cpu::gemm_detail

#endif
