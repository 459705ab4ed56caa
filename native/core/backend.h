// The Backend interface: device memory plus every op the model graphs use, each as a
// forward/backward pair on raw device buffers. The CPU backend (native/cpu) fills it now; the
// CUDA backend (native/cuda) fills the same table later. The graphs in native/core only ever
// talk to this interface.
//
// Shape legend: B batch, L sequence length, T = B*L tokens, D hidden size, H heads,
// Dh = D/H head size, I/O a linear layer's in/out features, V vocabulary, P max positions,
// Y token types, N rows of logits, C classes. All matrices are row-major and contiguous.
//
// Gradient convention (DESIGN.md §4): parameter gradients accumulate (+=); activation
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
};

}  // namespace af
