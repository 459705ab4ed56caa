// Elementwise ops: activations, dropout, add. Threaded over contiguous chunks; every element's
// value depends only on its own inputs (and, for dropout, its counter), never on the split.
#include <cstring>

#include "ops.h"

namespace af::cpu {

namespace {
constexpr size_t kHeavyChunk = 8192;   // activations: ~10-60 flops per value
constexpr size_t kLightChunk = 32768;  // add, dropout, copies: memory bound
}  // namespace

void activation_forward(const OpContext& c, float* out, const float* in, size_t n,
                        Activation act) {
  const int a = static_cast<int>(act);
  c.pool.parallel_for(n, kHeavyChunk, [&](int, size_t b, size_t e) {
    c.k.act_forward(a, out + b, in + b, e - b);
  });
}

void activation_backward(const OpContext& c, float* din, const float* dout, const float* in,
                         size_t n, Activation act) {
  const int a = static_cast<int>(act);
  c.pool.parallel_for(n, kHeavyChunk, [&](int, size_t b, size_t e) {
    c.k.act_backward(a, din + b, dout + b, in + b, e - b);
  });
}

// Dropout forward and backward are the same map: keep * value / (1 - p), with the mask of
// element i drawn from counter offset + i.
static void apply_dropout(const OpContext& c, float* out, const float* in, size_t n,
                          DropoutSpec d) {
  if (!d.active()) {
    if (out != in) std::memmove(out, in, n * sizeof(float));
    return;
  }
  const float scale = dropout_scale(d.p);
  c.pool.parallel_for(n, kLightChunk, [&](int, size_t b, size_t e) {
    c.k.dropout(out + b, in + b, e - b, d.seed, d.offset + b, d.p, scale);
  });
}

void dropout_forward(const OpContext& c, float* out, const float* in, size_t n, DropoutSpec d) {
  apply_dropout(c, out, in, n, d);
}

void dropout_backward(const OpContext& c, float* din, const float* dout, size_t n,
                      DropoutSpec d) {
  apply_dropout(c, din, dout, n, d);
}

void add(const OpContext& c, float* out, const float* a, const float* b, size_t n) {
  if (b == nullptr) {  // out += a
    b = a;
    a = out;
  }
  c.pool.parallel_for(n, kLightChunk, [&](int, size_t s, size_t e) {
    c.k.add(out + s, a + s, b + s, e - s);
  });
}

}  // namespace af::cpu
