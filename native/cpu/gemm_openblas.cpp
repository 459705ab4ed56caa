// The OpenBLAS provider: single-threaded cblas_sgemm calls, one per part of C, on our pool.
// Built only with AF_HAVE_OPENBLAS (binding.gyp defines it when pkg-config finds openblas).
//
// Why OpenBLAS runs single-threaded: its own pool fights ours. A call from inside one of our
// parallel regions (attention heads) would start OpenBLAS threads under each of ours (measured
// here: 1-47 GFLOP/s instead of ~200), and its workers spin-wait after every call, stealing the
// cores our next kernel needs. So the count is set to 1 once, and gemm.cpp splits C over our
// threads exactly as for the built-in kernels.
#if defined(AF_HAVE_OPENBLAS)
#include <cblas.h>

#include <mutex>

extern "C" {
// Declared by OpenBLAS's cblas.h; repeated for headers that lack it (same signature).
void openblas_set_num_threads(int num_threads);
}

namespace af::cpu::gemm_detail {

void openblas_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  // Every OpenBLAS call of ours passes here first, so no call is in flight while the count
  // changes; call_once makes concurrent first calls wait for it.
  static std::once_flag single_threaded;
  std::call_once(single_threaded, [] { openblas_set_num_threads(1); });
  // cblas wants ld >= max(1, row length); ours only checks the row length, so lift 0 to 1.
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda > 0 ? lda : 1, B,
              ldb > 0 ? ldb : 1, beta, C, ldc > 0 ? ldc : 1);
}

}  // namespace af::cpu::gemm_detail

#endif  // AF_HAVE_OPENBLAS
