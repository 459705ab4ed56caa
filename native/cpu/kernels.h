// Internal to the CPU backend: the row kernels around the GEMMs (activations, softmax pieces,
// layer norm rows, dropout), one table per instruction set. kernels_scalar.cpp fills the
// portable table; kernels_avx2.cpp / kernels_avx512.cpp fill theirs with intrinsics. The ops
// pick a table at run time from the backend's ISA (see kernels_for in ops.h).
//
// The math is written once, below, as templates over a small SIMD traits type `V` that each
// kernels_*.cpp defines: float vector F, lane mask M, width W; load/store, loadn/storen (the
// first n lanes; loadn fills the rest with a given value); set1, add, sub, mul, div, fma
// (a*b+c, fused or not), fma_exact (a*b+c with one rounding), neg, abs, copysign, and_bits,
// min/max (x86 semantics: the second operand is returned when either is NaN), lt/gt/ge,
// select(m, a, b) (a where m), pow2i (2^n for integral n in [-126, 127]), reduce_add and
// reduce_max (in a fixed order), sqrt_scalar, inf.
//
// ODR caution (as in gemm_kernels.h): the _avx2/_avx512 files are compiled with wider
// instruction sets, so everything in this header that they instantiate lives in an anonymous
// namespace, this header includes no std headers beyond <cstddef>/<cstdint>, and the generic
// code calls nothing but V's operations.
#pragma once
#include <cstddef>
#include <cstdint>

namespace af::cpu {

// Activation kinds, in the order of af::Activation (checked by a static_assert in ops.h).
enum ActKind : int { kActNone = 0, kActGelu, kActRelu, kActSwish, kActTanh, kActCount };

struct Kernels {
  const char* name;  // "scalar", "avx2", "avx512"

  // out = act(in) over n values; out may alias in.
  void (*act_forward)(int act, float* out, const float* in, size_t n);
  // din = dout * act'(in); din may alias dout.
  void (*act_backward)(int act, float* din, const float* dout, const float* in, size_t n);
  // Linear epilogue on a block of `rows` x `cols` (row stride ld for y and pre):
  // v = y + bias; pre = v (when pre); y = act(v). bias [cols] may be null.
  void (*bias_act)(int act, float* y, float* pre, size_t ld, const float* bias, int rows,
                   int cols);

  void (*exp)(float* out, const float* in, size_t n);  // out = exp(in)
  float (*max)(const float* x, size_t n);              // -inf for n == 0; NaNs are skipped
  // out = exp(in - shift); returns the sum of out (float lanes per block, blocks in double).
  double (*exp_shift_sum)(float* out, const float* in, size_t n, float shift);
  void (*scale)(float* out, const float* in, size_t n, float a);       // out = a * in
  void (*add)(float* out, const float* a, const float* b, size_t n);   // out = a + b
  // Softmax backward on one row: ds = scale * p * (dp - dot(dp, p)); ds may alias dp.
  void (*softmax_backward)(float* ds, const float* dp, const float* p, size_t n, float scale);

  // One layer-norm row [D]: out = (x - mean) * rstd * w + b, biased variance, eps inside the
  // sqrt. Returns mean and rstd through the pointers (never null here).
  void (*layernorm_forward)(float* out, float* mean, float* rstd, const float* x,
                            const float* w, const float* b, int D, float eps);
  // One layer-norm row backward: din = (or +=, when accumulate) rstd * (g - mean(g) -
  // xhat * mean(g * xhat)), g = dout * w; dw += dout * xhat; db += dout. din, dw, db may be
  // null (skipped).
  void (*layernorm_backward)(float* din, float* dw, float* db, const float* dout,
                             const float* x, const float* w, float mean, float rstd, int D,
                             bool accumulate);

  // out[i] = keep(seed, counter + i) ? in[i] * scale : 0 with keep as in core/dropout_rng.h
  // (bit-identical masks on every ISA); out may alias in.
  void (*dropout)(float* out, const float* in, size_t n, uint64_t seed, uint64_t counter, float p,
                  float scale);
};

const Kernels& scalar_kernels();
// Only call these when detect_isa() allows; nullptr on non-x86-64 builds.
const Kernels* avx2_kernels();
const Kernels* avx512_kernels();

// ---------------------------------------------------------------------------------------------
// The generic math. Instantiated by each kernels_*.cpp with its own V.
namespace {
namespace kmath {

// GELU(x) = x * Phi(x), Phi the standard normal CDF, in two pieces (coefficients fitted for
// this library by an iteratively reweighted least-squares minimax fit against mpmath):
//   |x| < 3/4:  Phi(x) = 1/2 + x * A(x^2)                        (A: degree 4, rel. err 2e-9)
//   |x| >= 3/4: y = |x|, y * Phi(-y) = exp(-y^2/2) * K(t - 5/8),  t = 1 / (1 + y/4)
//               (K: degree 9 over y in [3/4, 16], rel. err 1.1e-8 with its float
//               coefficients, which were rounded one at a time, refitting the rest)
// so GELU(x) = x - q for x > 0 and -q for x < 0, q = exp(-y^2/2) K. No x/sqrt(2) is ever
// rounded, and two roundings that would dominate the error are undone:
//  - the exponent -y^2/2 is formed in two pieces (y split into 12 + 12 bits): rounding y^2
//    alone would cost 2 y^2 ulps (6e-6 at y = 10);
//  - t is corrected for the roundings of 1 + y/4 and of the division (K is ~3x as sensitive
//    to t as to y near y = 1).
// The cut at 3/4 keeps the cancellation in 1/2 + x A (x < 0) small.
constexpr float kGeluA[5] = {0.398942292f, -0.0664902925f, 0.00997234881f, -0.00118128513f,
                             0.000102940576f};
constexpr float kGeluK[10] = {0.350479543f, -0.304359257f, -0.854744852f, -1.45148158f,
                              -1.60820985f, -1.04667461f,  -0.154846206f, 0.321352869f,
                              0.1884958f,   -0.0137073463f};
constexpr float kGeluKShift = 0.625f;
constexpr float kGeluCut = 0.75f;
constexpr float kInvSqrt2Pi = 0.398942280f;

// exp(r) = 1 + r + r^2 P(r) on |r| <= ln2/2 (rel. err of the sum ~1e-9).
constexpr float kExpP[5] = {0.5f, 0.166665748f, 0.0416668579f, 0.00836348627f, 0.00139014272f};
constexpr float kLog2e = 1.44269504f;
constexpr float kLn2Hi = 0.693359375f;      // 10 significant bits: n * kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;   // ln 2 - kLn2Hi
constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: (v + magic) - magic rounds to int

// tanh(x) = x + x^3 T(x^2) for |x| < 0.7 (rel. err of T 4e-8, of tanh ~1e-8).
constexpr float kTanhT[7] = {-0.333333343f, 0.133333281f,  -0.0539665669f, 0.021848388f,
                             -0.0087356139f, 0.00318395812f, -0.000761303003f};
constexpr float kTanhCut = 0.7f;

template <class V, int N>
inline typename V::F horner(typename V::F x, const float (&c)[N]) {
  typename V::F p = V::set1(c[N - 1]);
  for (int i = N - 2; i >= 0; --i) p = V::fma(p, x, V::set1(c[i]));
  return p;
}

// exp(hi + lo) = (1 + p) * s1 * s2 for |lo| < ~0.1 carrying the bits hi cannot hold: p is the
// polynomial part and s1 s2 = 2^n in two factors, so that results in the denormal range
// (n < -126) stay exact. Callers that multiply the result by something can fold that into
// (1 + p) and save a rounding.
template <class V>
struct ExpParts {
  typename V::F p, s1, s2;
};

template <class V>
inline ExpParts<V> exp_parts(typename V::F hi, typename V::F lo) {
  using F = typename V::F;
  // Clamped so each 2^n factor stays a normal float: exp(-150) times anything below 1e20 is
  // 0 in float, exp(89) is inf. NaN passes through (min/max return it).
  hi = V::max(V::set1(-150.0f), V::min(V::set1(89.0f), hi));
  const F magic = V::set1(kRoundMagic);
  F n = V::sub(V::fma(V::add(hi, lo), V::set1(kLog2e), magic), magic);  // |r| <= ~ln2/2
  F r = V::fma(n, V::set1(-kLn2Hi), hi);
  r = V::fma(n, V::set1(-kLn2Lo), r);
  r = V::add(r, lo);
  F n1 = V::sub(V::fma(n, V::set1(0.5f), magic), magic);
  return {V::fma(V::mul(r, r), horner<V>(r, kExpP), r), V::pow2i(n1), V::pow2i(V::sub(n, n1))};
}

// exp(hi + lo), about 1 ulp. Overflows to inf above ~88.72, gives denormals down to ~-103.3
// and 0 below; NaN propagates.
template <class V>
inline typename V::F exp2parts(typename V::F hi, typename V::F lo) {
  ExpParts<V> e = exp_parts<V>(hi, lo);
  return V::mul(V::mul(V::add(V::set1(1.0f), e.p), e.s1), e.s2);
}

template <class V>
inline typename V::F exp(typename V::F x) {
  return exp2parts<V>(x, V::set1(0.0f));
}

// exp(-y^2 / 2) for y >= 0 with the square formed exactly: y = yh + yl, yh with 12 bits, so
// yh^2 is exact and the rest, 2^-11 of it at most, rides in exp_parts' lo.
template <class V>
inline ExpParts<V> exp_neg_half_square(typename V::F y) {
  using F = typename V::F;
  F yh = V::and_bits(y, 0xFFFFF000u);
  F yl = V::sub(y, yh);
  F sq_hi = V::mul(yh, yh);                 // exact
  F sq_lo = V::mul(yl, V::add(y, yh));      // y^2 - yh^2
  return exp_parts<V>(V::mul(sq_hi, V::set1(-0.5f)), V::mul(sq_lo, V::set1(-0.5f)));
}

// The pieces both GELU directions share.
template <class V>
struct GeluParts {
  typename V::F small;   // A(x^2)  (used for |x| < kGeluCut)
  typename V::F k;       // K: y Phi(-y) = exp(-y^2/2) K  (used for |x| >= kGeluCut)
  ExpParts<V> e;         // exp(-y^2/2) = (1 + e.p) e.s1 e.s2
  typename V::F y;       // min(|x|, 16): beyond 16 exp(-y^2/2) is 0 in float, and the
                         // clamp keeps inf * 0 out of backward
  typename V::M is_small, is_pos;
};

// (1 + e.p) * v * 2^n with a single rounding where the result is denormal.
template <class V>
inline typename V::F exp_times(const ExpParts<V>& e, typename V::F v) {
  return V::mul(V::mul(V::fma(e.p, v, v), e.s1), e.s2);
}

template <class V>
inline GeluParts<V> gelu_parts(typename V::F x) {
  using F = typename V::F;
  GeluParts<V> g;
  g.small = horner<V>(V::mul(x, x), kGeluA);
  g.y = V::min(V::set1(16.0f), V::abs(x));
  const F one = V::set1(1.0f), quarter = V::set1(0.25f);
  F d = V::fma(g.y, quarter, one);                   // 1 + y/4, rounded
  F d_err = V::add(V::mul(g.y, quarter), V::sub(one, d));  // (1 + y/4) - d, exact
  F t = V::div(one, d);
  F r = V::fma_exact(V::neg(t), d, one);             // 1 - t d, exact
  // 1 / (d + d_err) = t (1 + r - d_err t) to first order; t - 5/8 is exact for y <= 8.8.
  F v = V::fma(t, V::fma(V::neg(d_err), t, r), V::sub(t, V::set1(kGeluKShift)));
  g.k = horner<V>(v, kGeluK);
  g.e = exp_neg_half_square<V>(g.y);
  g.is_small = V::lt(V::abs(x), V::set1(kGeluCut));
  g.is_pos = V::gt(x, V::set1(0.0f));
  return g;
}

template <class V>
inline typename V::F gelu(typename V::F x) {
  GeluParts<V> g = gelu_parts<V>(x);
  typename V::F near0 = V::mul(x, V::fma(x, g.small, V::set1(0.5f)));
  typename V::F q = exp_times<V>(g.e, g.k);  // y Phi(-y)
  typename V::F far = V::select(g.is_pos, V::sub(x, q), V::neg(q));
  return V::select(g.is_small, near0, far);
}

// GELU'(x) = Phi(x) + x phi(x). Far from 0, with w = exp(-y^2/2) (y/sqrt(2 pi) - K/y):
// GELU'(x) = 1 + w for x > 0 and -w for x < 0 (the difference is taken before scaling, so
// denormal results round once).
template <class V>
inline typename V::F gelu_grad(typename V::F x) {
  using F = typename V::F;
  GeluParts<V> g = gelu_parts<V>(x);
  const F c = V::set1(kInvSqrt2Pi);
  F near0 = V::fma(V::mul(x, c), exp_times<V>(g.e, V::set1(1.0f)),
                   V::fma(x, g.small, V::set1(0.5f)));
  F w = exp_times<V>(g.e, V::sub(V::mul(g.y, c), V::div(g.k, g.y)));
  F far = V::select(g.is_pos, V::add(V::set1(1.0f), w), V::neg(w));
  return V::select(g.is_small, near0, far);
}

// tanh: odd polynomial near 0, 1 - 2 / (exp(2|x|) + 1) elsewhere (|x| clamped to 10, where
// tanh is already 1 in float, so +-inf give +-1).
template <class V>
inline typename V::F tanh(typename V::F x) {
  using F = typename V::F;
  F s = V::mul(x, x);
  F near0 = V::fma(V::mul(x, s), horner<V>(s, kTanhT), x);
  F y = V::min(V::set1(10.0f), V::abs(x));
  F e = exp<V>(V::add(y, y));
  F far = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(e, V::set1(1.0f))));
  far = V::copysign(far, x);
  return V::select(V::lt(V::abs(x), V::set1(kTanhCut)), near0, far);
}

// Sigmoid from e = exp(-|x|) (never overflows): with inv = 1 / (1 + e), sigmoid(x) is inv for
// x >= 0 and e inv for x < 0. Products with e go through exp_times, so that tiny results
// (x < -87) round once instead of losing bits in a denormal e.
template <class V>
struct SigmoidParts {
  ExpParts<V> e;
  typename V::F inv;
  typename V::M pos;
};

template <class V>
inline SigmoidParts<V> sigmoid_parts(typename V::F x) {
  SigmoidParts<V> s;
  s.e = exp_parts<V>(V::neg(V::abs(x)), V::set1(0.0f));
  typename V::F e = exp_times<V>(s.e, V::set1(1.0f));
  s.inv = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  s.pos = V::ge(x, V::set1(0.0f));
  return s;
}

// swish(x) = x sigmoid(x); x is clamped below at -200 (result -0) so -inf gives -0, not NaN.
template <class V>
inline typename V::F swish(typename V::F x) {
  SigmoidParts<V> s = sigmoid_parts<V>(x);
  typename V::F xi = V::mul(V::max(V::set1(-200.0f), x), s.inv);
  return V::select(s.pos, xi, exp_times<V>(s.e, xi));
}

// swish'(x) = sig (1 + x (1 - sig)); x clamped to [-200, 200] (the limits are 0 and 1).
//   x >= 0: inv (1 + x e inv)        x < 0: e inv (1 + x inv)
template <class V>
inline typename V::F swish_grad(typename V::F x) {
  using F = typename V::F;
  SigmoidParts<V> s = sigmoid_parts<V>(x);
  F xc = V::max(V::set1(-200.0f), V::min(V::set1(200.0f), x));
  F xinv = V::mul(xc, s.inv);
  F pos = V::mul(s.inv, V::fma(exp_times<V>(s.e, V::set1(1.0f)), xinv, V::set1(1.0f)));
  F neg = exp_times<V>(s.e, V::mul(s.inv, V::add(V::set1(1.0f), xinv)));
  return V::select(s.pos, pos, neg);
}

template <class V>
inline typename V::F relu(typename V::F x) {
  return V::max(V::set1(0.0f), x);  // NaN stays NaN
}

template <class V>
inline typename V::F relu_grad_mul(typename V::F x, typename V::F dout) {
  return V::select(V::gt(x, V::set1(0.0f)), dout, V::set1(0.0f));
}

template <class V>
inline typename V::F activate(int act, typename V::F x) {
  switch (act) {
    case kActGelu: return gelu<V>(x);
    case kActRelu: return relu<V>(x);
    case kActSwish: return swish<V>(x);
    case kActTanh: return tanh<V>(x);
    default: return x;
  }
}

// ---- loops: full vectors, then one masked tail ----

template <class V, class Op>
inline void map1(float* out, const float* in, size_t n, Op op) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(out + i, op(V::load(in + i)));
  if (i < n) {
    int r = static_cast<int>(n - i);
    V::storen(out + i, op(V::loadn(in + i, r, 0.0f)), r);
  }
}

template <class V, class Op>
inline void map2(float* out, const float* a, const float* b, size_t n, Op op) {
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(out + i, op(V::load(a + i), V::load(b + i)));
  if (i < n) {
    int r = static_cast<int>(n - i);
    V::storen(out + i, op(V::loadn(a + i, r, 0.0f), V::loadn(b + i, r, 0.0f)), r);
  }
}

// Dispatch on the activation outside the loop, so each loop body is one straight function.
template <class V>
void act_forward(int act, float* out, const float* in, size_t n) {
  using F = typename V::F;
  switch (act) {
    case kActGelu: map1<V>(out, in, n, [](F x) { return gelu<V>(x); }); break;
    case kActRelu: map1<V>(out, in, n, [](F x) { return relu<V>(x); }); break;
    case kActSwish: map1<V>(out, in, n, [](F x) { return swish<V>(x); }); break;
    case kActTanh: map1<V>(out, in, n, [](F x) { return tanh<V>(x); }); break;
    default:
      if (out != in) map1<V>(out, in, n, [](F x) { return x; });
  }
}

template <class V>
void act_backward(int act, float* din, const float* dout, const float* in, size_t n) {
  using F = typename V::F;
  switch (act) {
    case kActGelu:
      map2<V>(din, dout, in, n, [](F d, F x) { return V::mul(d, gelu_grad<V>(x)); });
      break;
    case kActRelu:
      map2<V>(din, dout, in, n, [](F d, F x) { return relu_grad_mul<V>(x, d); });
      break;
    case kActSwish:
      map2<V>(din, dout, in, n, [](F d, F x) { return V::mul(d, swish_grad<V>(x)); });
      break;
    case kActTanh:
      map2<V>(din, dout, in, n, [](F d, F x) {
        F t = tanh<V>(x);
        return V::mul(d, V::fma(V::neg(t), t, V::set1(1.0f)));  // 1 - tanh^2, as torch
      });
      break;
    default:
      if (din != dout) map1<V>(din, dout, n, [](F x) { return x; });
  }
}

template <class V, int Act>
void bias_act_rows(float* y, float* pre, size_t ld, const float* bias, int rows, int cols) {
  using F = typename V::F;
  const size_t n = static_cast<size_t>(cols);
  for (int r = 0; r < rows; ++r, y += ld, pre = pre ? pre + ld : nullptr) {
    for (size_t i = 0; i < n; i += V::W) {
      const int k = n - i >= static_cast<size_t>(V::W) ? V::W : static_cast<int>(n - i);
      const bool full = k == V::W;
      F v = full ? V::load(y + i) : V::loadn(y + i, k, 0.0f);
      if (bias) v = V::add(v, full ? V::load(bias + i) : V::loadn(bias + i, k, 0.0f));
      if (pre) full ? V::store(pre + i, v) : V::storen(pre + i, v, k);
      v = activate<V>(Act, v);
      full ? V::store(y + i, v) : V::storen(y + i, v, k);
    }
  }
}

template <class V>
void bias_act(int act, float* y, float* pre, size_t ld, const float* bias, int rows, int cols) {
  switch (act) {
    case kActGelu: bias_act_rows<V, kActGelu>(y, pre, ld, bias, rows, cols); break;
    case kActRelu: bias_act_rows<V, kActRelu>(y, pre, ld, bias, rows, cols); break;
    case kActSwish: bias_act_rows<V, kActSwish>(y, pre, ld, bias, rows, cols); break;
    case kActTanh: bias_act_rows<V, kActTanh>(y, pre, ld, bias, rows, cols); break;
    default: bias_act_rows<V, kActNone>(y, pre, ld, bias, rows, cols);
  }
}

template <class V>
void exp_kernel(float* out, const float* in, size_t n) {
  map1<V>(out, in, n, [](typename V::F x) { return exp<V>(x); });
}

template <class V>
float max_kernel(const float* x, size_t n) {
  const float ninf = -V::inf();
  typename V::F m = V::set1(ninf);
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) m = V::max(V::load(x + i), m);  // NaN lanes keep m
  if (i < n) m = V::max(V::loadn(x + i, static_cast<int>(n - i), ninf), m);
  return V::reduce_max(m);
}

// Sums are taken in float lanes over blocks of kSumBlock values, blocks added in double:
// fast, and accurate for rows as long as a vocabulary.
constexpr size_t kSumBlock = 512;

template <class V>
double exp_shift_sum(float* out, const float* in, size_t n, float shift) {
  using F = typename V::F;
  const F s = V::set1(shift);
  double total = 0;
  for (size_t b0 = 0; b0 < n; b0 += kSumBlock) {
    size_t b1 = b0 + kSumBlock < n ? b0 + kSumBlock : n;
    F acc = V::set1(0.0f);
    size_t i = b0;
    for (; i + V::W <= b1; i += V::W) {
      F e = exp<V>(V::sub(V::load(in + i), s));
      V::store(out + i, e);
      acc = V::add(acc, e);
    }
    if (i < b1) {
      int r = static_cast<int>(b1 - i);
      // padding lanes read -inf, so they add exp(-inf) = 0
      F e = exp<V>(V::sub(V::loadn(in + i, r, -V::inf()), s));
      V::storen(out + i, e, r);
      acc = V::add(acc, e);
    }
    total += V::reduce_add(acc);
  }
  return total;
}

template <class V>
void scale_kernel(float* out, const float* in, size_t n, float a) {
  const typename V::F va = V::set1(a);
  map1<V>(out, in, n, [va](typename V::F x) { return V::mul(x, va); });
}

template <class V>
void add_kernel(float* out, const float* a, const float* b, size_t n) {
  map2<V>(out, a, b, n, [](typename V::F x, typename V::F y) { return V::add(x, y); });
}

template <class V>
double dot_blocked(const float* a, const float* b, size_t n) {
  using F = typename V::F;
  double total = 0;
  for (size_t b0 = 0; b0 < n; b0 += kSumBlock) {
    size_t b1 = b0 + kSumBlock < n ? b0 + kSumBlock : n;
    F acc = V::set1(0.0f);
    size_t i = b0;
    for (; i + V::W <= b1; i += V::W) acc = V::fma(V::load(a + i), V::load(b + i), acc);
    if (i < b1) {
      int r = static_cast<int>(b1 - i);
      acc = V::fma(V::loadn(a + i, r, 0.0f), V::loadn(b + i, r, 0.0f), acc);
    }
    total += V::reduce_add(acc);
  }
  return total;
}

template <class V>
void softmax_backward(float* ds, const float* dp, const float* p, size_t n, float scale) {
  using F = typename V::F;
  const F c = V::set1(static_cast<float>(dot_blocked<V>(dp, p, n)));
  const F sc = V::set1(scale);
  map2<V>(ds, dp, p, n, [c, sc](F d, F pv) { return V::mul(V::mul(pv, V::sub(d, c)), sc); });
}

template <class V>
void layernorm_forward(float* out, float* mean_out, float* rstd_out, const float* x,
                       const float* w, const float* b, int D, float eps) {
  using F = typename V::F;
  const size_t n = static_cast<size_t>(D);
  F acc = V::set1(0.0f);
  size_t i = 0;
  for (; i + V::W <= n; i += V::W) acc = V::add(acc, V::load(x + i));
  if (i < n) acc = V::add(acc, V::loadn(x + i, static_cast<int>(n - i), 0.0f));
  const float mean = V::reduce_add(acc) / static_cast<float>(D);
  // Second pass over the (cached) row: variance about the mean, no cancellation.
  const F m = V::set1(mean);
  acc = V::set1(0.0f);
  for (i = 0; i + V::W <= n; i += V::W) {
    F d = V::sub(V::load(x + i), m);
    acc = V::fma(d, d, acc);
  }
  if (i < n) {
    F d = V::sub(V::loadn(x + i, static_cast<int>(n - i), mean), m);  // padding gives 0
    acc = V::fma(d, d, acc);
  }
  const float var = V::reduce_add(acc) / static_cast<float>(D);
  const float rstd = 1.0f / V::sqrt_scalar(var + eps);
  const F r = V::set1(rstd);
  for (i = 0; i + V::W <= n; i += V::W) {
    F xh = V::mul(V::sub(V::load(x + i), m), r);
    V::store(out + i, V::fma(xh, V::load(w + i), V::load(b + i)));
  }
  if (i < n) {
    int k = static_cast<int>(n - i);
    F xh = V::mul(V::sub(V::loadn(x + i, k, 0.0f), m), r);
    V::storen(out + i, V::fma(xh, V::loadn(w + i, k, 0.0f), V::loadn(b + i, k, 0.0f)), k);
  }
  *mean_out = mean;
  *rstd_out = rstd;
}

template <class V>
void layernorm_backward(float* din, float* dw, float* db, const float* dout, const float* x,
                        const float* w, float mean, float rstd, int D, bool accumulate) {
  using F = typename V::F;
  const size_t n = static_cast<size_t>(D);
  const F m = V::set1(mean), r = V::set1(rstd);
  auto ld = [](const float* p, size_t at, int k) {
    return k == V::W ? V::load(p + at) : V::loadn(p + at, k, 0.0f);
  };
  auto st = [](float* p, size_t at, int k, F v) {
    k == V::W ? V::store(p + at, v) : V::storen(p + at, v, k);
  };
  if (din) {
    // g = dout * w; c1 = mean(g), c2 = mean(g * xhat). Padding lanes load dout = 0 -> g = 0.
    F sg = V::set1(0.0f), sgx = V::set1(0.0f);
    for (size_t i = 0; i < n; i += V::W) {
      int k = n - i >= static_cast<size_t>(V::W) ? V::W : static_cast<int>(n - i);
      F xh = V::mul(V::sub(ld(x, i, k), m), r);
      F g = V::mul(ld(dout, i, k), ld(w, i, k));
      sg = V::add(sg, g);
      sgx = V::fma(g, xh, sgx);
    }
    const F c1 = V::set1(V::reduce_add(sg) / static_cast<float>(D));
    const F c2 = V::set1(V::reduce_add(sgx) / static_cast<float>(D));
    for (size_t i = 0; i < n; i += V::W) {
      int k = n - i >= static_cast<size_t>(V::W) ? V::W : static_cast<int>(n - i);
      F xh = V::mul(V::sub(ld(x, i, k), m), r);
      F g = V::mul(ld(dout, i, k), ld(w, i, k));
      F dx = V::mul(r, V::sub(V::sub(g, c1), V::mul(xh, c2)));
      if (accumulate) dx = V::add(ld(din, i, k), dx);
      st(din, i, k, dx);
    }
  }
  if (dw || db) {
    for (size_t i = 0; i < n; i += V::W) {
      int k = n - i >= static_cast<size_t>(V::W) ? V::W : static_cast<int>(n - i);
      F d = ld(dout, i, k);
      if (dw) st(dw, i, k, V::fma(d, V::mul(V::sub(ld(x, i, k), m), r), ld(dw, i, k)));
      if (db) st(db, i, k, V::add(ld(db, i, k), d));
    }
  }
}

// Fills a table with the generic kernels for V (dropout is per file: it is integer work).
// constexpr, so the tables are constant-initialized: no code built with wide instruction sets
// runs at program start.
template <class V>
constexpr Kernels make_kernels(const char* name,
                     void (*dropout)(float*, const float*, size_t, uint64_t, uint64_t, float,
                                     float)) {
  Kernels k{};
  k.name = name;
  k.act_forward = &act_forward<V>;
  k.act_backward = &act_backward<V>;
  k.bias_act = &bias_act<V>;
  k.exp = &exp_kernel<V>;
  k.max = &max_kernel<V>;
  k.exp_shift_sum = &exp_shift_sum<V>;
  k.scale = &scale_kernel<V>;
  k.add = &add_kernel<V>;
  k.softmax_backward = &softmax_backward<V>;
  k.layernorm_forward = &layernorm_forward<V>;
  k.layernorm_backward = &layernorm_backward<V>;
  k.dropout = dropout;
  return k;
}

}  // namespace kmath
}  // namespace
}  // namespace af::cpu
