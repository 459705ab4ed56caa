// SGEMM microbenchmark: GFLOP/s of every provider and ISA at 1 and 2 threads, for large squares
// and the BERT-base linear layers (T = 1024 tokens) in the three GEMMs of a linear layer:
//   forward      Y[T,O]  = X[T,I] W[O,I]^T    NT  M=T N=O K=I
//   input grad   dX[T,I] = dY[T,O] W[O,I]     NN  M=T N=I K=O
//   weight grad  dW[O,I] = dY[T,O]^T X[T,I]   TN  M=O N=I K=T
// plus the per-head attention GEMMs (one thread, as when called from a parallel region).
// "openblas/*" rows are our OpenBLAS provider (single-threaded cblas calls on our threads);
// "cblas own thr" is one plain cblas_sgemm on OpenBLAS's own thread pool, for reference.
// Each number is the best over several rounds that interleave all configurations, so a burst
// of load from other processes on a shared machine hits every column alike.
//
// Not part of the build. From the repository root (the two ISA files need their flags):
/*
  F="-std=c++17 -O3 -DAF_HAVE_OPENBLAS=1 $(pkg-config --cflags openblas)"
  g++ $F -mavx2 -mfma -mf16c -c native/cpu/gemm_avx2.cpp -o /tmp/gemm_avx2.o
  g++ $F -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx2 -mfma -mf16c \
      -c native/cpu/gemm_avx512.cpp -o /tmp/gemm_avx512.o
  g++ $F -o /tmp/gemm_bench bench/gemm_bench.cpp native/cpu/gemm.cpp \
      native/cpu/gemm_reference.cpp native/cpu/gemm_scalar.cpp native/cpu/gemm_openblas.cpp \
      native/cpu/thread_pool.cpp /tmp/gemm_avx2.o /tmp/gemm_avx512.o \
      $(pkg-config --libs openblas) -lpthread
*/
// (drop -DAF_HAVE_OPENBLAS, the pkg-config parts and gemm_openblas.cpp to bench without it).
// OpenBLAS 0.3.21 takes Zen 4/5 for Haswell: run with OPENBLAS_CORETYPE=SkylakeX to compare
// against its AVX-512 kernels.
// Usage: gemm_bench [filter] [rounds]   (filter: substring of the row label, e.g. "bert")
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../native/cpu/gemm.h"

#if defined(AF_HAVE_OPENBLAS)
#include <cblas.h>
extern "C" char* openblas_get_corename(void);
extern "C" void openblas_set_num_threads(int);
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

#if defined(AF_HAVE_OPENBLAS)
// Reference row "cblas": one cblas_sgemm on OpenBLAS's own threads, as a program using OpenBLAS
// directly would call it. Restores the single thread our OpenBLAS provider relies on.
double best_time_cblas(int threads, const Shape& s, const float* A, const float* B, float* C,
                       int reps) {
  const int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  openblas_set_num_threads(threads);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
                s.M, s.N, s.K, 1.0f, A, lda, B, ldb, 0.0f, C, s.N);
    best = std::min(best, now() - t0);
  }
  openblas_set_num_threads(1);
  return best;
}
#endif

// Seconds of the fastest of `reps` calls.
double best_time(ThreadPool& pool, const GemmConfig& cfg, const Shape& s, const float* A,
                 const float* B, float* C, int reps) {
  const int lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    sgemm(pool, cfg, s.ta, s.tb, s.M, s.N, s.K, 1.0f, A, lda, B, ldb, 0.0f, C, s.N);
    best = std::min(best, now() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
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
  // Adapter (r = 48) and fused-fusion (N * r = 8 * 48) projections.
  shapes.push_back({"adapter down 1024x48x768 NT", false, true, T, 48, 768, false});
  shapes.push_back({"adapter up 1024x768x48 NT", false, true, T, 768, 48, false});
  shapes.push_back({"fusion down 1024x384x768 NT", false, true, T, 384, 768, false});
  shapes.push_back({"head QK^T 128x128x64 NT (nested)", false, true, 128, 128, 64, true});
  shapes.push_back({"head PV 128x64x128 NN (nested)", false, false, 128, 64, 128, true});
  shapes.push_back({"head dV 128x64x128 TN (nested)", true, false, 128, 64, 128, true});

  std::vector<GemmConfig> configs;
  const Isa best = detect_isa();
  for (Isa isa : {Isa::Avx512, Isa::Avx2, Isa::Scalar})
    if (static_cast<int>(isa) <= static_cast<int>(best)) configs.push_back({GemmProvider::Builtin, isa});
  if (openblas_compiled()) configs.push_back({GemmProvider::OpenBlas, best});

  std::printf("detect_isa: %s, threads 1 and 2, best of %d interleaved rounds\n", isa_name(best), rounds);
#if defined(AF_HAVE_OPENBLAS)
  std::printf("openblas core: %s\n", openblas_get_corename());
#endif
  std::printf("%-34s %-16s %8s %8s\n", "shape", "provider/isa", "1 thr", "2 thr");

  ThreadPool pool1(1), pool2(2);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    if (filter && s.label.find(filter) == std::string::npos) continue;
    std::vector<float> A(size_t(s.M) * s.K), B(size_t(s.K) * s.N), C(size_t(s.M) * s.N);
    for (float& x : A) x = u(rng);
    for (float& x : B) x = u(rng);
    const double flops = 2.0 * s.M * s.N * s.K;
    // About 50 ms per configuration and round; nested shapes run on one thread only.
    const int reps = std::max(2, std::min(2000, int(50e-3 / (flops / 100e9))));
    std::vector<double> t1(configs.size(), 1e30), t2(configs.size(), 1e30);
    double c1 = 1e30, c2 = 1e30;  // cblas on its own threads
    for (int r = 0; r < rounds; ++r) {
#if defined(AF_HAVE_OPENBLAS)
      c1 = std::min(c1, best_time_cblas(1, s, A.data(), B.data(), C.data(), reps));
      if (!s.nested) c2 = std::min(c2, best_time_cblas(2, s, A.data(), B.data(), C.data(), reps));
#endif
      for (size_t c = 0; c < configs.size(); ++c) {
        const bool slow = configs[c].isa == Isa::Scalar && configs[c].provider == GemmProvider::Builtin;
        if (slow && flops > 3e9) continue;  // minutes of scalar code tell nothing new
        const int n = slow ? std::max(1, reps / 8) : reps;
        t1[c] = std::min(t1[c], best_time(pool1, configs[c], s, A.data(), B.data(), C.data(), n));
        if (!s.nested)
          t2[c] = std::min(t2[c], best_time(pool2, configs[c], s, A.data(), B.data(), C.data(), n));
      }
    }
    for (size_t c = 0; c < configs.size(); ++c) {
      if (t1[c] >= 1e30) continue;
      const std::string name = std::string(provider_name(configs[c].provider)) + "/" + isa_name(configs[c].isa);
      char g2[32] = "-";
      if (!s.nested) std::snprintf(g2, sizeof g2, "%.1f", flops / t2[c] * 1e-9);
      std::printf("%-34s %-16s %8.1f %8s\n", s.label.c_str(), name.c_str(), flops / t1[c] * 1e-9, g2);
    }
    if (c1 < 1e30) {
      char g2[32] = "-";
      if (!s.nested) std::snprintf(g2, sizeof g2, "%.1f", flops / c2 * 1e-9);
      std::printf("%-34s %-16s %8.1f %8s\n", s.label.c_str(), "cblas own thr", flops / c1 * 1e-9, g2);
    }
    std::fflush(stdout);
  }
  return 0;
}
