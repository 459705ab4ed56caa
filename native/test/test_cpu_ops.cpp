// Tests of the CPU backend ops (native/cpu) against the double-precision plain forms
// (reference_ops.h), whose own backward passes are checked against finite differences first.
// Every backend check runs for each instruction set this machine supports and for 1 and 2
// threads. The kernel sweeps at the end measure the SIMD math (GELU, exp, tanh, swish) value
// by value against double precision.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../core/dropout_rng.h"
#include "../core/errors.h"
#include "../cpu/cpu_backend.h"
#include "../cpu/ops.h"
#include "check.h"
#include "reference_ops.h"

namespace {

using af::Activation;
using af::DropoutSpec;
using af::cpu::CpuBackend;
using af::cpu::Isa;
using Vf = std::vector<float>;
using Vd = std::vector<double>;

// ---------------------------------------------------------------------------------------------
// helpers

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  double uniform() {  // [0, 1)
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0);
  }
  float range(float lo, float hi) { return lo + static_cast<float>(uniform()) * (hi - lo); }
};

Vf rand_vec(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng r(seed);
  Vf v(n);
  for (auto& x : v) x = r.range(lo, hi);
  return v;
}

Vd to_d(const Vf& v) { return Vd(v.begin(), v.end()); }

const char* act_name(Activation a) {
  switch (a) {
    case Activation::None: return "none";
    case Activation::Gelu: return "gelu";
    case Activation::Relu: return "relu";
    case Activation::Swish: return "swish";
    case Activation::Tanh: return "tanh";
  }
  return "?";
}

const Activation kActs[] = {Activation::None, Activation::Gelu, Activation::Relu,
                            Activation::Swish, Activation::Tanh};

// max |a - b| / (|b| + rms(b)), the metric of check.h, on double references.
double rel_err(const double* a, const double* b, size_t n) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += b[i] * b[i];
  double scale = n ? std::sqrt(ss / n) : 0.0;
  if (scale == 0) scale = 1e-30;
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    double e = std::fabs(a[i] - b[i]) / (std::fabs(b[i]) + scale);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

void expect_close_d(const Vd& got, const Vd& want, double tol, const std::string& what) {
  CHECK_MSG(got.size() == want.size(), what << ": size " << got.size() << " vs " << want.size());
  double e = rel_err(got.data(), want.data(), got.size());
  CHECK_MSG(e <= tol, what << ": max rel error " << e << " > " << tol);
}

void expect_close(const Vf& got, const Vd& want, double tol, const std::string& what) {
  expect_close_d(to_d(got), want, tol, what);
}

void expect_bits(const Vf& a, const Vf& b, const std::string& what) {
  CHECK_MSG(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0,
            what << ": results differ bit-wise");
}

// Central finite differences of the scalar f at each element of x (x restored afterwards).
Vd numeric_grad(Vd& x, const std::function<double()>& f) {
  Vd g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i], h = 1e-6 * std::max(1.0, std::fabs(xi));
    x[i] = xi + h;
    const double fp = f();
    x[i] = xi - h;
    const double fm = f();
    x[i] = xi;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

double dot(const Vd& a, const Vd& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

constexpr double kFdTol = 1e-6;   // reference backward vs finite differences
constexpr double kCpuTol = 1e-5;  // CPU backend (float) vs double reference

struct Config {
  Isa isa;
  int threads;
  af::cpu::GemmProvider provider = af::cpu::GemmProvider::Builtin;
  std::string name() const {
    return std::string(af::cpu::isa_name(isa)) + "/" + std::to_string(threads) + "t/" +
           af::cpu::provider_name(provider);
  }
};

// Every ISA the CPU supports, each with 1 and 2 threads (built-in GEMM).
std::vector<Config> configs() {
  std::vector<Config> out;
  const Isa best = af::cpu::detect_isa();
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (static_cast<int>(isa) <= static_cast<int>(best))
      for (int t : {1, 2}) out.push_back({isa, t});
  return out;
}

// The same, plus OpenBLAS GEMMs when compiled in (for the ops that run GEMMs).
std::vector<Config> gemm_configs() {
  std::vector<Config> out = configs();
  if (af::cpu::openblas_compiled())
    for (Config c : configs()) {
      c.provider = af::cpu::GemmProvider::OpenBlas;
      out.push_back(c);
    }
  return out;
}

std::unique_ptr<CpuBackend> make_backend(const Config& c) {
  auto be = std::make_unique<CpuBackend>(c.threads);
  be->set_isa(c.isa);
  be->set_gemm_provider(c.provider);
  return be;
}

// A padding mask [B,L]: batch 0 attends everywhere, batch 1 has its last keys padded,
// batch 2 (when B > 2) is entirely padding (a fully masked row).
Vf make_mask(int B, int L) {
  Vf m(static_cast<size_t>(B) * L, 1.0f);
  if (B > 1)
    for (int j = L - std::max(1, L / 3); j < L; ++j) m[L + j] = 0.0f;
  if (B > 2)
    for (int j = 0; j < L; ++j) m[2 * L + j] = 0.0f;
  return m;
}

// ---------------------------------------------------------------------------------------------
// (1) the plain forms' backward passes against finite differences of their forwards

AF_TEST("cpu_ops/ref: linear + activation backward match finite differences") {
  const int T = 7, I = 13, O = 11;
  for (Activation act : kActs) {
    Vd in = to_d(rand_vec(T * I, 1)), W = to_d(rand_vec(O * I, 2, -0.5f, 0.5f)),
       b = to_d(rand_vec(O, 3)), g = to_d(rand_vec(T * O, 4));
    Vd out(T * O), pre(T * O);
    auto loss = [&] {
      af::ref::linear_forward(out.data(), pre.data(), in.data(), W.data(), b.data(), T, I, O, act);
      return dot(out, g);
    };
    loss();
    Vd dpre(T * O), din(T * I), dW(O * I, 0.0), db(O, 0.0);
    if (act == Activation::None) dpre = g;
    else af::ref::activation_backward(dpre.data(), g.data(), pre.data(), dpre.size(), act);
    af::ref::linear_backward(din.data(), dW.data(), db.data(), dpre.data(), in.data(), W.data(), T,
                             I, O, false);
    const std::string a = act_name(act);
    expect_close_d(din, numeric_grad(in, loss), kFdTol, "din " + a);
    expect_close_d(dW, numeric_grad(W, loss), kFdTol, "dW " + a);
    expect_close_d(db, numeric_grad(b, loss), kFdTol, "db " + a);
  }
}

AF_TEST("cpu_ops/ref: embeddings backward matches finite differences") {
  const int B = 2, L = 5, D = 13, V = 7, P = 6, Y = 2;
  std::vector<int32_t> ids = {3, 1, 3, 6, 0, 2, 2, 5, 1, 3}, types = {0, 0, 1, 1, 1, 0, 1, 0, 0, 1};
  Vd wte = to_d(rand_vec(V * D, 5)), wpe = to_d(rand_vec(P * D, 6)), wtt = to_d(rand_vec(Y * D, 7)),
     g = to_d(rand_vec(B * L * D, 8)), out(B * L * D);
  auto loss = [&] {
    af::ref::embeddings_forward(out.data(), ids.data(), types.data(), wte.data(), wpe.data(),
                                wtt.data(), B, L, D);
    return dot(out, g);
  };
  Vd dwte(V * D, 0.0), dwpe(P * D, 0.0), dwtt(Y * D, 0.0);
  af::ref::embeddings_backward(dwte.data(), dwpe.data(), dwtt.data(), g.data(), ids.data(),
                               types.data(), B, L, D);
  expect_close_d(dwte, numeric_grad(wte, loss), kFdTol, "dwte");
  expect_close_d(dwpe, numeric_grad(wpe, loss), kFdTol, "dwpe");
  expect_close_d(dwtt, numeric_grad(wtt, loss), kFdTol, "dwtt");
}

AF_TEST("cpu_ops/ref: layernorm backward matches finite differences") {
  const int T = 7, D = 13;
  Vd in = to_d(rand_vec(T * D, 9, -2.0f, 3.0f)), w = to_d(rand_vec(D, 10, 0.5f, 1.5f)),
     b = to_d(rand_vec(D, 11)), g = to_d(rand_vec(T * D, 12)), out(T * D), mean(T), rstd(T);
  auto loss = [&] {
    af::ref::layernorm_forward(out.data(), mean.data(), rstd.data(), in.data(), w.data(),
                               b.data(), T, D, 1e-5);
    return dot(out, g);
  };
  loss();
  Vd din(T * D), dw(D, 0.0), db(D, 0.0);
  af::ref::layernorm_backward(din.data(), dw.data(), db.data(), g.data(), in.data(), w.data(),
                              mean.data(), rstd.data(), T, D, false);
  expect_close_d(din, numeric_grad(in, loss), kFdTol, "din");
  expect_close_d(dw, numeric_grad(w, loss), kFdTol, "dw");
  expect_close_d(db, numeric_grad(b, loss), kFdTol, "db");
}

// Where every key of a batch is padding, HF's forward is uniform whatever q and k are (the
// scores all round to the lowest float), so finite differences see no dependence on q, k;
// autograd (and so this library) still returns the softmax Jacobian at the uniform P. Those
// q, k entries are compared with that formula separately (dv is unaffected).
AF_TEST("cpu_ops/ref: attention backward matches finite differences (with padding, dropout)") {
  const int B = 3, L = 5, H = 3, Dh = 4, D = H * Dh;
  Vf maskf = make_mask(B, L);
  Vd mask = to_d(maskf);
  for (float p : {0.0f, 0.3f}) {
    DropoutSpec drop{p, 1234, 77};
    Vd qkv = to_d(rand_vec(B * L * 3 * D, 13)), g = to_d(rand_vec(B * L * D, 14));
    Vd ctx(B * L * D), probs(static_cast<size_t>(B) * H * L * L);
    auto loss = [&] {
      af::ref::attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), B, L, H, Dh,
                                 drop);
      return dot(ctx, g);
    };
    loss();
    Vd dqkv(qkv.size());
    af::ref::attention_backward(dqkv.data(), g.data(), qkv.data(), probs.data(), mask.data(), B,
                                L, H, Dh, drop);
    Vd num = numeric_grad(qkv, loss);
    // batches 0 and 1 fully; batch 2 only its v columns
    Vd a, n;
    for (int t = 0; t < B * L; ++t)
      for (int c = 0; c < 3 * D; ++c)
        if (t < 2 * L || c >= 2 * D) {
          a.push_back(dqkv[t * 3 * D + c]);
          n.push_back(num[t * 3 * D + c]);
        }
    expect_close_d(a, n, kFdTol, "dqkv p=" + std::to_string(p));
    // the fully masked batch: uniform probabilities, nonzero q/k gradients as autograd gives
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < L; ++i)
        CHECK(std::fabs(probs[((2 * H + h) * L + i) * L] - 1.0 / L) < 1e-15);
  }
}

AF_TEST("cpu_ops/ref: cross-entropy and dropout backward match finite differences") {
  const int N = 7, C = 13;
  std::vector<int32_t> labels = {0, 12, 5, 5, 3, 7, 11};
  Vd logits = to_d(rand_vec(N * C, 15, -4.0f, 4.0f)), losses(N), probs(N * C);
  const double scale = 0.37;
  auto loss = [&] {
    af::ref::cross_entropy_forward(losses.data(), probs.data(), logits.data(), labels.data(), N, C);
    double s = 0;
    for (double l : losses) s += l;
    return scale * s;
  };
  loss();
  Vd dlogits(N * C);
  af::ref::cross_entropy_backward(dlogits.data(), probs.data(), labels.data(), N, C, scale);
  expect_close_d(dlogits, numeric_grad(logits, loss), kFdTol, "dlogits");

  const DropoutSpec drop{0.4f, 99, 5};
  Vd x = to_d(rand_vec(101, 16)), y(101), g = to_d(rand_vec(101, 17)), dx(101);
  auto dloss = [&] {
    af::ref::dropout_forward(y.data(), x.data(), x.size(), drop);
    return dot(y, g);
  };
  af::ref::dropout_backward(dx.data(), g.data(), g.size(), drop);
  expect_close_d(dx, numeric_grad(x, dloss), kFdTol, "dropout");
}

// ---------------------------------------------------------------------------------------------
// (2) the CPU backend against the plain forms, for every ISA and 1 and 2 threads

struct LinearShape {
  int T, I, O;
};

void check_linear(const Config& cfg, LinearShape s, Activation act, bool bias, uint64_t seed) {
  const int T = s.T, I = s.I, O = s.O;
  auto be = make_backend(cfg);
  Vf in = rand_vec(T * I, seed), W = rand_vec(O * I, seed + 1, -0.3f, 0.3f),
     b = rand_vec(O, seed + 2), g = rand_vec(T * O, seed + 3);
  Vf out(T * O), pre(T * O, -7.0f);
  be->linear_forward(out.data(), pre.data(), in.data(), W.data(), bias ? b.data() : nullptr, T,
                     I, O, act);
  Vd rout(T * O), rpre(T * O);
  Vd din_d = to_d(in), W_d = to_d(W), b_d = to_d(b);
  af::ref::linear_forward(rout.data(), rpre.data(), din_d.data(), W_d.data(),
                          bias ? b_d.data() : nullptr, T, I, O, act);
  const std::string what = cfg.name() + " " + act_name(act) + " T=" + std::to_string(T) +
                           (bias ? " bias" : " nobias");
  expect_close(out, rout, kCpuTol, "linear out " + what);
  if (act != Activation::None) expect_close(pre, rpre, kCpuTol, "linear preact " + what);

  // backward through the activation, then the linear layer
  Vf dpre(T * O), din(T * I), dW(O * I, 0.0f), db(O, 0.0f);
  be->activation_backward(dpre.data(), g.data(), pre.data(), dpre.size(), act);
  be->linear_backward(din.data(), dW.data(), bias ? db.data() : nullptr, dpre.data(), in.data(),
                      W.data(), T, I, O, false);
  Vd rdpre(T * O), rdin(T * I), rdW(O * I, 0.0), rdb(O, 0.0), g_d = to_d(g);
  af::ref::activation_backward(rdpre.data(), g_d.data(), rpre.data(), rdpre.size(), act);
  af::ref::linear_backward(rdin.data(), rdW.data(), rdb.data(), rdpre.data(), din_d.data(),
                           W_d.data(), T, I, O, false);
  expect_close(dpre, rdpre, kCpuTol, "activation backward " + what);
  expect_close(din, rdin, kCpuTol, "linear din " + what);
  expect_close(dW, rdW, kCpuTol, "linear dW " + what);
  if (bias) expect_close(db, rdb, kCpuTol, "linear db " + what);
}

AF_TEST("cpu_ops/cpu: linear forward/backward with each activation match the reference") {
  for (const Config& cfg : gemm_configs())
    for (Activation act : kActs)
      for (LinearShape s : {LinearShape{7, 13, 11}, LinearShape{67, 70, 45}})
        for (bool bias : {true, false}) check_linear(cfg, s, act, bias, 100);
}

AF_TEST("cpu_ops/cpu: activations forward/backward match the reference") {
  const size_t n = 1237;
  Vf x = rand_vec(n, 20, -9.0f, 9.0f), g = rand_vec(n, 21);
  for (const Config& cfg : configs()) {
    auto be = make_backend(cfg);
    for (Activation act : kActs) {
      Vf y(n), dx(n);
      be->activation_forward(y.data(), x.data(), n, act);
      be->activation_backward(dx.data(), g.data(), x.data(), n, act);
      Vd ry(n), rdx(n), xd = to_d(x), gd = to_d(g);
      af::ref::activation_forward(ry.data(), xd.data(), n, act);
      af::ref::activation_backward(rdx.data(), gd.data(), xd.data(), n, act);
      const std::string what = cfg.name() + " " + act_name(act);
      expect_close(y, ry, 1e-6, "forward " + what);
      expect_close(dx, rdx, 1e-6, "backward " + what);
      // in place: out == in, din == dout
      Vf inplace = x, dinplace = g;
      be->activation_forward(inplace.data(), inplace.data(), n, act);
      be->activation_backward(dinplace.data(), dinplace.data(), x.data(), n, act);
      expect_bits(inplace, y, "in-place forward " + what);
      expect_bits(dinplace, dx, "in-place backward " + what);
    }
  }
}

AF_TEST("cpu_ops/cpu: embeddings forward/backward match the reference") {
  struct S { int B, L, D, V, P, Y; };
  for (const Config& cfg : configs())
    for (S s : {S{2, 5, 13, 7, 6, 2}, S{3, 17, 70, 11, 20, 3}}) {
      auto be = make_backend(cfg);
      const int T = s.B * s.L;
      std::vector<int32_t> ids(T), types(T);
      Rng r(30);
      for (int t = 0; t < T; ++t) {
        ids[t] = static_cast<int32_t>(r.uniform() * s.V);  // repeats on purpose
        types[t] = static_cast<int32_t>(r.uniform() * s.Y);
      }
      Vf wte = rand_vec(s.V * s.D, 31), wpe = rand_vec(s.P * s.D, 32), wtt = rand_vec(s.Y * s.D, 33),
         g = rand_vec(T * s.D, 34), out(T * s.D);
      for (bool with_types : {true, false}) {
        const int32_t* ty = with_types ? types.data() : nullptr;
        be->embeddings_forward(out.data(), ids.data(), ty, wte.data(), wpe.data(), wtt.data(),
                               s.B, s.L, s.D);
        Vd rout(T * s.D), wte_d = to_d(wte), wpe_d = to_d(wpe), wtt_d = to_d(wtt);
        af::ref::embeddings_forward(rout.data(), ids.data(), ty, wte_d.data(), wpe_d.data(),
                                    wtt_d.data(), s.B, s.L, s.D);
        const std::string what = cfg.name() + " D=" + std::to_string(s.D);
        expect_close(out, rout, kCpuTol, "embeddings forward " + what);
        Vf dwte(wte.size(), 0.5f), dwpe(wpe.size(), 0.5f), dwtt(wtt.size(), 0.5f);
        be->embeddings_backward(dwte.data(), dwpe.data(), dwtt.data(), g.data(), ids.data(), ty,
                                s.B, s.L, s.D);
        Vd rdwte(wte.size(), 0.5), rdwpe(wpe.size(), 0.5), rdwtt(wtt.size(), 0.5), gd = to_d(g);
        af::ref::embeddings_backward(rdwte.data(), rdwpe.data(), rdwtt.data(), gd.data(), ids.data(),
                                     ty, s.B, s.L, s.D);
        expect_close(dwte, rdwte, kCpuTol, "dwte (accumulated) " + what);
        expect_close(dwpe, rdwpe, kCpuTol, "dwpe (accumulated) " + what);
        expect_close(dwtt, rdwtt, kCpuTol, "dwtt (accumulated) " + what);
      }
    }
}

AF_TEST("cpu_ops/cpu: layernorm forward/backward match the reference") {
  struct S { int T, D; };
  for (const Config& cfg : configs())
    for (S s : {S{7, 13}, S{37, 770}, S{70, 64}}) {
      auto be = make_backend(cfg);
      const int T = s.T, D = s.D;
      // an offset mean and unequal scales, as residual streams have
      Vf in = rand_vec(T * D, 40, -3.0f, 5.0f), w = rand_vec(D, 41, 0.5f, 1.5f),
         b = rand_vec(D, 42), g = rand_vec(T * D, 43);
      Vf out(T * D), mean(T), rstd(T);
      be->layernorm_forward(out.data(), mean.data(), rstd.data(), in.data(), w.data(), b.data(), T,
                            D, 1e-12f);
      Vd rout(T * D), rmean(T), rrstd(T), in_d = to_d(in), w_d = to_d(w), b_d = to_d(b);
      af::ref::layernorm_forward(rout.data(), rmean.data(), rrstd.data(), in_d.data(), w_d.data(),
                                 b_d.data(), T, D, 1e-12f);
      const std::string what = cfg.name() + " D=" + std::to_string(D);
      expect_close(out, rout, 1e-6, "layernorm out " + what);
      expect_close(mean, rmean, 1e-6, "layernorm mean " + what);
      expect_close(rstd, rrstd, 1e-6, "layernorm rstd " + what);
      Vf din(T * D), dw(D, 0.0f), db(D, 0.0f);
      be->layernorm_backward(din.data(), dw.data(), db.data(), g.data(), in.data(), w.data(),
                             mean.data(), rstd.data(), T, D, false);
      Vd rdin(T * D), rdw(D, 0.0), rdb(D, 0.0), gd = to_d(g);
      af::ref::layernorm_backward(rdin.data(), rdw.data(), rdb.data(), gd.data(), in_d.data(),
                                  w_d.data(), rmean.data(), rrstd.data(), T, D, false);
      expect_close(din, rdin, kCpuTol, "layernorm din " + what);
      expect_close(dw, rdw, kCpuTol, "layernorm dw " + what);
      expect_close(db, rdb, kCpuTol, "layernorm db " + what);
    }
}

struct AttnShape {
  int B, L, H, Dh;
};

void check_attention(const Config& cfg, AttnShape s, DropoutSpec drop) {
  const int B = s.B, L = s.L, H = s.H, Dh = s.Dh, D = H * Dh, T = B * L;
  auto be = make_backend(cfg);
  Vf qkv = rand_vec(T * 3 * D, 50, -1.5f, 1.5f), g = rand_vec(T * D, 51), mask = make_mask(B, L);
  const size_t np = static_cast<size_t>(B) * H * L * L;
  Vf ctx(T * D), probs(np), dqkv(qkv.size(), 123.0f);
  Vf scratch(CpuBackend::attention_backward_scratch(B, L, H));
  be->attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), B, L, H, Dh, drop);
  be->attention_backward(dqkv.data(), g.data(), qkv.data(), probs.data(), mask.data(), B, L, H, Dh,
                         drop, scratch.data());
  Vd rctx(T * D), rprobs(np), rdqkv(qkv.size()), qkv_d = to_d(qkv), g_d = to_d(g),
     mask_d = to_d(mask);
  af::ref::attention_forward(rctx.data(), rprobs.data(), qkv_d.data(), mask_d.data(), B, L, H, Dh,
                             drop);
  af::ref::attention_backward(rdqkv.data(), g_d.data(), qkv_d.data(), rprobs.data(), mask_d.data(),
                              B, L, H, Dh, drop);
  const std::string what = cfg.name() + " L=" + std::to_string(L) + " p=" + std::to_string(drop.p);
  expect_close(probs, rprobs, kCpuTol, "attention probs " + what);
  expect_close(ctx, rctx, kCpuTol, "attention ctx " + what);
  expect_close(dqkv, rdqkv, kCpuTol, "attention dqkv " + what);
  // padding keys get exactly 0, fully padded rows exactly 1/L
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < L; ++i)
        for (int j = 0; j < L; ++j) {
          const float p = probs[((static_cast<size_t>(b) * H + h) * L + i) * L + j];
          if (b == 2) CHECK_MSG(p == 1.0f / L, what << " fully masked row not uniform: " << p);
          else if (mask[b * L + j] == 0.0f) CHECK_MSG(p == 0.0f, what << " padding key p=" << p);
        }
}

AF_TEST("cpu_ops/cpu: attention forward/backward match the reference (padding, dropout)") {
  for (const Config& cfg : gemm_configs())
    for (AttnShape s : {AttnShape{3, 5, 3, 4}, AttnShape{3, 33, 2, 16}, AttnShape{1, 20, 4, 8}})
      for (float p : {0.0f, 0.1f, 0.5f}) check_attention(cfg, s, DropoutSpec{p, 4242, 1000});
}

AF_TEST("cpu_ops/cpu: dropout, add and cross-entropy match the reference") {
  for (const Config& cfg : configs()) {
    auto be = make_backend(cfg);
    const std::string what = cfg.name();
    const size_t n = 1001;
    Vf x = rand_vec(n, 60), y(n), g = rand_vec(n, 61), dx(n);
    for (float p : {0.1f, 0.5f, 0.9f}) {
      const DropoutSpec d{p, 7, 123456789};
      be->dropout_forward(y.data(), x.data(), n, d);
      be->dropout_backward(dx.data(), g.data(), n, d);
      Vd ry(n), rdx(n), xd = to_d(x), gd = to_d(g);
      af::ref::dropout_forward(ry.data(), xd.data(), n, d);
      af::ref::dropout_backward(rdx.data(), gd.data(), n, d);
      expect_close(y, ry, 1e-7, "dropout forward " + what);
      expect_close(dx, rdx, 1e-7, "dropout backward " + what);
      for (size_t i = 0; i < n; ++i) CHECK((y[i] == 0.0f) == (ry[i] == 0.0));  // same mask
    }
    Vf a = rand_vec(n, 62), b = rand_vec(n, 63), s(n), acc = a;
    be->add(s.data(), a.data(), b.data(), n);
    be->add(acc.data(), b.data(), nullptr, n);  // acc += b
    for (size_t i = 0; i < n; ++i) CHECK(s[i] == a[i] + b[i] && acc[i] == a[i] + b[i]);

    struct S { int N, C; };
    for (S sh : {S{7, 13}, S{5, 3001}, S{33, 2}}) {
      const int N = sh.N, C = sh.C;
      Vf logits = rand_vec(N * C, 64, -6.0f, 6.0f), losses(N), probs(N * C), dl(N * C);
      std::vector<int32_t> labels(N);
      for (int r = 0; r < N; ++r) labels[r] = (r * 7 + 3) % C;
      be->cross_entropy_forward(losses.data(), probs.data(), logits.data(), labels.data(), N, C);
      be->cross_entropy_backward(dl.data(), probs.data(), labels.data(), N, C, 0.25f);
      Vd rl(N), rp(N * C), rdl(N * C), ld = to_d(logits);
      af::ref::cross_entropy_forward(rl.data(), rp.data(), ld.data(), labels.data(), N, C);
      af::ref::cross_entropy_backward(rdl.data(), rp.data(), labels.data(), N, C, 0.25);
      const std::string w = what + " C=" + std::to_string(C);
      expect_close(losses, rl, kCpuTol, "cross-entropy loss " + w);
      expect_close(probs, rp, kCpuTol, "cross-entropy probs " + w);
      expect_close(dl, rdl, kCpuTol, "cross-entropy dlogits " + w);
    }
  }
}

AF_TEST("cpu_ops/cpu: gemm and gemm_batched match sgemm_reference") {
  const int M = 19, N = 23, K = 17;
  for (int batch : {1, 3})
  for (const Config& cfg : gemm_configs()) {
    auto be = make_backend(cfg);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int lda = (ta ? M : K) + 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
        const long long sa = static_cast<long long>(ta ? K : M) * lda + 5,
                        sb = static_cast<long long>(tb ? N : K) * ldb + 7,
                        sc = static_cast<long long>(M) * ldc + 1;
        Vf A = rand_vec(sa * batch, 140), B = rand_vec(sb * batch, 141), C0 = rand_vec(sc * batch, 142);
        Vf C = C0, R = C0;
        be->gemm_batched(ta, tb, M, N, K, 0.75f, A.data(), lda, sa, B.data(), ldb, sb, 0.5f, C.data(),
                         ldc, sc, batch);
        for (int i = 0; i < batch; ++i)
          af::cpu::sgemm_reference(ta, tb, M, N, K, 0.75f, A.data() + i * sa, lda, B.data() + i * sb,
                                   ldb, 0.5f, R.data() + i * sc, ldc);
        const std::string what = cfg.name() + (ta ? " A^T" : " A") + (tb ? " B^T" : " B");
        expect_close(C, to_d(R), kCpuTol, "gemm_batched " + what);
        Vf C1 = C0;
        be->gemm(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, C1.data(), ldc);
        expect_close(Vf(C1.begin(), C1.begin() + sc), to_d(Vf(R.begin(), R.begin() + sc)), kCpuTol,
                     "gemm " + what);
      }
  }
}

// ---------------------------------------------------------------------------------------------
// (3) dropout: p = 0 is no dropout; masks are the same on every ISA and thread count

AF_TEST("cpu_ops/dropout: p=0 equals no dropout, masks identical across ISAs and threads") {
  const AttnShape s{2, 19, 3, 8};
  const int B = s.B, L = s.L, H = s.H, Dh = s.Dh, D = H * Dh, T = B * L;
  Vf qkv = rand_vec(T * 3 * D, 70), mask = make_mask(B, L), ones(4099, 1.0f);
  Vf first_mask, first_ctx_masks;
  for (const Config& cfg : configs()) {
    auto be = make_backend(cfg);
    Vf c0(T * D), c1(T * D), p0(static_cast<size_t>(B) * H * L * L), p1(p0.size());
    be->attention_forward(c0.data(), p0.data(), qkv.data(), mask.data(), B, L, H, Dh, DropoutSpec{});
    be->attention_forward(c1.data(), p1.data(), qkv.data(), mask.data(), B, L, H, Dh,
                          DropoutSpec{0.0f, 999, 5});
    expect_bits(c0, c1, cfg.name() + " attention p=0");
    Vf y(ones.size(), -1.0f);
    be->dropout_forward(y.data(), ones.data(), ones.size(), DropoutSpec{0.0f, 3, 4});
    expect_bits(y, ones, cfg.name() + " dropout p=0");
    // the mask itself: dropout of ones, and attention probabilities dropped in ctx (via v = 1)
    be->dropout_forward(y.data(), ones.data(), ones.size(), DropoutSpec{0.3f, 11, 17});
    Vf qkv1 = qkv;
    for (int t = 0; t < T; ++t)
      for (int c = 2 * D; c < 3 * D; ++c) qkv1[t * 3 * D + c] = 1.0f;
    be->attention_forward(c1.data(), p1.data(), qkv1.data(), mask.data(), B, L, H, Dh,
                          DropoutSpec{0.3f, 11, 17});
    Vf kept(c1.size());  // ctx = sum of kept probabilities / 0.7: compare which sums are > 0
    for (size_t i = 0; i < c1.size(); ++i) kept[i] = c1[i] > 0.0f ? 1.0f : 0.0f;
    if (first_mask.empty()) {
      first_mask = y;
      first_ctx_masks = kept;
      size_t dropped = 0;
      for (float v : y) dropped += v == 0.0f;
      CHECK_MSG(dropped > 1000 && dropped < 1460, "dropout rate off: " << dropped << " of 4099");
    } else {
      expect_bits(y, first_mask, cfg.name() + " dropout mask");
      expect_bits(kept, first_ctx_masks, cfg.name() + " attention dropout mask");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (4) bit-identical repeats for a fixed thread count

// Runs every op once on fixed medium-size inputs (dropout on) and returns all outputs.
std::vector<Vf> run_all_ops(CpuBackend& be) {
  std::vector<Vf> outs;
  const int T = 45, I = 70, O = 99;
  Vf in = rand_vec(T * I, 80), W = rand_vec(O * I, 81, -0.2f, 0.2f), b = rand_vec(O, 82),
     g = rand_vec(T * O, 83);
  Vf out(T * O), pre(T * O), din(T * I), dW(O * I, 0.0f), db(O, 0.0f);
  be.linear_forward(out.data(), pre.data(), in.data(), W.data(), b.data(), T, I, O, Activation::Gelu);
  be.activation_backward(g.data(), g.data(), pre.data(), g.size(), Activation::Gelu);
  be.linear_backward(din.data(), dW.data(), db.data(), g.data(), in.data(), W.data(), T, I, O, false);
  outs.insert(outs.end(), {out, pre, din, dW, db, g});

  const int D = 130;
  Vf x = rand_vec(T * D, 84, -2.0f, 2.0f), w = rand_vec(D, 85), bb = rand_vec(D, 86),
     gy = rand_vec(T * D, 87), y(T * D), mean(T), rstd(T), dx(T * D), dw(D, 0.0f), dbb(D, 0.0f);
  be.layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), bb.data(), T, D, 1e-5f);
  be.layernorm_backward(dx.data(), dw.data(), dbb.data(), gy.data(), x.data(), w.data(), mean.data(),
                        rstd.data(), T, D, false);
  outs.insert(outs.end(), {y, mean, rstd, dx, dw, dbb});

  const int B = 3, L = 15, H = 2, Dh = 16, DD = H * Dh;
  const DropoutSpec drop{0.1f, 5, 6};
  Vf qkv = rand_vec(B * L * 3 * DD, 88), mask = make_mask(B, L), gc = rand_vec(B * L * DD, 89);
  Vf ctx(B * L * DD), probs(static_cast<size_t>(B) * H * L * L), dqkv(qkv.size()),
     scratch(CpuBackend::attention_backward_scratch(B, L, H));
  be.attention_forward(ctx.data(), probs.data(), qkv.data(), mask.data(), B, L, H, Dh, drop);
  be.attention_backward(dqkv.data(), gc.data(), qkv.data(), probs.data(), mask.data(), B, L, H, Dh,
                        drop, scratch.data());
  outs.insert(outs.end(), {ctx, probs, dqkv});

  std::vector<int32_t> ids(B * L), labels(B * L);
  for (int t = 0; t < B * L; ++t) ids[t] = (t * 5) % 9, labels[t] = t % 7;
  Vf wte = rand_vec(9 * DD, 90), wpe = rand_vec(L * DD, 91), wtt = rand_vec(2 * DD, 92),
     emb(B * L * DD), dwte(wte.size(), 0.0f), dwpe(wpe.size(), 0.0f), dwtt(wtt.size(), 0.0f);
  be.embeddings_forward(emb.data(), ids.data(), nullptr, wte.data(), wpe.data(), wtt.data(), B, L, DD);
  be.embeddings_backward(dwte.data(), dwpe.data(), dwtt.data(), ctx.data(), ids.data(), nullptr, B,
                         L, DD);
  outs.insert(outs.end(), {emb, dwte, dwpe, dwtt});

  Vf drop_out(x.size()), losses(B * L), cprobs(B * L * 7), dl(B * L * 7);
  be.dropout_forward(drop_out.data(), x.data(), x.size(), drop);
  be.cross_entropy_forward(losses.data(), cprobs.data(), out.data(), labels.data(), B * L, 7);
  be.cross_entropy_backward(dl.data(), cprobs.data(), labels.data(), B * L, 7, 0.5f);
  outs.insert(outs.end(), {drop_out, losses, cprobs, dl});
  return outs;
}

AF_TEST("cpu_ops/determinism: every op repeats bit for bit for a fixed thread count") {
  for (const Config& cfg : gemm_configs()) {
    auto a = make_backend(cfg), b = make_backend(cfg);
    std::vector<Vf> r1 = run_all_ops(*a), r2 = run_all_ops(*a), r3 = run_all_ops(*b);
    for (size_t i = 0; i < r1.size(); ++i) {
      expect_bits(r1[i], r2[i], cfg.name() + " repeat, output " + std::to_string(i));
      expect_bits(r1[i], r3[i], cfg.name() + " new backend, output " + std::to_string(i));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (5) accumulate flags, null (frozen) gradients, in-place use, memory

AF_TEST("cpu_ops/conventions: accumulate flags and null gradient pointers") {
  for (const Config& cfg : configs()) {
    auto be = make_backend(cfg);
    const std::string what = cfg.name();
    // linear: din assigned or accumulated; dW, db always accumulate; nulls skip
    const int T = 9, I = 21, O = 17;
    Vf in = rand_vec(T * I, 100), W = rand_vec(O * I, 101), g = rand_vec(T * O, 102);
    Vf din(T * I), dW(O * I, 0.0f), db(O, 0.0f);
    be->linear_backward(din.data(), dW.data(), db.data(), g.data(), in.data(), W.data(), T, I, O, false);
    Vf din2(T * I, 2.0f), dW2(O * I, 3.0f), db2(O, 4.0f);
    be->linear_backward(din2.data(), dW2.data(), db2.data(), g.data(), in.data(), W.data(), T, I, O,
                        true);
    for (size_t i = 0; i < din.size(); ++i) CHECK(std::fabs(din2[i] - (din[i] + 2.0f)) < 1e-5f);
    for (size_t i = 0; i < dW.size(); ++i) CHECK(std::fabs(dW2[i] - (dW[i] + 3.0f)) < 1e-5f);
    for (size_t i = 0; i < db.size(); ++i) CHECK(std::fabs(db2[i] - (db[i] + 4.0f)) < 1e-5f);
    Vf din3(T * I, 5.0f);
    be->linear_backward(din3.data(), nullptr, nullptr, g.data(), in.data(), W.data(), T, I, O, false);
    expect_bits(din3, din, what + " linear din alone");
    Vf dW4(O * I, 0.0f);
    be->linear_backward(nullptr, dW4.data(), nullptr, g.data(), in.data(), W.data(), T, I, O, false);
    expect_bits(dW4, dW, what + " linear dW alone");
    be->linear_backward(nullptr, nullptr, nullptr, g.data(), in.data(), W.data(), T, I, O, true);

    // linear forward: preact only written with an activation, and may be null
    Vf out(T * O), pre(T * O, 9.0f), out2(T * O);
    be->linear_forward(out.data(), pre.data(), in.data(), W.data(), nullptr, T, I, O, Activation::None);
    for (float v : pre) CHECK(v == 9.0f);
    be->linear_forward(out.data(), pre.data(), in.data(), W.data(), nullptr, T, I, O, Activation::Tanh);
    be->linear_forward(out2.data(), nullptr, in.data(), W.data(), nullptr, T, I, O, Activation::Tanh);
    expect_bits(out, out2, what + " linear preact null");

    // layer norm: din assigned or accumulated; dw, db accumulate; nulls skip
    const int D = 37;
    Vf x = rand_vec(T * D, 103), w = rand_vec(D, 104), b = rand_vec(D, 105), gy = rand_vec(T * D, 106);
    Vf y(T * D), y2(T * D), mean(T), rstd(T);
    be->layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), T, D, 1e-5f);
    be->layernorm_forward(y2.data(), nullptr, nullptr, x.data(), w.data(), b.data(), T, D, 1e-5f);
    expect_bits(y, y2, what + " layernorm without mean/rstd");
    Vf dx(T * D), dw(D, 0.0f), dbb(D, 0.0f);
    be->layernorm_backward(dx.data(), dw.data(), dbb.data(), gy.data(), x.data(), w.data(), mean.data(),
                           rstd.data(), T, D, false);
    Vf dx2(T * D, 1.0f), dw2(D, -1.0f), dbb2(D, 0.5f);
    be->layernorm_backward(dx2.data(), dw2.data(), dbb2.data(), gy.data(), x.data(), w.data(),
                           mean.data(), rstd.data(), T, D, true);
    for (size_t i = 0; i < dx.size(); ++i) CHECK(std::fabs(dx2[i] - (dx[i] + 1.0f)) < 1e-5f);
    for (int i = 0; i < D; ++i) CHECK(std::fabs(dw2[i] - (dw[i] - 1.0f)) < 1e-5f);
    for (int i = 0; i < D; ++i) CHECK(std::fabs(dbb2[i] - (dbb[i] + 0.5f)) < 1e-5f);
    Vf dx3(T * D, 7.0f), dw3(D, 0.0f);
    be->layernorm_backward(dx3.data(), nullptr, nullptr, gy.data(), x.data(), w.data(), mean.data(),
                           rstd.data(), T, D, false);
    expect_bits(dx3, dx, what + " layernorm din alone");
    be->layernorm_backward(nullptr, dw3.data(), nullptr, gy.data(), x.data(), w.data(), mean.data(),
                           rstd.data(), T, D, false);
    expect_bits(dw3, dw, what + " layernorm dw alone");

    // embeddings: null gradients skip, the others still accumulate
    std::vector<int32_t> ids = {1, 1, 0, 2, 1, 0};
    Vf ge = rand_vec(6 * 8, 107), dwte(3 * 8, 1.0f), dwpe(3 * 8, 1.0f);
    be->embeddings_backward(dwte.data(), nullptr, nullptr, ge.data(), ids.data(), nullptr, 2, 3, 8);
    for (int d = 0; d < 8; ++d)
      CHECK(std::fabs(dwte[8 + d] - (1.0f + ge[d] + ge[8 + d] + ge[32 + d])) < 1e-6f);
    be->embeddings_backward(nullptr, dwpe.data(), nullptr, ge.data(), ids.data(), nullptr, 2, 3, 8);
    for (int d = 0; d < 8; ++d) CHECK(std::fabs(dwpe[d] - (1.0f + ge[d] + ge[24 + d])) < 1e-6f);

    // attention backward assigns dqkv whatever it held
    const int B = 2, L = 6, H = 2, Dh = 4, DD = 8;
    Vf qkv = rand_vec(B * L * 3 * DD, 108), gc = rand_vec(B * L * DD, 109), ctx(B * L * DD),
       probs(B * H * L * L), s(B * H * L * L), d1(qkv.size(), 0.0f), d2(qkv.size(), 55.0f);
    be->attention_forward(ctx.data(), probs.data(), qkv.data(), nullptr, B, L, H, Dh, DropoutSpec{});
    be->attention_backward(d1.data(), gc.data(), qkv.data(), probs.data(), nullptr, B, L, H, Dh,
                           DropoutSpec{}, s.data());
    be->attention_backward(d2.data(), gc.data(), qkv.data(), probs.data(), nullptr, B, L, H, Dh,
                           DropoutSpec{}, s.data());
    expect_bits(d1, d2, what + " attention dqkv assigned");

    // dropout in place
    Vf xin = rand_vec(333, 110), xout(333);
    be->dropout_forward(xout.data(), xin.data(), 333, DropoutSpec{0.2f, 1, 2});
    be->dropout_forward(xin.data(), xin.data(), 333, DropoutSpec{0.2f, 1, 2});
    expect_bits(xin, xout, what + " dropout in place");
    be->dropout_forward(xout.data(), xin.data(), 333, DropoutSpec{1.0f, 1, 2});  // drops all
    for (float v : xout) CHECK(v == 0.0f);

    // a label outside [0, C) is an error, not a crash
    std::vector<int32_t> bad = {0, 3};
    Vf lg(6), ls(2), pr(6);
    CHECK_THROWS_CODE(be->cross_entropy_forward(ls.data(), pr.data(), lg.data(), bad.data(), 2, 3),
                      af::ErrorCode::InvalidArgument);
  }
}

AF_TEST("cpu_ops/memory: aligned allocation, copies, out-of-memory error") {
  CpuBackend be(2);
  CHECK(be.threads() == 2);
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000}}) {
    void* p = be.alloc_bytes(bytes);
    CHECK(p != nullptr && reinterpret_cast<uintptr_t>(p) % 64 == 0);
    be.zero(p, bytes);
    be.free_bytes(p);
  }
  float* a = static_cast<float*>(be.alloc_bytes(40 * sizeof(float)));
  Vf src = rand_vec(40, 120), back(40);
  be.copy_to_device(a, src.data(), 40 * sizeof(float));
  be.copy_device(a + 1, a, 20 * sizeof(float));  // overlapping is fine
  be.copy_to_host(back.data(), a, 40 * sizeof(float));
  CHECK(back[0] == src[0] && back[1] == src[0] && back[20] == src[19] && back[39] == src[39]);
  be.free_bytes(a);
  be.free_bytes(nullptr);
  CHECK_THROWS_CODE(be.alloc_bytes(std::numeric_limits<size_t>::max() / 2),
                    af::ErrorCode::OutOfMemory);
  CHECK_THROWS_CODE(be.alloc_bytes(std::numeric_limits<size_t>::max() - 10),
                    af::ErrorCode::OutOfMemory);
  CHECK(af::cpu::available_cores() >= 1);
  CHECK(CpuBackend(0).threads() == af::cpu::available_cores());
}

// ---------------------------------------------------------------------------------------------
// (6) the SIMD math, value by value, against double precision

std::vector<const af::cpu::Kernels*> kernel_sets() {
  std::vector<const af::cpu::Kernels*> out;
  const Isa best = af::cpu::detect_isa();
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (static_cast<int>(isa) <= static_cast<int>(best)) out.push_back(&af::cpu::kernels_for(isa));
  return out;
}

// Dense points in [lo, hi] plus every power-of-two scale of a few mantissas down to denormals.
Vf sweep_points(float lo, float hi, size_t n) {
  Vf x;
  x.reserve(n + 2000);
  for (size_t i = 0; i < n; ++i) x.push_back(lo + (hi - lo) * static_cast<float>(i) / (n - 1));
  for (float m : {1.0f, 1.2345678f, 1.75f})
    for (int e = -149; e <= 4; ++e)
      for (float s : {1.0f, -1.0f}) x.push_back(s * std::ldexp(m, e));
  return x;
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

constexpr double kInvSqrt2Pi = 0.39894228040143267794;
double gelu_d(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_grad_d(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) * kInvSqrt2Pi;
}

// Relative error where the true value is a normal float; absolute error in units of the
// smallest denormal below that (where a float cannot hold 24 bits anyway).
struct ErrStats {
  double rel = 0, denorm_ulps = 0, at = 0;
  void add(double got, double want, double x) {
    if (std::fabs(want) >= FLT_MIN) {
      double e = std::fabs(got - want) / std::fabs(want);
      if (!(e <= rel)) rel = e, at = x;
    } else {
      double e = std::fabs(got - want) / 1.401298464324817e-45;
      if (!(e <= denorm_ulps)) denorm_ulps = e;
    }
  }
};

AF_TEST("cpu_ops/kernels: GELU forward/backward accuracy over [-20, 20], inf, NaN, denormals") {
  Vf x = sweep_points(-20.0f, 20.0f, 4000001);
  for (const auto* k : kernel_sets()) {
    Vf y(x.size()), d(x.size()), ones(x.size(), 1.0f);
    k->act_forward(af::cpu::kActGelu, y.data(), x.data(), x.size());
    k->act_backward(af::cpu::kActGelu, d.data(), ones.data(), x.data(), x.size());
    ErrStats f;
    double g_err = 0, g_at = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      f.add(y[i], gelu_d(x[i]), x[i]);
      // the derivative is a difference Phi + x phi with a root: error relative to its terms
      const double xx = x[i], P = 0.5 * std::erfc(-xx / std::sqrt(2.0)),
                   xp = std::fabs(xx) * std::exp(-0.5 * xx * xx) * kInvSqrt2Pi;
      const double e = std::fabs(d[i] - gelu_grad_d(xx)) / std::max(P + xp, double(FLT_MIN));
      if (!(e <= g_err)) g_err = e, g_at = xx;
    }
    // the x86-64 baseline build has no FMA: its Horner steps round twice
    const double tol = std::string(k->name) == "scalar" ? 2.5e-7 : 2e-7;
    CHECK_MSG(f.rel <= tol, k->name << " gelu max rel error " << f.rel << " at x=" << f.at);
    CHECK_MSG(f.denorm_ulps <= 2, k->name << " gelu denormal results off by " << f.denorm_ulps);
    CHECK_MSG(g_err <= 2.5e-7, k->name << " gelu' max error " << g_err << " at x=" << g_at);
    Vf sx = {kInf, -kInf, kNaN, 0.0f, -0.0f, FLT_MAX, -FLT_MAX, 1e-45f, -1e-45f};
    Vf sy(sx.size()), sd(sx.size()), sones(sx.size(), 1.0f);
    k->act_forward(af::cpu::kActGelu, sy.data(), sx.data(), sx.size());
    k->act_backward(af::cpu::kActGelu, sd.data(), sones.data(), sx.data(), sx.size());
    CHECK_MSG(sy[0] == kInf && sy[1] == 0.0f && std::isnan(sy[2]), k->name << " gelu(+-inf, nan)");
    CHECK_MSG(sd[0] == 1.0f && sd[1] == 0.0f && std::isnan(sd[2]), k->name << " gelu'(+-inf, nan)");
    CHECK(sy[3] == 0.0f && sy[4] == 0.0f && sd[3] == 0.5f && sd[4] == 0.5f);
    CHECK(sy[5] == FLT_MAX && sy[6] == 0.0f && sd[5] == 1.0f && sd[6] == 0.0f);
    CHECK(sy[7] == 0.0f || sy[7] == 1e-45f);  // x/2 of the smallest denormal rounds to 0 or it
  }
}

AF_TEST("cpu_ops/kernels: exp, tanh, swish, relu accuracy and special values") {
  Vf xe = sweep_points(-110.0f, 90.0f, 2000001), xt = sweep_points(-20.0f, 20.0f, 2000001);
  for (const auto* k : kernel_sets()) {
    const std::string n = k->name;
    Vf y(xe.size());
    k->exp(y.data(), xe.data(), xe.size());
    ErrStats e;
    for (size_t i = 0; i < xe.size(); ++i)
      if (std::exp(double(xe[i])) <= FLT_MAX) e.add(y[i], std::exp(double(xe[i])), xe[i]);
      else CHECK_MSG(y[i] == kInf, n << " exp overflow at " << xe[i]);
    CHECK_MSG(e.rel <= 1.2e-7, n << " exp max rel error " << e.rel << " at " << e.at);
    CHECK_MSG(e.denorm_ulps <= 1, n << " exp denormal results off by " << e.denorm_ulps);

    Vf yt(xt.size()), dt(xt.size()), ones(xt.size(), 1.0f);
    struct Case { int act; const char* name; double (*f)(double); double (*df)(double); double tol; };
    const Case cases[] = {
        {af::cpu::kActTanh, "tanh", [](double v) { return std::tanh(v); },
         [](double v) { return 1 - std::tanh(v) * std::tanh(v); }, 1.5e-7},
        {af::cpu::kActSwish, "swish", [](double v) { return v / (1 + std::exp(-v)); },
         [](double v) {
           double s = 1 / (1 + std::exp(-v));
           return s * (1 + v * (1 - s));
         }, 3e-7}};
    for (const Case& c : cases) {
      k->act_forward(c.act, yt.data(), xt.data(), xt.size());
      k->act_backward(c.act, dt.data(), ones.data(), xt.data(), xt.size());
      ErrStats f;
      double g_err = 0;
      for (size_t i = 0; i < xt.size(); ++i) {
        f.add(yt[i], c.f(xt[i]), xt[i]);
        // derivatives of order 1 built from differences: error relative to max(|d|, 1)
        const double want = c.df(xt[i]);
        g_err = std::max(g_err, std::fabs(dt[i] - want) / std::max(std::fabs(want), 1.0));
      }
      CHECK_MSG(f.rel <= c.tol, n << " " << c.name << " max rel error " << f.rel << " at " << f.at);
      CHECK_MSG(f.denorm_ulps <= 2, n << " " << c.name << " denormal results off by " << f.denorm_ulps);
      CHECK_MSG(g_err <= 4e-7, n << " " << c.name << "' max error " << g_err);
    }

    Vf sx = {kInf, -kInf, kNaN, 0.0f, -0.0f, 100.0f, -100.0f};
    Vf s(sx.size()), sd(sx.size()), so(sx.size(), 1.0f);
    k->exp(s.data(), sx.data(), sx.size());
    CHECK(s[0] == kInf && s[1] == 0.0f && std::isnan(s[2]) && s[3] == 1.0f && s[5] == kInf);
    CHECK(std::fabs(s[6] - 3.720076e-44f) <= 1.5e-45f);  // exp(-100), a denormal
    k->act_forward(af::cpu::kActTanh, s.data(), sx.data(), sx.size());
    CHECK(s[0] == 1.0f && s[1] == -1.0f && std::isnan(s[2]) && s[3] == 0.0f && s[5] == 1.0f);
    k->act_backward(af::cpu::kActTanh, sd.data(), so.data(), sx.data(), sx.size());
    CHECK(sd[0] == 0.0f && sd[1] == 0.0f && std::isnan(sd[2]) && sd[3] == 1.0f);
    k->act_forward(af::cpu::kActSwish, s.data(), sx.data(), sx.size());
    CHECK(s[0] == kInf && s[1] == 0.0f && std::isnan(s[2]) && s[3] == 0.0f && s[5] == 100.0f);
    k->act_backward(af::cpu::kActSwish, sd.data(), so.data(), sx.data(), sx.size());
    CHECK(sd[0] == 1.0f && sd[1] == 0.0f && std::isnan(sd[2]) && sd[3] == 0.5f);
    k->act_forward(af::cpu::kActRelu, s.data(), sx.data(), sx.size());
    CHECK(s[0] == kInf && s[1] == 0.0f && std::isnan(s[2]) && s[5] == 100.0f && s[6] == 0.0f);
    k->act_backward(af::cpu::kActRelu, sd.data(), so.data(), sx.data(), sx.size());
    CHECK(sd[0] == 1.0f && sd[1] == 0.0f && sd[2] == 0.0f && sd[3] == 0.0f && sd[5] == 1.0f);
  }
}

// Masked tails compute exactly what full vectors do, so a value never depends on where a
// thread's chunk starts or how long the row is.
AF_TEST("cpu_ops/kernels: tails and offsets give the same bits as full vectors") {
  Vf x = rand_vec(100, 130, -6.0f, 6.0f), ones(100, 1.0f);
  for (const auto* k : kernel_sets())
    for (int act = 0; act < af::cpu::kActCount; ++act) {
      Vf full(100), dfull(100);
      k->act_forward(act, full.data(), x.data(), 100);
      k->act_backward(act, dfull.data(), ones.data(), x.data(), 100);
      for (size_t off : {size_t{0}, size_t{1}, size_t{7}, size_t{13}})
        for (size_t n = 0; n + off <= 100; n += 3) {
          Vf part(n + 1, 42.0f), dpart(n + 1, 42.0f);
          k->act_forward(act, part.data(), x.data() + off, n);
          k->act_backward(act, dpart.data(), ones.data(), x.data() + off, n);
          CHECK_MSG(part[n] == 42.0f && dpart[n] == 42.0f, k->name << " wrote past the end");
          for (size_t i = 0; i < n; ++i)
            CHECK_MSG(part[i] == full[off + i] && dpart[i] == dfull[off + i],
                      k->name << " act " << act << " differs at n=" << n << " off=" << off);
        }
    }
}

}  // namespace
