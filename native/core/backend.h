// The Backend interface: device memory plus every op the model graphs use, each as a
// forward/backward pair on raw device buffers. The CPU backend (native/cpu) fills it now; the
// CUDA backend (native/cuda) fills the same table later. The graphs in native/core only ever
// talk to this interface.
//
// Shape legend: B batch, L sequence length, T = B*L tokens, D hidden size, H heads,
// Dh = D/H head size, I/O a linear layer's in/out features, V vocabulary, P max positions,
// Y token types, N rows of logits, C classes. All matrices are row-major and contiguous.
//
// Gradient convention (docs/ARCHITECTURE.md, "The backend contract"): parameter gradients
// accumulate (+=); activation
// gradients are assigned unless the op takes `accumulate` (used along the residual stream).
// A null parameter-gradient pointer means "frozen": that gradient is not computed at all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace af {

enum class Activation { None, Gelu, Relu, Swish, Tanh };

// Counter-based dropout: element i of a call keeps its value iff
// uniform(seed, offset + i) >= p, and kept values are scaled by 1/(1-p). The same
// (seed, offset) regenerates the same mask in backward, on any backend and thread count.
struct DropoutSpec {
  float p = 0.0f;        // drop probability; 0 disables dropout
  uint64_t seed = 0;
  uint64_t offset = 0;   // first counter value of this call
  bool active() const { return p > 0.0f; }
};

struct GemmInfo {
  std::string provider;      // "builtin" or "openblas"
  std::string isa;           // "avx512", "avx2", "scalar"
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // ---- memory: device buffers (plain 64-byte aligned host memory on the CPU) ----
  virtual void* alloc_bytes(size_t bytes) = 0;  // throws Error(OutOfMemory)
  virtual void free_bytes(void* p) = 0;
  virtual void copy_to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void zero(void* p, size_t bytes) = 0;
  virtual void synchronize() {}

  // ---- GEMM: C[M,N] = alpha * op(A) op(B) + beta * C, op(A) [M,K], op(B) [K,N] ----
  virtual void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A,
                    int lda, const float* B, int ldb, float beta, float* C, int ldc) = 0;
  // The same for `batch` independent problems, matrix b at A + b*stride_a etc.
  virtual void gemm_batched(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                            const float* A, int lda, long long stride_a, const float* B, int ldb,
                            long long stride_b, float beta, float* C, int ldc, long long stride_c,
                            int batch) = 0;

  // ---- linear: out[T,O] = act(in[T,I] @ W[O,I]^T + b[O]) ----
  // With act != None, `preact` [T,O] receives the value before the activation (needed by
  // backward); it may be null when no backward will follow. b may be null.
  virtual void linear_forward(float* out, float* preact, const float* in, const float* W,
                              const float* b, int T, int I, int O, Activation act) = 0;
  // dout [T,O] is the gradient of the linear output *before* any activation.
  // din [T,I] = dout @ W (assigned, or added when accumulate_din); dW [O,I] += dout^T @ in;
  // db [O] += column sums of dout. Any of din, dW, db may be null (not computed).
  virtual void linear_backward(float* din, float* dW, float* db, const float* dout,
                               const float* in, const float* W, int T, int I, int O,
                               bool accumulate_din) = 0;

  // ---- elementwise activations over n values ----
  virtual void activation_forward(float* out, const float* in, size_t n, Activation act) = 0;
  // din = dout * act'(in) (assigned); din may alias dout.
  virtual void activation_backward(float* din, const float* dout, const float* in, size_t n,
                                   Activation act) = 0;

  // ---- embeddings: out[t,:] = wte[ids[t]] + wpe[t % L] + wtt[types[t]] ----
  // ids, types [T] int32 device buffers (types may be null: all zero). Ids are validated by
  // the caller.
  virtual void embeddings_forward(float* out, const int32_t* ids, const int32_t* types,
                                  const float* wte, const float* wpe, const float* wtt, int B,
                                  int L, int D) = 0;
  // Scatter-adds dout [T,D] into dwte [V,D], dwpe [P,D], dwtt [Y,D]; null pointers skip.
  virtual void embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                                   const int32_t* ids, const int32_t* types, int B, int L,
                                   int D) = 0;

  // ---- layer norm over the last dimension: out = (in - mean) * rstd * w + b ----
  // mean, rstd [T] are saved for backward (may be null in inference).
  virtual void layernorm_forward(float* out, float* mean, float* rstd, const float* in,
                                 const float* w, const float* b, int T, int D, float eps) = 0;
  // din [T,D] assigned (or added when accumulate_din); dw, db [D] accumulate; nulls skip.
  virtual void layernorm_backward(float* din, float* dw, float* db, const float* dout,
                                  const float* in, const float* w, const float* mean,
                                  const float* rstd, int T, int D, bool accumulate_din) = 0;

  // ---- multi-head self-attention core ----
  // qkv [T, 3D]: row t holds q (cols 0..D), k (D..2D), v (2D..3D); head h uses cols h*Dh..
  // mask [B,L] float, 1 = attend, 0 = padding key (score gets the lowest float, as HF does).
  // probs [B,H,L,L] receives softmax(q k^T / sqrt(Dh) + mask) before dropout (saved for
  // backward; required). ctx [T,D] = dropout(probs) @ v, heads concatenated.
  virtual void attention_forward(float* ctx, float* probs, const float* qkv, const float* mask,
                                 int B, int L, int H, int Dh, DropoutSpec dropout) = 0;
  // dqkv [T,3D] assigned from dctx [T,D], using the saved qkv and probs and the same dropout.
  // scratch must hold attention_backward_scratch(B, L, H) floats.
  virtual void attention_backward(float* dqkv, const float* dctx, const float* qkv,
                                  const float* probs, const float* mask, int B, int L, int H,
                                  int Dh, DropoutSpec dropout, float* scratch) = 0;
  static size_t attention_backward_scratch(int B, int L, int H) {
    return static_cast<size_t>(B) * H * L * L;
  }

  // ---- dropout (see DropoutSpec); out may alias in, din may alias dout ----
  virtual void dropout_forward(float* out, const float* in, size_t n, DropoutSpec d) = 0;
  virtual void dropout_backward(float* din, const float* dout, size_t n, DropoutSpec d) = 0;

  // ---- out = a + b over n values (out may alias a or b); out += a when b == nullptr ----
  virtual void add(float* out, const float* a, const float* b, size_t n) = 0;

  // ---- softmax cross-entropy over logits [N,C] with int32 labels [N] ----
  // losses [N] per row; probs [N,C] saved for backward. Labels outside [0,C) are an error
  // checked by the caller.
  virtual void cross_entropy_forward(float* losses, float* probs, const float* logits,
                                     const int32_t* labels, int N, int C) = 0;
  // dlogits [N,C] = scale * (probs - onehot(labels)), assigned.
  virtual void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* labels,
                                      int N, int C, float scale) = 0;

  // ---- AdapterFusion attention over N adapters: rows of [T,N] ----
  // (docs/ARCHITECTURE.md, "The regrouped fusion layer")
  // probs = softmax(dropout(scores + row_bias) * inv_temperature) per row. row_bias [T] may be
  // null. Dropout acts on the raw scores (dropped -> 0, kept scaled), as AdapterHub's does.
  virtual void fusion_softmax_forward(float* probs, const float* scores, const float* row_bias,
                                      int T, int N, float inv_temperature, DropoutSpec dropout) = 0;
  // dscores [T,N] assigned: the gradient w.r.t. (scores + row_bias); drow_bias [T] (nullable)
  // assigned: its row sums.
  virtual void fusion_softmax_backward(float* dscores, float* drow_bias, const float* dprobs,
                                       const float* probs, int T, int N, float inv_temperature,
                                       DropoutSpec dropout) = 0;
  // Column blocks of [T,R]: block n is columns [offsets[n], offsets[n+1]); offsets is N+1
  // int32 device values with offsets[0] = 0 and offsets[N] = R.
  // out [T,N]: out[t,n] (+)= sum over j in block n of a[t,j] * b[t,j].
  virtual void block_dot(float* out, const float* a, const float* b, const int32_t* offsets,
                         int T, int R, int N, bool accumulate) = 0;
  // out [T,R] = scale[t, block of j] * in[t,j]; out may alias in.
  virtual void block_scale(float* out, const float* in, const float* scale,
                           const int32_t* offsets, int T, int R, int N) = 0;

  // ---- strided rows: dst[r*dst_stride + c] (+)= src[r*src_stride + c], r < rows, c < cols ----
  virtual void copy_rows(float* dst, size_t dst_stride, const float* src, size_t src_stride,
                         int rows, int cols, bool accumulate) = 0;

  // ---- reductions and the optimiser ----
  virtual double sum_squares(const float* x, size_t n) = 0;
  virtual void scale(float* x, size_t n, float s) = 0;
  // The fusion value regulariser: grad [D,D] += coeff * 2 (W - I) (when grad is not null);
  // returns coeff * ||I - W||^2.
  virtual double identity_regularizer(float* grad, const float* W, int D, float coeff) = 0;
  // AdamW as PyTorch computes it: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  // p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), with bc_i = 1 - b_i^step.
  virtual void adamw_update(float* p, const float* g, float* m, float* v, size_t n, float lr,
                            float beta1, float beta2, float eps, float weight_decay, float bc1,
                            float bc2) = 0;
};

}  // namespace af
