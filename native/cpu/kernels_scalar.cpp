// The portable kernel table: the generic math of kernels.h on one float at a time, built with
// baseline flags. The x86 path when AVX2 is missing (or forced by tests), and the path on
// other architectures.
#include <cmath>
#include <cstring>

#include "../core/dropout_rng.h"
#include "kernels.h"

namespace af::cpu {
namespace {

struct Scalar {
  using F = float;
  using M = bool;
  static constexpr int W = 1;

  static F load(const float* p) { return *p; }
  static F loadn(const float* p, int n, float fill) { return n > 0 ? *p : fill; }
  static void store(float* p, F v) { *p = v; }
  static void storen(float* p, F v, int n) {
    if (n > 0) *p = v;
  }
  static F set1(float v) { return v; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  // Fused where the target has the instruction (aarch64, -mfma builds); the x86-64 baseline
  // has none, so there fma is a multiply and an add, and fma_exact (needed by one error-free
  // step of GELU) goes through double, where the product of two floats is exact.
#if defined(__aarch64__) || defined(__FMA__)
  static F fma(F a, F b, F c) { return std::fma(a, b, c); }
  static F fma_exact(F a, F b, F c) { return std::fma(a, b, c); }
#else
  static F fma(F a, F b, F c) { return a * b + c; }
  static F fma_exact(F a, F b, F c) {
    return static_cast<float>(static_cast<double>(a) * b + c);
  }
#endif
  static F neg(F a) { return -a; }
  static F abs(F a) { return std::fabs(a); }
  static F copysign(F mag, F sign) { return std::copysign(mag, sign); }
  static F and_bits(F a, uint32_t mask) {
    uint32_t u;
    std::memcpy(&u, &a, 4);
    u &= mask;
    std::memcpy(&a, &u, 4);
    return a;
  }
  static F min(F a, F b) { return a < b ? a : b; }  // as minps: b when either is NaN
  static F max(F a, F b) { return a > b ? a : b; }
  static M lt(F a, F b) { return a < b; }
  static M gt(F a, F b) { return a > b; }
  static M ge(F a, F b) { return a >= b; }
  static F select(M m, F a, F b) { return m ? a : b; }
  static F pow2i(F n) {
    int e = n == n ? static_cast<int>(n) : 0;  // NaN: any scale (the product is NaN anyway)
    uint32_t u = static_cast<uint32_t>(e + 127) << 23;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  static float reduce_add(F a) { return a; }
  static float reduce_max(F a) { return a; }
  static float sqrt_scalar(float a) { return std::sqrt(a); }
  static float inf() { return HUGE_VALF; }
};

void dropout_scalar(float* out, const float* in, size_t n, uint64_t seed, uint64_t counter,
                    float p, float scale) {
  for (size_t i = 0; i < n; ++i) out[i] = dropout_keep(seed, counter + i, p) ? in[i] * scale : 0.0f;
}

constexpr Kernels kScalarKernels = kmath::make_kernels<Scalar>("scalar", &dropout_scalar);

}  // namespace

const Kernels& scalar_kernels() { return kScalarKernels; }

}  // namespace af::cpu
