// Times the CPU backend's non-GEMM ops at BERT-base shapes (B=8, L=128, D=768, H=12, F=3072,
// T=1024) for each instruction set and thread count, next to the GEMMs of one BERT layer
// measured in the same run (the reference these ops must stay small against).
//
// Standalone, not part of the build. From the repository root (bash), with the build's
// per-file instruction-set flags:
//   mkdir -p /tmp/ob && for f in native/cpu/*.cpp bench/ops_bench.cpp; do fl=""
//     case $f in *_avx2.cpp) fl="-mavx2 -mfma -mf16c";;
//       *_avx512.cpp) fl="-mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma -mf16c";; esac
//     g++ -std=c++17 -O3 $(pkg-config --cflags openblas) -DAF_HAVE_OPENBLAS=1 $fl -c $f
//       -o /tmp/ob/$(basename $f .cpp).o; done     (the g++ command on one line)
//   g++ /tmp/ob/*.o -o /tmp/ops_bench $(pkg-config --libs openblas) -lpthread
//   /tmp/ops_bench [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../native/cpu/cpu_backend.h"

using af::Activation;
using af::DropoutSpec;
using af::cpu::CpuBackend;
using af::cpu::Isa;

namespace {

constexpr int B = 8, L = 128, D = 768, H = 12, Dh = 64, F = 3072, T = B * L, V = 30522;

std::vector<float> rnd(size_t n, unsigned seed, float scale = 1.0f) {
  std::vector<float> v(n);
  unsigned s = seed * 2654435761u + 1;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(s >> 8) / 16777216.0f * 2.0f - 1.0f);
  }
  return v;
}

// Fastest of `reps` runs (after one warm-up), in milliseconds: the least disturbed estimate
// on a shared machine.
double time_ms(int reps, const std::function<void()>& fn) {
  fn();
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    auto a = std::chrono::steady_clock::now();
    fn();
    auto b = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(b - a).count());
  }
  return best;
}

struct Buffers {
  std::vector<float> x = rnd(T * D, 1, 2.0f), y = std::vector<float>(T * D), w = rnd(D, 2),
                     b = rnd(D, 3), g = rnd(T * D, 4), dx = std::vector<float>(T * D),
                     dw = std::vector<float>(D), db = std::vector<float>(D),
                     mean = std::vector<float>(T), rstd = std::vector<float>(T);
  std::vector<float> h = rnd(size_t(T) * F, 5, 3.0f), h2 = std::vector<float>(size_t(T) * F),
                     gh = rnd(size_t(T) * F, 6);
  std::vector<float> qkv = rnd(size_t(T) * 3 * D, 7), mask = std::vector<float>(T, 1.0f),
                     ctx = std::vector<float>(T * D), dctx = rnd(T * D, 8),
                     probs = std::vector<float>(size_t(B) * H * L * L),
                     dqkv = std::vector<float>(size_t(T) * 3 * D),
                     scratch = std::vector<float>(size_t(B) * H * L * L);
  std::vector<float> wte = rnd(size_t(V) * D, 9), wpe = rnd(512 * D, 10), wtt = rnd(2 * D, 11),
                     dwte = std::vector<float>(size_t(V) * D), dwpe = std::vector<float>(512 * D),
                     dwtt = std::vector<float>(2 * D);
  std::vector<int32_t> ids = std::vector<int32_t>(T), types = std::vector<int32_t>(T, 0),
                       labels = std::vector<int32_t>(T);
  std::vector<float> logits = rnd(size_t(128) * V, 12, 5.0f), lprobs = std::vector<float>(size_t(128) * V),
                     losses = std::vector<float>(T);
  std::vector<float> W1 = rnd(size_t(F) * D, 13, 0.05f), b1 = rnd(F, 14), W2 = rnd(size_t(D) * F, 15, 0.05f),
                     Wqkv = rnd(size_t(3 * D) * D, 16, 0.05f), Wo = rnd(size_t(D) * D, 17, 0.05f);
  Buffers() {
    for (int t = 0; t < T; ++t) ids[t] = (t * 7919) % V, labels[t] = (t * 31) % V;
    for (int bb = 1; bb < B; bb += 2)  // half the sequences padded to 100 tokens
      for (int j = 100; j < L; ++j) mask[bb * L + j] = 0.0f;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 15;
  Buffers m;
  const DropoutSpec drop{0.1f, 42, 0};
  std::printf("ops at BERT-base shapes (B=%d L=%d D=%d H=%d F=%d), fastest of %d runs, ms\n", B, L,
              D, H, F, reps);

  struct Op {
    const char* name;
    std::function<void(CpuBackend&)> run;
  };
  const std::vector<Op> ops = {
      {"gelu fwd [T,F]", [&](CpuBackend& be) { be.activation_forward(m.h2.data(), m.h.data(), m.h.size(), Activation::Gelu); }},
      {"gelu bwd [T,F]", [&](CpuBackend& be) { be.activation_backward(m.h2.data(), m.gh.data(), m.h.data(), m.h.size(), Activation::Gelu); }},
      {"swish fwd [T,F]", [&](CpuBackend& be) { be.activation_forward(m.h2.data(), m.h.data(), m.h.size(), Activation::Swish); }},
      {"tanh fwd [T,F]", [&](CpuBackend& be) { be.activation_forward(m.h2.data(), m.h.data(), m.h.size(), Activation::Tanh); }},
      {"layernorm fwd [T,D]", [&](CpuBackend& be) { be.layernorm_forward(m.y.data(), m.mean.data(), m.rstd.data(), m.x.data(), m.w.data(), m.b.data(), T, D, 1e-12f); }},
      {"layernorm bwd [T,D]", [&](CpuBackend& be) { be.layernorm_backward(m.dx.data(), m.dw.data(), m.db.data(), m.g.data(), m.x.data(), m.w.data(), m.mean.data(), m.rstd.data(), T, D, false); }},
      {"attention fwd", [&](CpuBackend& be) { be.attention_forward(m.ctx.data(), m.probs.data(), m.qkv.data(), m.mask.data(), B, L, H, Dh, DropoutSpec{}); }},
      {"attention fwd, dropout", [&](CpuBackend& be) { be.attention_forward(m.ctx.data(), m.probs.data(), m.qkv.data(), m.mask.data(), B, L, H, Dh, drop); }},
      {"attention bwd", [&](CpuBackend& be) { be.attention_backward(m.dqkv.data(), m.dctx.data(), m.qkv.data(), m.probs.data(), m.mask.data(), B, L, H, Dh, DropoutSpec{}, m.scratch.data()); }},
      {"attention bwd, dropout", [&](CpuBackend& be) { be.attention_backward(m.dqkv.data(), m.dctx.data(), m.qkv.data(), m.probs.data(), m.mask.data(), B, L, H, Dh, drop, m.scratch.data()); }},
      {"dropout fwd [T,D]", [&](CpuBackend& be) { be.dropout_forward(m.y.data(), m.x.data(), m.x.size(), drop); }},
      {"add [T,D]", [&](CpuBackend& be) { be.add(m.y.data(), m.x.data(), m.g.data(), m.x.size()); }},
      {"embeddings fwd", [&](CpuBackend& be) { be.embeddings_forward(m.y.data(), m.ids.data(), m.types.data(), m.wte.data(), m.wpe.data(), m.wtt.data(), B, L, D); }},
      {"embeddings bwd", [&](CpuBackend& be) { be.embeddings_backward(m.dwte.data(), m.dwpe.data(), m.dwtt.data(), m.g.data(), m.ids.data(), m.types.data(), B, L, D); }},
      {"cross-entropy fwd [128,V]", [&](CpuBackend& be) { be.cross_entropy_forward(m.losses.data(), m.lprobs.data(), m.logits.data(), m.labels.data(), 128, V); }},
      {"linear bias db [T,F] (colsum)", [&](CpuBackend& be) { be.linear_backward(nullptr, nullptr, m.b1.data(), m.gh.data(), nullptr, nullptr, T, D, F, false); }},
      {"FFN-up GEMM only", [&](CpuBackend& be) { be.linear_forward(m.h2.data(), nullptr, m.x.data(), m.W1.data(), nullptr, T, D, F, Activation::None); }},
      {"FFN-up + bias + GELU (train)", [&](CpuBackend& be) { be.linear_forward(m.h2.data(), m.gh.data(), m.x.data(), m.W1.data(), m.b1.data(), T, D, F, Activation::Gelu); }},
      {"FFN-up + bias + GELU (infer)", [&](CpuBackend& be) { be.linear_forward(m.h2.data(), nullptr, m.x.data(), m.W1.data(), m.b1.data(), T, D, F, Activation::Gelu); }},
  };
  // The GEMMs of one BERT layer forward: QKV, attention output, FFN up, FFN down.
  auto layer_gemms = [&](CpuBackend& be) {
    be.linear_forward(m.qkv.data(), nullptr, m.x.data(), m.Wqkv.data(), nullptr, T, D, 3 * D, Activation::None);
    be.linear_forward(m.y.data(), nullptr, m.ctx.data(), m.Wo.data(), nullptr, T, D, D, Activation::None);
    be.linear_forward(m.h2.data(), nullptr, m.x.data(), m.W1.data(), nullptr, T, D, F, Activation::None);
    be.linear_forward(m.y.data(), nullptr, m.h2.data(), m.W2.data(), nullptr, T, F, D, Activation::None);
  };

  const Isa best = af::cpu::detect_isa();
  std::vector<Isa> isas;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (static_cast<int>(isa) <= static_cast<int>(best)) isas.push_back(isa);
  for (int threads : {1, af::cpu::available_cores()}) {
    std::printf("\n%d thread(s); GEMM provider %s\n%-32s", threads,
                af::cpu::provider_name(CpuBackend(threads).gemm_config().provider), "op");
    for (Isa isa : isas) std::printf("%10s", af::cpu::isa_name(isa));
    std::printf("%14s\n", "best/scalar");
    std::vector<double> scalar_ms(ops.size());
    std::vector<std::vector<double>> all(ops.size());
    for (Isa isa : isas) {
      CpuBackend be(threads);
      be.set_isa(isa);
      for (size_t i = 0; i < ops.size(); ++i)
        all[i].push_back(time_ms(reps, [&] { ops[i].run(be); }));
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      std::printf("%-32s", ops[i].name);
      for (double t : all[i]) std::printf("%10.3f", t);
      std::printf("%14.2f\n", all[i].back() / all[i].front());
    }
    CpuBackend be(threads);
    const double gemm = time_ms(std::max(3, reps / 3), [&] { layer_gemms(be); });
    // one layer's forward ops besides GEMMs: attention, 2 layernorms, GELU, 2 adds
    const auto& last = [&](size_t i) { return all[i].back(); };
    const double fwd_ops = last(6) + 2 * last(4) + last(0) + 2 * last(11);
    std::printf("one layer's forward GEMMs: %.2f ms; its other ops (%s): %.2f ms = %.1f%%\n", gemm,
                af::cpu::isa_name(isas.back()), fwd_ops, 100.0 * fwd_ops / gemm);
  }
  return 0;
}
