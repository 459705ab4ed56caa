// The test oracle: a plain triple loop with double accumulation, no blocking, no threads.
#include "gemm.h"

namespace af::cpu {

void sgemm_reference(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                     const float* A, int lda, const float* B, int ldb, float beta, float* C,
                     int ldc) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int k = 0; k < K; ++k) {
        const double a = trans_a ? A[long(k) * lda + i] : A[long(i) * lda + k];
        const double b = trans_b ? B[long(j) * ldb + k] : B[long(k) * ldb + j];
        sum += a * b;
      }
      float& c = C[long(i) * ldc + j];
      // beta == 0 overwrites without reading C (it may hold NaN), as BLAS does.
      const double scaled_c = beta == 0.0f ? 0.0 : double(beta) * c;
      c = static_cast<float>((alpha == 0.0f ? 0.0 : double(alpha) * sum) + scaled_c);
    }
  }
}

}  // namespace af::cpu
