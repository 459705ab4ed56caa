// The plain forms of every Backend op: straightforward double-precision loops, no threads, no
// SIMD, written to be read. They are the oracle for the CPU (and later CUDA) backends; their
// own backward passes are checked against finite differences of their forwards.
//
// Signatures mirror core/backend.h with double buffers; semantics are Hugging Face's
// BertModel (exact-erf GELU, biased-variance layer norm, padding keys + the lowest float,
// dropout on the attention probabilities). Gradient conventions as in backend.h: parameter
// gradients accumulate, activation gradients are assigned unless accumulate_din, null
// pointers skip.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/backend.h"

namespace af::ref {

double activate(Activation act, double x);
double activate_grad(Activation act, double x);  // d act / dx

// mask (true = keep) and scale of DropoutSpec for element `i` of a call
bool dropout_keeps(const DropoutSpec& d, uint64_t i);
double dropout_scale(const DropoutSpec& d);

void linear_forward(double* out, double* preact, const double* in, const double* W,
                    const double* b, int T, int I, int O, Activation act);
void linear_backward(double* din, double* dW, double* db, const double* dout, const double* in,
                     const double* W, int T, int I, int O, bool accumulate_din);

void activation_forward(double* out, const double* in, size_t n, Activation act);
void activation_backward(double* din, const double* dout, const double* in, size_t n,
                         Activation act);

void embeddings_forward(double* out, const int32_t* ids, const int32_t* types,
                        const double* wte, const double* wpe, const double* wtt, int B, int L,
                        int D);
void embeddings_backward(double* dwte, double* dwpe, double* dwtt, const double* dout,
                         const int32_t* ids, const int32_t* types, int B, int L, int D);

void layernorm_forward(double* out, double* mean, double* rstd, const double* in,
                       const double* w, const double* b, int T, int D, double eps);
void layernorm_backward(double* din, double* dw, double* db, const double* dout,
                        const double* in, const double* w, const double* mean,
                        const double* rstd, int T, int D, bool accumulate_din);

void attention_forward(double* ctx, double* probs, const double* qkv, const double* mask, int B,
                       int L, int H, int Dh, DropoutSpec dropout);
void attention_backward(double* dqkv, const double* dctx, const double* qkv,
                        const double* probs, const double* mask, int B, int L, int H, int Dh,
                        DropoutSpec dropout);

void dropout_forward(double* out, const double* in, size_t n, DropoutSpec d);
void dropout_backward(double* din, const double* dout, size_t n, DropoutSpec d);

void add(double* out, const double* a, const double* b, size_t n);

void cross_entropy_forward(double* losses, double* probs, const double* logits,
                           const int32_t* labels, int N, int C);
void cross_entropy_backward(double* dlogits, const double* probs, const int32_t* labels, int N,
                            int C, double scale);

}  // namespace af::ref
