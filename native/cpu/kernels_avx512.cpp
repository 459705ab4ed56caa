// AVX-512 kernel table: the generic math of kernels.h on 16 floats at a time, plus a
// vectorized dropout hash. Compiled with -mavx512f/vl/bw/dq; chosen at run time.
#include "kernels.h"

#if defined(__x86_64__)
// GCC 12 reports its own _mm512_undefined_* placeholders as (maybe-)uninitialized (GCC bug
// 105593); the warning points into the intrinsics headers, so it is silenced only there.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace af::cpu {
namespace {

struct V16 {
  using F = __m512;
  using M = __mmask16;
  static constexpr int W = 16;

  static M tail(int n) { return static_cast<M>((1u << n) - 1u); }  // 0 < n < 16
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F loadn(const float* p, int n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), tail(n), p);
  }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void storen(float* p, F v, int n) { _mm512_mask_storeu_ps(p, tail(n), v); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fma_exact(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F neg(F a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
  static F abs(F a) { return _mm512_andnot_ps(_mm512_set1_ps(-0.0f), a); }
  static F copysign(F mag, F sign) {
    const F s = _mm512_set1_ps(-0.0f);
    return _mm512_or_ps(_mm512_andnot_ps(s, mag), _mm512_and_ps(s, sign));
  }
  static F and_bits(F a, uint32_t mask) {
    return _mm512_and_ps(a, _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int>(mask))));
  }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
  static F pow2i(F n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static float reduce_add(F a) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float reduce_max(F a) {
    __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float sqrt_scalar(float a) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(a))); }
  static float inf() { return _mm_cvtss_f32(_mm_castsi128_ps(_mm_set1_epi32(0x7f800000))); }
};

// The splitmix64 generator of core/dropout_rng.h, restated here (that header's inline
// functions must not be compiled with these flags). 8 counters per __m512i.
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMix1 = 0xBF58476D1CE4E5B9ull;
constexpr uint64_t kMix2 = 0x94D049BB133111EBull;

inline uint64_t hash_scalar(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + kGolden * (counter + 1);
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

inline __m512i mix(__m512i z) {
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                         _mm512_set1_epi64(static_cast<long long>(kMix1)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                         _mm512_set1_epi64(static_cast<long long>(kMix2)));
  return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

void dropout_avx512(float* out, const float* in, size_t n, uint64_t seed, uint64_t counter,
                    float p, float scale) {
  // z for element i is seed + golden * (counter + 1 + i): a running sum, no multiply.
  const __m512i lane_lo = _mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi64(static_cast<long long>(kGolden)));
  const __m512i eight = _mm512_set1_epi64(static_cast<long long>(kGolden * 8));
  const __m512i sixteen = _mm512_set1_epi64(static_cast<long long>(kGolden * 16));
  __m512i z_lo = _mm512_add_epi64(
      _mm512_set1_epi64(static_cast<long long>(seed + kGolden * (counter + 1))), lane_lo);
  const __m512 thr = _mm512_set1_ps(p * 16777216.0f);  // u >= p  <=>  (z >> 40) >= p * 2^24
  const __m512 vs = _mm512_set1_ps(scale);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i z_hi = _mm512_add_epi64(z_lo, eight);
    __m256i a = _mm512_cvtepi64_epi32(_mm512_srli_epi64(mix(z_lo), 40));
    __m256i b = _mm512_cvtepi64_epi32(_mm512_srli_epi64(mix(z_hi), 40));
    __m512 u = _mm512_cvtepi32_ps(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1));
    __mmask16 keep = _mm512_cmp_ps_mask(u, thr, _CMP_GE_OQ);
    _mm512_storeu_ps(out + i, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(in + i), vs));
    z_lo = _mm512_add_epi64(z_lo, sixteen);
  }
  for (; i < n; ++i) {
    float u = static_cast<float>(hash_scalar(seed, counter + i) >> 40) * (1.0f / 16777216.0f);
    out[i] = u >= p ? in[i] * scale : 0.0f;
  }
}

constexpr Kernels kAvx512Kernels = kmath::make_kernels<V16>("avx512", &dropout_avx512);

}  // namespace

const Kernels* avx512_kernels() { return &kAvx512Kernels; }

}  // namespace af::cpu

#else

namespace af::cpu {
const Kernels* avx512_kernels() { return nullptr; }
}  // namespace af::cpu

#endif
