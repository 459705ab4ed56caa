// The OpenBLAS provider: a cblas_sgemm call with OpenBLAS's own thread pool sized to ours.
// Built only with AF_HAVE_OPENBLAS (binding.gyp defines it when pkg-config finds openblas).
#if defined(AF_HAVE_OPENBLAS)
#include <cblas.h>

#include <mutex>

extern "C" {
// Declared by OpenBLAS's cblas.h; repeated here for headers that lack it (same signature).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace af::cpu::gemm_detail {

namespace {
std::mutex g_threads_mu;
int g_threads = -1;  // last count we gave OpenBLAS
}  // namespace

// threads == 1 when the caller is inside one of our parallel regions: then OpenBLAS's global
// thread count is left alone (other threads may be inside OpenBLAS right now), and OpenBLAS
// runs the call with whatever count it has. Outside, the count is set to ours first.
void openblas_sgemm(int threads, bool in_region, bool trans_a, bool trans_b, int M, int N, int K,
                    float alpha, const float* A, int lda, const float* B, int ldb, float beta,
                    float* C, int ldc) {
  if (!in_region) {
    std::lock_guard<std::mutex> lock(g_threads_mu);
    if (g_threads != threads) {
      openblas_set_num_threads(threads);
      g_threads = threads;
    }
  }
  // cblas checks ld >= max(1, row length); ours only checks row length, so lift 0 to 1.
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda > 0 ? lda : 1, B,
              ldb > 0 ? ldb : 1, beta, C, ldc > 0 ? ldc : 1);
}

}  // namespace af::cpu::gemm_detail

#endif  // AF_HAVE_OPENBLAS
