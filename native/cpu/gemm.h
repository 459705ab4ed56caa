// CPU SGEMM: one entry point, two providers (OpenBLAS when built with it, the built-in blocked
// SIMD kernels always), the instruction set chosen at run time. Row-major throughout:
//   C[M,N] = alpha * op(A) op(B) + beta * C,  op(A) [M,K], op(B) [K,N].
#pragma once
#include <string>

#include "thread_pool.h"

namespace af::cpu {

enum class GemmProvider { Builtin, OpenBlas };
enum class Isa { Scalar, Avx2, Avx512 };

const char* isa_name(Isa isa);                 // "scalar", "avx2", "avx512"
const char* provider_name(GemmProvider p);     // "builtin", "openblas"
Isa detect_isa();                              // best ISA this CPU and build support
bool openblas_compiled();                      // built with OpenBLAS (AF_HAVE_OPENBLAS)

// Called once for every finished block of C (all of K accumulated, alpha/beta applied), from
// the thread that computed it; blocks are disjoint. Used to fuse bias + activation.
struct GemmEpilogue {
  void (*fn)(void* ctx, float* C, int ldc, int row0, int rows, int col0, int cols) = nullptr;
  void* ctx = nullptr;
};

struct GemmConfig {
  GemmProvider provider = GemmProvider::Builtin;
  Isa isa = Isa::Scalar;
};

// Multi-threaded over `pool` (serial when called inside a parallel region). M, N, K >= 0;
// lda/ldb/ldc are row strides of the stored (untransposed) matrices.
void sgemm(ThreadPool& pool, const GemmConfig& cfg, bool trans_a, bool trans_b, int M, int N,
           int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta,
           float* C, int ldc, const GemmEpilogue* epilogue = nullptr);

// Plain triple loop (double accumulation): the oracle for tests.
void sgemm_reference(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                     const float* A, int lda, const float* B, int ldb, float beta, float* C,
                     int ldc);

}  // namespace af::cpu
