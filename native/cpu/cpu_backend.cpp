// CpuBackend: memory, the GEMM entry points and a table of ops that forwards each call to
// ops_*.cpp with the current thread pool, GEMM configuration and kernel set.
#include "cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

#include "../core/errors.h"
#include "ops.h"

namespace af::cpu {

// ---- free functions ----

const Kernels& kernels_for(Isa isa) {
  const Kernels* k = nullptr;
  if (isa == Isa::Avx512) k = avx512_kernels();
  if (isa == Isa::Avx2) k = avx2_kernels();
  return k ? *k : scalar_kernels();
}

GemmProvider default_gemm_provider() {
  // For now: the built-in kernels where AVX-512 runs, else OpenBLAS when compiled in (to be
  // revisited with the GEMM benchmark's numbers).
  if (detect_isa() == Isa::Avx512) return GemmProvider::Builtin;
  return openblas_compiled() ? GemmProvider::OpenBlas : GemmProvider::Builtin;
}

int available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

// ---- construction and configuration ----

CpuBackend::CpuBackend(int threads)
    : pool_(std::make_unique<ThreadPool>(threads > 0 ? threads : available_cores())),
      max_isa_(detect_isa()) {
  gemm_.provider = default_gemm_provider();
  gemm_.isa = max_isa_;
}

CpuBackend::~CpuBackend() = default;

void CpuBackend::set_gemm_provider(GemmProvider provider) {
  if (provider == GemmProvider::OpenBlas && !openblas_compiled())
    fail(ErrorCode::Unsupported, "this build has no OpenBLAS");
  gemm_.provider = provider;
}

void CpuBackend::set_isa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(max_isa_))
    fail(ErrorCode::Unsupported, std::string("instruction set ") + isa_name(isa) +
                                     " is not available (this CPU/build supports up to " +
                                     isa_name(max_isa_) + ")");
  gemm_.isa = isa;
}

// ---- memory: 64-byte aligned host memory ----

void* CpuBackend::alloc_bytes(size_t bytes) {
  const size_t size = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple; 0 -> 0
  if (size < bytes) fail(ErrorCode::OutOfMemory, "allocation size overflows");
  void* p = std::aligned_alloc(64, size == 0 ? 64 : size);
  if (!p)
    fail(ErrorCode::OutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes");
  return p;
}

void CpuBackend::free_bytes(void* p) { std::free(p); }

void CpuBackend::copy_to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
}

void CpuBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
}

void CpuBackend::copy_device(void* dst, const void* src, size_t bytes) {
  if (bytes && dst != src) std::memmove(dst, src, bytes);
}

void CpuBackend::zero(void* p, size_t bytes) {
  if (bytes) std::memset(p, 0, bytes);
}

// ---- GEMM ----

void CpuBackend::gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                      const float* A, int lda, const float* B, int ldb, float beta, float* C,
                      int ldc) {
  sgemm(*pool_, gemm_, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void CpuBackend::gemm_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                              const float* A, int lda, long long stride_a, const float* B,
                              int ldb, long long stride_b, float beta, float* C, int ldc,
                              long long stride_c, int batch) {
  if (batch <= 0) return;
  auto one = [&](size_t i) {
    const long long b = static_cast<long long>(i);
    sgemm(*pool_, gemm_, trans_a, trans_b, M, N, K, alpha, A + b * stride_a, lda,
          B + b * stride_b, ldb, beta, C + b * stride_c, ldc);
  };
  // Enough problems to share out: one thread each (serial GEMMs); otherwise threaded GEMMs.
  if (batch >= pool_->threads()) {
    pool_->parallel_for(static_cast<size_t>(batch), 1, [&](int, size_t b0, size_t b1) {
      for (size_t i = b0; i < b1; ++i) one(i);
    });
  } else {
    for (int i = 0; i < batch; ++i) one(static_cast<size_t>(i));
  }
}

// ---- the ops (see ops.h and ops_*.cpp) ----

namespace {
OpContext op_context(CpuBackend& be) {
  return {be.pool(), be.gemm_config(), kernels_for(be.gemm_config().isa)};
}
}  // namespace

void CpuBackend::linear_forward(float* out, float* preact, const float* in, const float* W,
                                const float* b, int T, int I, int O, Activation act) {
  cpu::linear_forward(op_context(*this), out, preact, in, W, b, T, I, O, act);
}
void CpuBackend::linear_backward(float* din, float* dW, float* db, const float* dout,
                                 const float* in, const float* W, int T, int I, int O,
                                 bool accumulate_din) {
  cpu::linear_backward(op_context(*this), din, dW, db, dout, in, W, T, I, O, accumulate_din);
}
void CpuBackend::activation_forward(float* out, const float* in, size_t n, Activation act) {
  cpu::activation_forward(op_context(*this), out, in, n, act);
}
void CpuBackend::activation_backward(float* din, const float* dout, const float* in, size_t n,
                                     Activation act) {
  cpu::activation_backward(op_context(*this), din, dout, in, n, act);
}
void CpuBackend::embeddings_forward(float* out, const int32_t* ids, const int32_t* types,
                                    const float* wte, const float* wpe, const float* wtt, int B,
                                    int L, int D) {
  cpu::embeddings_forward(op_context(*this), out, ids, types, wte, wpe, wtt, B, L, D);
}
void CpuBackend::embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                                     const int32_t* ids, const int32_t* types, int B, int L,
                                     int D) {
  cpu::embeddings_backward(op_context(*this), dwte, dwpe, dwtt, dout, ids, types, B, L, D);
}
void CpuBackend::layernorm_forward(float* out, float* mean, float* rstd, const float* in,
                                   const float* w, const float* b, int T, int D, float eps) {
  cpu::layernorm_forward(op_context(*this), out, mean, rstd, in, w, b, T, D, eps);
}
void CpuBackend::layernorm_backward(float* din, float* dw, float* db, const float* dout,
                                    const float* in, const float* w, const float* mean,
                                    const float* rstd, int T, int D, bool accumulate_din) {
  cpu::layernorm_backward(op_context(*this), din, dw, db, dout, in, w, mean, rstd, T, D,
                          accumulate_din);
}
void CpuBackend::attention_forward(float* ctx, float* probs, const float* qkv, const float* mask,
                                   int B, int L, int H, int Dh, DropoutSpec dropout) {
  cpu::attention_forward(op_context(*this), ctx, probs, qkv, mask, B, L, H, Dh, dropout);
}
void CpuBackend::attention_backward(float* dqkv, const float* dctx, const float* qkv,
                                    const float* probs, const float* mask, int B, int L, int H,
                                    int Dh, DropoutSpec dropout, float* scratch) {
  cpu::attention_backward(op_context(*this), dqkv, dctx, qkv, probs, mask, B, L, H, Dh, dropout,
                          scratch);
}
void CpuBackend::dropout_forward(float* out, const float* in, size_t n, DropoutSpec d) {
  cpu::dropout_forward(op_context(*this), out, in, n, d);
}
void CpuBackend::dropout_backward(float* din, const float* dout, size_t n, DropoutSpec d) {
  cpu::dropout_backward(op_context(*this), din, dout, n, d);
}
void CpuBackend::add(float* out, const float* a, const float* b, size_t n) {
  cpu::add(op_context(*this), out, a, b, n);
}
void CpuBackend::cross_entropy_forward(float* losses, float* probs, const float* logits,
                                       const int32_t* labels, int N, int C) {
  cpu::cross_entropy_forward(op_context(*this), losses, probs, logits, labels, N, C);
}
void CpuBackend::cross_entropy_backward(float* dlogits, const float* probs,
                                        const int32_t* labels, int N, int C, float scale) {
  cpu::cross_entropy_backward(op_context(*this), dlogits, probs, labels, N, C, scale);
}

}  // namespace af::cpu
