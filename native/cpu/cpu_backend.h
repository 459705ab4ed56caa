// The CPU backend: Backend ops on host memory, threaded over rows with a ThreadPool, GEMMs
// through cpu/gemm.h (OpenBLAS or the built-in SIMD kernels, switchable at run time).
#pragma once
#include <memory>

#include "../core/backend.h"
#include "gemm.h"
#include "thread_pool.h"

namespace af::cpu {

class CpuBackend final : public Backend {
 public:
  // threads <= 0 means one per available core. The provider defaults to the fastest one
  // compiled in for this CPU (see default_gemm_provider()).
  explicit CpuBackend(int threads = 0);
  ~CpuBackend() override;

  std::string name() const override { return "cpu"; }
  int threads() const { return pool_->threads(); }
  ThreadPool& pool() { return *pool_; }
  const GemmConfig& gemm_config() const { return gemm_; }
  // Throws Error(Unsupported) for OpenBlas when not compiled in, or an ISA the CPU lacks.
  void set_gemm_provider(GemmProvider provider);
  void set_isa(Isa isa);  // for tests and benchmarks: force a narrower kernel set

  void* alloc_bytes(size_t bytes) override;
  void free_bytes(void* p) override;
  void copy_to_device(void* dst, const void* host_src, size_t bytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy_device(void* dst, const void* src, size_t bytes) override;
  void zero(void* p, size_t bytes) override;

  void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
            const float* B, int ldb, float beta, float* C, int ldc) override;
  void gemm_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, long long stride_a, const float* B, int ldb, long long stride_b,
                    float beta, float* C, int ldc, long long stride_c, int batch) override;

  void linear_forward(float* out, float* preact, const float* in, const float* W, const float* b,
                      int T, int I, int O, Activation act) override;
  void linear_backward(float* din, float* dW, float* db, const float* dout, const float* in,
                       const float* W, int T, int I, int O, bool accumulate_din) override;
  void activation_forward(float* out, const float* in, size_t n, Activation act) override;
  void activation_backward(float* din, const float* dout, const float* in, size_t n,
                           Activation act) override;
  void embeddings_forward(float* out, const int32_t* ids, const int32_t* types, const float* wte,
                          const float* wpe, const float* wtt, int B, int L, int D) override;
  void embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                           const int32_t* ids, const int32_t* types, int B, int L,
                           int D) override;
  void layernorm_forward(float* out, float* mean, float* rstd, const float* in, const float* w,
                         const float* b, int T, int D, float eps) override;
  void layernorm_backward(float* din, float* dw, float* db, const float* dout, const float* in,
                          const float* w, const float* mean, const float* rstd, int T, int D,
                          bool accumulate_din) override;
  void attention_forward(float* ctx, float* probs, const float* qkv, const float* mask, int B,
                         int L, int H, int Dh, DropoutSpec dropout) override;
  void attention_backward(float* dqkv, const float* dctx, const float* qkv, const float* probs,
                          const float* mask, int B, int L, int H, int Dh, DropoutSpec dropout,
                          float* scratch) override;
  void dropout_forward(float* out, const float* in, size_t n, DropoutSpec d) override;
  void dropout_backward(float* din, const float* dout, size_t n, DropoutSpec d) override;
  void add(float* out, const float* a, const float* b, size_t n) override;
  void cross_entropy_forward(float* losses, float* probs, const float* logits,
                             const int32_t* labels, int N, int C) override;
  void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* labels, int N,
                              int C, float scale) override;

  // cpu_backend_fusion.cpp
  void fusion_softmax_forward(float* probs, const float* scores, const float* row_bias, int T,
                              int N, float inv_temperature, DropoutSpec dropout) override;
  void fusion_softmax_backward(float* dscores, float* drow_bias, const float* dprobs,
                               const float* probs, int T, int N, float inv_temperature,
                               DropoutSpec dropout) override;
  void block_dot(float* out, const float* a, const float* b, const int32_t* offsets, int T,
                 int R, int N, bool accumulate) override;
  void block_scale(float* out, const float* in, const float* scale, const int32_t* offsets,
                   int T, int R, int N) override;
  void copy_rows(float* dst, size_t dst_stride, const float* src, size_t src_stride, int rows,
                 int cols, bool accumulate) override;
  double sum_squares(const float* x, size_t n) override;
  void scale(float* x, size_t n, float s) override;
  double identity_regularizer(float* grad, const float* W, int D, float coeff) override;
  void adamw_update(float* p, const float* g, float* m, float* v, size_t n, float lr, float beta1,
                    float beta2, float eps, float weight_decay, float bc1, float bc2) override;

 private:
  std::unique_ptr<ThreadPool> pool_;
  GemmConfig gemm_;
  Isa max_isa_;
};

// OpenBLAS when compiled in and faster for this CPU, else the built-in kernels.
GemmProvider default_gemm_provider();
// Number of usable cores (affinity-aware).
int available_cores();

}  // namespace af::cpu
