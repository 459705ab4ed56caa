// AVX2 + FMA kernel table: the generic math of kernels.h on 8 floats at a time, plus a
// vectorized dropout hash (64-bit multiplies built from 32-bit ones). Chosen at run time.
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

// Tail masks: 8 x -1 then 8 x 0; loading at (8 - n) gives n leading lanes on.
alignas(64) constexpr int kTailBits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

struct V8 {
  using F = __m256;
  using M = __m256;
  static constexpr int W = 8;

  static __m256i tail(int n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailBits + 8 - n));
  }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static F loadn(const float* p, int n, float fill) {
    __m256i m = tail(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m),
                            _mm256_castsi256_ps(m));
  }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void storen(float* p, F v, int n) { _mm256_maskstore_ps(p, tail(n), v); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fma_exact(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F neg(F a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static F abs(F a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static F copysign(F mag, F sign) {
    const F s = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sign));
  }
  static F and_bits(F a, uint32_t mask) {
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(mask))));
  }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
  static F pow2i(F n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static float reduce_add(F a) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float reduce_max(F a) {
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static float sqrt_scalar(float a) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(a))); }
  static float inf() { return _mm_cvtss_f32(_mm_castsi128_ps(_mm_set1_epi32(0x7f800000))); }
};

// The splitmix64 generator of core/dropout_rng.h, restated here (that header's inline
// functions must not be compiled with these flags). 4 counters per __m256i.
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kMix1 = 0xBF58476D1CE4E5B9ull;
constexpr uint64_t kMix2 = 0x94D049BB133111EBull;

inline uint64_t hash_scalar(uint64_t seed, uint64_t counter) {
  uint64_t z = seed + kGolden * (counter + 1);
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

// Low 64 bits of a * c for a constant c: lo*lo + ((hi*lo + lo*hi) << 32).
inline __m256i mullo64(__m256i a, uint64_t c) {
  const __m256i c_lo = _mm256_set1_epi64x(static_cast<long long>(c & 0xFFFFFFFFull));
  const __m256i c_hi = _mm256_set1_epi64x(static_cast<long long>(c >> 32));
  __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), c_lo),
                                   _mm256_mul_epu32(a, c_hi));
  return _mm256_add_epi64(_mm256_mul_epu32(a, c_lo), _mm256_slli_epi64(cross, 32));
}

inline __m256i mix(__m256i z) {
  z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), kMix1);
  z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), kMix2);
  return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

void dropout_avx2(float* out, const float* in, size_t n, uint64_t seed, uint64_t counter, float p,
                  float scale) {
  // z for element i is seed + golden * (counter + 1 + i): a running sum, no multiply.
  const uint64_t z0 = seed + kGolden * (counter + 1);
  __m256i z_lo = _mm256_set_epi64x(static_cast<long long>(z0 + 3 * kGolden),
                                   static_cast<long long>(z0 + 2 * kGolden),
                                   static_cast<long long>(z0 + kGolden),
                                   static_cast<long long>(z0));
  const __m256i four = _mm256_set1_epi64x(static_cast<long long>(kGolden * 4));
  const __m256i eight = _mm256_set1_epi64x(static_cast<long long>(kGolden * 8));
  const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const __m256 thr = _mm256_set1_ps(p * 16777216.0f);  // u >= p  <=>  (z >> 40) >= p * 2^24
  const __m256 vs = _mm256_set1_ps(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i a = _mm256_srli_epi64(mix(z_lo), 40);
    __m256i b = _mm256_srli_epi64(mix(_mm256_add_epi64(z_lo, four)), 40);
    // the low 32-bit halves of a then b, in order
    __m256i ab = _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(a, evens),
                                           _mm256_permutevar8x32_epi32(b, evens), 0x20);
    __m256 keep = _mm256_cmp_ps(_mm256_cvtepi32_ps(ab), thr, _CMP_GE_OQ);
    _mm256_storeu_ps(out + i, _mm256_and_ps(keep, _mm256_mul_ps(_mm256_loadu_ps(in + i), vs)));
    z_lo = _mm256_add_epi64(z_lo, eight);
  }
  for (; i < n; ++i) {
    float u = static_cast<float>(hash_scalar(seed, counter + i) >> 40) * (1.0f / 16777216.0f);
    out[i] = u >= p ? in[i] * scale : 0.0f;
  }
}

constexpr Kernels kAvx2Kernels = kmath::make_kernels<V8>("avx2", &dropout_avx2);

}  // namespace

const Kernels* avx2_kernels() { return &kAvx2Kernels; }

}  // namespace af::cpu

#else

namespace af::cpu {
const Kernels* avx2_kernels() { return nullptr; }
}  // namespace af::cpu

#endif
