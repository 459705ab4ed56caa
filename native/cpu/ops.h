// Internal to the CPU backend: the ops behind CpuBackend, one forward/backward pair per
// function, on raw host buffers (shape legend and gradient conventions as in
// core/backend.h). Each ops_*.cpp threads its op over rows with the pool and calls the row
// kernels of the ISA in the context; CpuBackend only dispatches here.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/backend.h"
#include "gemm.h"
#include "kernels.h"
#include "thread_pool.h"

namespace af::cpu {

static_assert(static_cast<int>(Activation::None) == kActNone &&
                  static_cast<int>(Activation::Gelu) == kActGelu &&
                  static_cast<int>(Activation::Relu) == kActRelu &&
                  static_cast<int>(Activation::Swish) == kActSwish &&
                  static_cast<int>(Activation::Tanh) == kActTanh,
              "ActKind must follow af::Activation");

// The kernel table for an ISA (the ISA must be supported by this CPU).
const Kernels& kernels_for(Isa isa);

// What every op needs: the threads, the GEMM configuration and the row kernels.
struct OpContext {
  ThreadPool& pool;
  const GemmConfig& gemm;
  const Kernels& k;
};

// ---- ops_linear.cpp ----
void linear_forward(const OpContext& c, float* out, float* preact, const float* in,
                    const float* W, const float* b, int T, int I, int O, Activation act);
void linear_backward(const OpContext& c, float* din, float* dW, float* db, const float* dout,
                     const float* in, const float* W, int T, int I, int O, bool accumulate_din);
// dst[C] += column sums of src[R,C], each column summed in a fixed order (independent of the
// thread count).
void column_sums_add(const OpContext& c, float* dst, const float* src, int R, int C);

// ---- ops_elementwise.cpp ----
void activation_forward(const OpContext& c, float* out, const float* in, size_t n,
                        Activation act);
void activation_backward(const OpContext& c, float* din, const float* dout, const float* in,
                         size_t n, Activation act);
void dropout_forward(const OpContext& c, float* out, const float* in, size_t n, DropoutSpec d);
void dropout_backward(const OpContext& c, float* din, const float* dout, size_t n,
                      DropoutSpec d);
void add(const OpContext& c, float* out, const float* a, const float* b, size_t n);
// 1 / (1 - p) as every backend scales kept values.
inline float dropout_scale(float p) { return 1.0f / (1.0f - p); }

// ---- ops_embedding.cpp ----
void embeddings_forward(const OpContext& c, float* out, const int32_t* ids,
                        const int32_t* types, const float* wte, const float* wpe,
                        const float* wtt, int B, int L, int D);
void embeddings_backward(const OpContext& c, float* dwte, float* dwpe, float* dwtt,
                         const float* dout, const int32_t* ids, const int32_t* types, int B,
                         int L, int D);

// ---- ops_norm.cpp ----
void layernorm_forward(const OpContext& c, float* out, float* mean, float* rstd,
                       const float* in, const float* w, const float* b, int T, int D,
                       float eps);
void layernorm_backward(const OpContext& c, float* din, float* dw, float* db,
                        const float* dout, const float* in, const float* w, const float* mean,
                        const float* rstd, int T, int D, bool accumulate_din);

// ---- ops_attention.cpp ----
void attention_forward(const OpContext& c, float* ctx, float* probs, const float* qkv,
                       const float* mask, int B, int L, int H, int Dh, DropoutSpec dropout);
void attention_backward(const OpContext& c, float* dqkv, const float* dctx, const float* qkv,
                        const float* probs, const float* mask, int B, int L, int H, int Dh,
                        DropoutSpec dropout, float* scratch);

// ---- ops_loss.cpp ----
void cross_entropy_forward(const OpContext& c, float* losses, float* probs, const float* logits,
                           const int32_t* labels, int N, int C);
void cross_entropy_backward(const OpContext& c, float* dlogits, const float* probs,
                            const int32_t* labels, int N, int C, float scale);

// ---- ops_fusion.cpp ----
void fusion_softmax_forward(const OpContext& c, float* probs, const float* scores,
                            const float* row_bias, int T, int N, float inv_temperature,
                            DropoutSpec d);
void fusion_softmax_backward(const OpContext& c, float* dscores, float* drow_bias,
                             const float* dprobs, const float* probs, int T, int N,
                             float inv_temperature, DropoutSpec d);
void block_dot(const OpContext& c, float* out, const float* a, const float* b,
               const int32_t* offsets, int T, int R, int N, bool accumulate);
void block_scale(const OpContext& c, float* out, const float* in, const float* scale,
                 const int32_t* offsets, int T, int R, int N);
void copy_rows(const OpContext& c, float* dst, size_t dst_stride, const float* src,
               size_t src_stride, int rows, int cols, bool accumulate);

// ---- ops_optim.cpp ----
double sum_squares(const OpContext& c, const float* x, size_t n);
void scale(const OpContext& c, float* x, size_t n, float s);
double identity_regularizer(const OpContext& c, float* grad, const float* W, int D, float coeff);
void adamw_update(const OpContext& c, float* p, const float* g, float* m, float* v, size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, float bc1,
                  float bc2);

}  // namespace af::cpu
