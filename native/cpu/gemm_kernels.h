// Internal to the CPU GEMM: the per-instruction-set pieces (packing routines and micro-kernel)
// that the blocked driver in gemm.cpp calls through one table. Each gemm_<isa>.cpp fills a
// KernelSet; the driver never includes intrinsics, so it stays baseline x86-64 code.
//
// Layouts (row-major, op() already applied):
//   packed A: ceil(m / mr) panels, each [kc][mr]: element (i, k) of a panel at k * mr + i
//   packed B: ceil(n / nr) panels, each [kc][nr]: element (k, j) of a panel at k * nr + j
// Panels are zero padded to full mr / nr, so the kernel may compute padding lanes freely.
//
// The micro-kernel reads its operands through strides, so the small-matrix path can point it
// straight into the caller's matrices instead of packing:
//   a(i, k) = a[i * a_rs + k * a_cs]   (packed: a_rs = 1, a_cs = mr)
//   b(k, j) = b[k * b_rs + j]          (packed: b_rs = nr; B rows must be contiguous)
// With direct (unpacked) B (b_packed = false) the kernel never reads past column nr; it never
// reads A past row mr either way.
//
// ODR caution: the _avx2/_avx512 files are compiled with wider instruction sets. Everything
// they define lives in an anonymous namespace (no shared inline functions or templates with
// the baseline files), except the one *_kernels() accessor each exports.
#pragma once

namespace af::cpu::gemm_detail {

struct KernelSet {
  const char* name;
  int mr, nr;      // micro-tile: mr rows (broadcast operand A) x nr columns (vector operand B)
  int kc, mc, nc;  // cache blocking: kc (largest depth of a k block), mc (rows of a packed A
                   // block at depth kc; shallower blocks get proportionally more rows), nc
                   // (columns of a packed B panel); mc is a multiple of mr, nc of nr

  // Packs op(A)[m, k] (op(A)(i, k) = trans_a ? A[k * lda + i] : A[i * lda + k]) into
  // ceil(m / mr) zero-padded panels, panel p at dst + p * k * mr (dst 64-byte aligned).
  void (*pack_a)(bool trans_a, int m, int k, const float* A, long lda, float* dst);
  // Packs op(B)[k, n] (op(B)(k, j) = trans_b ? B[j * ldb + k] : B[k * ldb + j]) into
  // ceil(n / nr) zero-padded panels, panel p at dst + p * k * nr (dst 64-byte aligned; the
  // SIMD sets keep nr * 4 bytes a multiple of their vector size, so panel rows stay aligned).
  void (*pack_b)(bool trans_b, int k, int n, const float* B, long ldb, float* dst);
  // C[mr, nr] = alpha * a(mr x kc) b(kc x nr) + beta * C, for 1 <= mr <= this->mr and
  // 1 <= nr <= this->nr. beta == 0 stores without reading C. kc may be 0.
  void (*kernel)(int kc, const float* a, long a_rs, long a_cs, const float* b, long b_rs,
                 bool b_packed, float* c, long ldc, int mr, int nr, float alpha, float beta);
};

// Always available (plain C++, baseline flags).
const KernelSet& scalar_kernels();
// The reference packs for any panel width (gemm_scalar.cpp): the scalar set's packs, the
// fallback of the SIMD sets for cases they do not vectorize, and the oracle of the tests.
void pack_a_ref(int mr, bool trans_a, int m, int k, const float* A, long lda, float* dst);
void pack_b_ref(int nr, bool trans_b, int k, int n, const float* B, long ldb, float* dst);
// Only call these when detect_isa() allows; they return nullptr on non-x86-64 builds.
const KernelSet* avx2_kernels();
const KernelSet* avx512_kernels();

}  // namespace af::cpu::gemm_detail
