// AVX-512 GEMM pieces: an MR x (NV*16) micro-kernel that keeps the whole C tile in zmm
// registers, and packing routines that transpose 16x16 blocks in registers. Compiled with
// -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma; only reached when detect_isa()
// reports Avx512. See gemm_kernels.h for the layouts.
#include "gemm_kernels.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>

namespace af::cpu::gemm_detail {
namespace {

// Tile 8 x 48: 24 accumulators + 3 B vectors + 1 broadcast = 28 of 32 zmm registers. Each k
// step is 24 FMAs (12 cycles on two FMA pipes) against 3 vector loads and 8 broadcasts, and
// 1024-row / 768-, 2304-, 3072-column BERT matrices divide into whole tiles. (12x32, 14x32,
// 6x64 and 4x64 measured within 3% of it on Zen 5, all ~95% of peak with data in L2.)
constexpr int MR = 8;
constexpr int NV = 3;  // 16-float vectors per tile row
constexpr int NR = NV * 16;

// Lanes [0, n) set, n clamped to [0, 16].
inline __mmask16 lanes(int n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// ---- micro-kernel ----

// MR_ rows x NV_ vectors of C. kMaskB: B is the caller's matrix and the last vector is
// partial, so it is loaded with a mask (never reading past column nr).
template <int MR_, int NV_, bool kMaskB>
void kernel_tile(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                 float* c, long ldc, int nr, float alpha, float beta) {
  const __mmask16 last = lanes(nr - (NV_ - 1) * 16);
  // C is touched only at the end; start fetching it now (it may come from memory).
  for (int i = 0; i < MR_; ++i)
    for (int v = 0; v < NV_; ++v)
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + v * 16), _MM_HINT_T0);

  __m512 acc[MR_][NV_];
#pragma GCC unroll 16
  for (int i = 0; i < MR_; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV_; ++v) acc[i][v] = _mm512_setzero_ps();

#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k) {
    __m512 bv[NV_];
#pragma GCC unroll 4
    for (int v = 0; v < NV_; ++v)
      bv[v] = (kMaskB && v == NV_ - 1) ? _mm512_maskz_loadu_ps(last, b + v * 16)
                                       : _mm512_loadu_ps(b + v * 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR_; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i * a_rs]);
#pragma GCC unroll 4
      for (int v = 0; v < NV_; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += a_cs;
    b += b_rs;
  }

  // C = alpha * acc + beta * C; beta == 0 never reads C (it may hold NaN).
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR_; ++i) {
    float* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV_; ++v) {
      const __mmask16 m = v == NV_ - 1 ? last : __mmask16(0xFFFF);
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, ci + v * 16), r);
      _mm512_mask_storeu_ps(ci + v * 16, m, r);
    }
  }
}

using KernelFn = void (*)(int, const float*, long, long, const float*, long, float*, long, int,
                          float, float);

// table[mr - 1][nv - 1][masked]: every edge tile gets a kernel of its exact size.
struct KernelTable {
  KernelFn fn[MR][NV][2];
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
  // Function-local: filled on the first call (after detect_isa), never at load time, where
  // AVX-512 instructions in a static initializer would kill older CPUs.
  static const KernelTable table = make_table();
  const int nv = (nr + 15) / 16;
  // Packed panels are zero padded to NR, so only a direct B with a partial vector needs masks.
  const bool masked = !b_packed && (nr % 16) != 0;
  table.fn[mr - 1][nv - 1][masked](kc, a, a_rs, a_cs, b, b_rs, c, ldc, nr, alpha, beta);
}

// ---- packing ----

// GCC 12's AVX-512 shuffle intrinsics trip a false -W(maybe-)uninitialized wherever they are
// inlined (GCC bug 105593), so the whole packing section mutes it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// In-register transpose of 16 rows of 16 floats. Always inlined so r[] stays in registers.
__attribute__((always_inline)) inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // interleave pairs of rows (32-bit)
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // interleave pairs of pairs (64-bit)
    const __m512d a0 = _mm512_castps_pd(t[i]), a1 = _mm512_castps_pd(t[i + 1]);
    const __m512d a2 = _mm512_castps_pd(t[i + 2]), a3 = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  // Now r[4q + s] holds, in 128-bit lane L, rows 4q..4q+3 of column 4L + s. Gather the lanes.
  for (int s = 0; s < 4; ++s) {
    const __m512 x0 = _mm512_shuffle_f32x4(r[s], r[4 + s], 0x88);  // lanes 0,2 | 0,2
    const __m512 x1 = _mm512_shuffle_f32x4(r[s], r[4 + s], 0xDD);  // lanes 1,3 | 1,3
    const __m512 x2 = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0x88);
    const __m512 x3 = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0xDD);
    t[s] = _mm512_shuffle_f32x4(x0, x2, 0x88);       // column s
    t[8 + s] = _mm512_shuffle_f32x4(x0, x2, 0xDD);   // column 8 + s
    t[4 + s] = _mm512_shuffle_f32x4(x1, x3, 0x88);   // column 4 + s
    t[12 + s] = _mm512_shuffle_f32x4(x1, x3, 0xDD);  // column 12 + s
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

// Transpose of 8 rows of 16 floats into 8 vectors, vector j = columns 2j and 2j + 1 (8 floats
// each): exactly 16 k-steps of an 8-row A panel, ready for contiguous stores.
__attribute__((always_inline)) inline void transpose8x16(__m512 r[8]) {
  __m512 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int q = 0; q < 2; ++q) {  // u[4q + s] lane L: rows 4q..4q+3 of column 4L + s
    const __m512d a0 = _mm512_castps_pd(t[4 * q]), a1 = _mm512_castps_pd(t[4 * q + 1]);
    const __m512d a2 = _mm512_castps_pd(t[4 * q + 2]), a3 = _mm512_castps_pd(t[4 * q + 3]);
    u[4 * q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
    u[4 * q + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
    u[4 * q + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
    u[4 * q + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  }
  for (int s = 0; s < 4; ++s) {  // t[s]: lanes 0,1 of u[s] | u[4+s]; t[4+s]: lanes 2,3
    t[s] = _mm512_shuffle_f32x4(u[s], u[4 + s], 0x44);
    t[4 + s] = _mm512_shuffle_f32x4(u[s], u[4 + s], 0xEE);
  }
  for (int h = 0; h < 2; ++h)      // h: lanes L = 0,1 (t[0..3]) or 2,3 (t[4..7])
    for (int s = 0; s < 4; s += 2) {  // columns 4L + s, 4L + s + 1
      r[4 * h + s / 2] = _mm512_shuffle_f32x4(t[4 * h + s], t[4 * h + s + 1], 0x88);      // L = 2h
      r[4 * h + 2 + s / 2] = _mm512_shuffle_f32x4(t[4 * h + s], t[4 * h + s + 1], 0xDD);  // L = 2h+1
    }
}

// Writes the transpose of src[rows x cols] (rows, cols <= 16, row stride ld) to dst: dst row
// c (stride dst_ld) gets `width` floats, column c of src zero padded past `rows`.
__attribute__((always_inline)) inline void transpose_block(const float* src, long ld, int rows,
                                                           int cols, float* dst, long dst_ld,
                                                           int width) {
  const __mmask16 cm = lanes(cols), wm = lanes(width);
  __m512 r[16];
  for (int i = 0; i < 16; ++i)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * ld) : _mm512_setzero_ps();
  transpose16(r);
  for (int j = 0; j < cols; ++j) _mm512_mask_storeu_ps(dst + j * dst_ld, wm, r[j]);
}

// One 8-row panel of A (rows along k in memory) -> [k][8].
void pack_a_panel8(int mr, int k, const float* src, long lda, float* dst) {
  int p = 0;
  if (mr == 8) {
    for (; p + 16 <= k; p += 16) {
      __m512 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm512_loadu_ps(src + i * lda + p);
      transpose8x16(r);
      for (int j = 0; j < 8; ++j) _mm512_storeu_ps(dst + long(p) * 8 + j * 16, r[j]);  // panels of odd k are not 64-byte aligned
    }
  }
  for (; p < k; p += 16) {  // short rows or a k tail
    const int cols = k - p < 16 ? k - p : 16;
    const __mmask16 cm = lanes(cols);
    __m512 r[8];
    for (int i = 0; i < 8; ++i)
      r[i] = i < mr ? _mm512_maskz_loadu_ps(cm, src + i * lda + p) : _mm512_setzero_ps();
    transpose8x16(r);
    for (int j = 0; 2 * j < cols; ++j)  // vector j holds k steps 2j, 2j + 1
      _mm512_mask_storeu_ps(dst + long(p) * 8 + j * 16, lanes(8 * (cols - 2 * j)), r[j]);
  }
}

void pack_a(bool trans_a, int m, int k, const float* A, long lda, float* dst) {
  if (trans_a) {  // panel rows are contiguous in A: copy MR floats per k, 16 k at a time
    const long panel = long(k) * MR;  // (access pattern as in pack_b)
    for (int p0 = 0; p0 < k; p0 += 16) {
      const int p1 = p0 + 16 < k ? p0 + 16 : k;
      for (int i0 = 0; i0 < m; i0 += MR) {
        float* d = dst + (i0 / MR) * panel;
        for (int p = p0; p < p1; ++p)
          _mm512_mask_storeu_ps(d + p * MR, lanes(MR), _mm512_maskz_loadu_ps(lanes(m - i0), A + p * lda + i0));
      }
    }
    return;
  }
  for (int i0 = 0; i0 < m; i0 += MR, dst += long(k) * MR) {  // A rows run along k: transpose
    const int mr = m - i0 < MR ? m - i0 : MR;
    const float* src = A + long(i0) * lda;
    if (MR == 8) {
      pack_a_panel8(mr, k, src, lda, dst);
    } else {
      for (int p = 0; p < k; p += 16)
        transpose_block(src + p, lda, mr, k - p < 16 ? k - p : 16, dst + long(p) * MR, MR, MR);
    }
  }
}

void pack_b(bool trans_b, int k, int n, const float* B, long ldb, float* dst) {
  if (!trans_b) {  // B rows run along n: copy NR floats per k
    // Sixteen k rows at a time, panel by panel: the reads are 16 sequential streams and the
    // writes one contiguous run. (Writing every panel for each k instead touches addresses
    // kc * NR * 4 bytes apart, which share an L1 set; panel after panel over all k strides
    // B by ldb and misses the TLB.)
    const long panel = long(k) * NR;
    for (int p0 = 0; p0 < k; p0 += 16) {
      const int p1 = p0 + 16 < k ? p0 + 16 : k;
      for (int j0 = 0; j0 < n; j0 += NR) {
        float* d = dst + (j0 / NR) * panel;
        for (int p = p0; p < p1; ++p)
          for (int v = 0; v < NV; ++v)
            _mm512_store_ps(d + p * NR + v * 16,
                            _mm512_maskz_loadu_ps(lanes(n - j0 - v * 16), B + p * ldb + j0 + v * 16));
      }
    }
    return;
  }
  // Column j of op(B) is row j of B: transpose 16 x 16 blocks.
  for (int j0 = 0; j0 < n; j0 += NR, dst += long(k) * NR) {
    for (int v = 0; v < NV; ++v) {
      const int rows = n - j0 - v * 16;  // valid B rows in this 16-column group
      const float* src = B + long(j0 + v * 16) * ldb;
      float* d = dst + v * 16;
      int p = 0;
      if (rows >= 16) {
        for (; p + 16 <= k; p += 16) {  // full blocks: plain loads and aligned stores
          __m512 r[16];
          for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ldb + p);
          transpose16(r);
          for (int j = 0; j < 16; ++j) _mm512_store_ps(d + long(p + j) * NR, r[j]);
        }
      }
      for (; p < k; p += 16) {
        const int cols = k - p < 16 ? k - p : 16;
        if (rows > 0)
          transpose_block(src + p, ldb, rows < 16 ? rows : 16, cols, d + long(p) * NR, NR, 16);
        else
          for (int q = 0; q < cols; ++q) _mm512_store_ps(d + long(p + q) * NR, _mm512_setzero_ps());
      }
    }
  }
}

#pragma GCC diagnostic pop

// Blocking (Zen 5: 48 KiB L1d, 1 MiB L2 per core): kc up to 1024 so C is read and written
// once per 1024 of K (kc = 256 lost 15% at n = 2048 to re-reading C); an A block of 96 x 1024
// (384 KiB) plus the current B micro-panel (1024 x 48, 192 KiB) stay in L2; a B panel of
// 1024 x 1536 (6 MiB) in L3.
constexpr KernelSet kSet = {"avx512", MR, NR, 1024, 96, 1536, pack_a, pack_b, kernel};

}  // namespace

const KernelSet* avx512_kernels() { return &kSet; }

}  // namespace af::cpu::gemm_detail

#else  // not x86-64 with AVX-512 flags: nothing to offer

namespace af::cpu::gemm_detail {
const KernelSet* avx512_kernels() { return nullptr; }
}  // namespace af::cpu::gemm_detail

#endif
