// SGEMM microbenchmark: GFLOP/s of every provider and ISA at 1 and 2 threads, for large squares
// and the BERT-base linear layers (T = 1024 tokens) in the three GEMMs of a linear layer:
//   forward      Y[T,O]  = X[T,I] W[O,I]^T    NT  M=T N=O K=I
//   input grad   dX[T,I] = dY[T,O] W[O,I]     NN  M=T N=I K=O
//   weight grad  dW[O,I] = dY[T,O]^T X[T,I]   TN  M=O N=I K=T
// plus the per-head attention GEMMs (one thread, as when called from a parallel region).
// Each number is the best of several runs (the machine is shared; best-of filters noise).
//
// Not part of the build. From the repository root:
//   g++ -std=c++17 -O3 -DAF_HAVE_OPENBLAS=1 $(pkg-config --cflags openblas) -o /tmp/gemm_bench \
//     bench/gemm_bench.cpp native/cpu/gemm.cpp native/cpu/gemm_reference.cpp \
//     native/cpu/gemm_scalar.cpp native/cpu/gemm_openblas.cpp native/cpu/thread_pool.cpp \
//     /tmp/gemm_avx2.o /tmp/gemm_avx512.o $(pkg-config --libs openblas) -lpthread
// with gemm_avx2.o / gemm_avx512.o compiled from native/cpu with their ISA flags. OpenBLAS
// 0.3.21 takes Zen 4/5 for Haswell; run with OPENBLAS_CORETYPE=SkylakeX for its AVX-512 path.
// Usage: gemm_bench [filter]   (filter: substring of the row label, e.g. "bert" or "2048")
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../native/cpu/gemm.h"

#if defined(AF_HAVE_OPENBLAS)
extern "C" char* openblas_get_corename(void);
#endif

using namespace af::cpu;

namespace {

struct Shape {
  std::string label;
  bool ta, tb;
  int M, N, K;
  bool nested;  // one thread, as inside a parallel region
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Best GFLOP/s over repeated calls (at least 5 and 0.4 s, after one warm-up call).
double measure(ThreadPool& pool, const GemmConfig& cfg, const Shape& s, const float* A,
               const float* B, float* C) {
  const int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  auto once = [&] {
    const double t0 = now();
    sgemm(pool, cfg, s.ta, s.tb, s.M, s.N, s.K, 1.0f, A, lda, B, ldb, 0.0f, C, s.N);
    return now() - t0;
  };
  once();
  double best = 1e30, total = 0;
  for (int r = 0; r < 5 || total < 0.4; ++r) {
    const double t = once();
    best = std::min(best, t);
    total += t;
    if (r > 200) break;
  }
  return 2.0 * s.M * s.N * s.K / best * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  std::vector<Shape> shapes;
  for (int n : {2048, 3072}) {
    shapes.push_back({"square " + std::to_string(n) + " NN", false, false, n, n, n, false});
    shapes.push_back({"square " + std::to_string(n) + " NT", false, true, n, n, n, false});
  }
  const int T = 1024;
  const int layers[][2] = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}};  // {O, I}
  for (const auto& l : layers) {
    const int O = l[0], I = l[1];
    const std::string name = "bert O=" + std::to_string(O) + " I=" + std::to_string(I);
    shapes.push_back({name + " fwd NT", false, true, T, O, I, false});
    shapes.push_back({name + " dX NN", false, false, T, I, O, false});
    shapes.push_back({name + " dW TN", true, false, O, I, T, false});
  }
  shapes.push_back({"head QK^T 128x128x64 NT (1 thread)", false, true, 128, 128, 64, true});
  shapes.push_back({"head PV 128x64x128 NN (1 thread)", false, false, 128, 64, 128, true});
  shapes.push_back({"head dP^T 128x64x128 TN (1 thread)", true, false, 128, 64, 128, true});

  std::vector<GemmConfig> configs;
  const Isa best = detect_isa();
  for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Scalar})
    if (static_cast<int>(isa) <= static_cast<int>(best)) configs.push_back({GemmProvider::Builtin, isa});
  if (openblas_compiled()) configs.push_back({GemmProvider::OpenBlas, best});

  std::printf("detect_isa: %s\n", isa_name(best));
#if defined(AF_HAVE_OPENBLAS)
  std::printf("openblas core: %s\n", openblas_get_corename());
#endif
  std::printf("%-36s %-16s %9s %9s\n", "shape", "provider/isa", "1 thr", "2 thr");

  ThreadPool pool1(1), pool2(2);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    if (filter && s.label.find(filter) == std::string::npos) continue;
    std::vector<float> A(size_t(s.M) * s.K), B(size_t(s.K) * s.N), C(size_t(s.M) * s.N);
    for (float& x : A) x = u(rng);
    for (float& x : B) x = u(rng);
    for (const GemmConfig& cfg : configs) {
      if (cfg.isa == Isa::Scalar && cfg.provider == GemmProvider::Builtin && double(s.M) * s.N * s.K > 1.5e9)
        continue;  // far too slow to be interesting
      const std::string name = std::string(provider_name(cfg.provider)) + "/" + isa_name(cfg.isa);
      const double g1 = measure(pool1, cfg, s, A.data(), B.data(), C.data());
      if (s.nested) {
        std::printf("%-36s %-16s %9.1f %9s\n", s.label.c_str(), name.c_str(), g1, "-");
      } else {
        const double g2 = measure(pool2, cfg, s, A.data(), B.data(), C.data());
        std::printf("%-36s %-16s %9.1f %9.1f\n", s.label.c_str(), name.c_str(), g1, g2);
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
