#include "reference_ops.h"

#include <cmath>
#include <limits>
#include <vector>

#include "../core/dropout_rng.h"

namespace af::ref {

namespace {
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

double activate(Activation act, double x) {
  switch (act) {
    case Activation::Gelu: return 0.5 * x * (1.0 + std::erf(x / kSqrt2));
    case Activation::Relu: return x > 0 ? x : 0.0;
    case Activation::Swish: return x * sigmoid(x);
    case Activation::Tanh: return std::tanh(x);
    case Activation::None: break;
  }
  return x;
}

double activate_grad(Activation act, double x) {
  switch (act) {
    case Activation::Gelu:  // Phi(x) + x phi(x)
      return 0.5 * (1.0 + std::erf(x / kSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
    case Activation::Relu: return x > 0 ? 1.0 : 0.0;
    case Activation::Swish: {
      double s = sigmoid(x);
      return s + x * s * (1.0 - s);
    }
    case Activation::Tanh: {
      double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case Activation::None: break;
  }
  return 1.0;
}

bool dropout_keeps(const DropoutSpec& d, uint64_t i) {
  return !d.active() || dropout_keep(d.seed, d.offset + i, d.p);
}

double dropout_scale(const DropoutSpec& d) { return d.active() ? 1.0 / (1.0 - d.p) : 1.0; }

// ---- linear: out[t,o] = act(sum_i in[t,i] W[o,i] + b[o]) ----

void linear_forward(double* out, double* preact, const double* in, const double* W,
                    const double* b, int T, int I, int O, Activation act) {
  for (int t = 0; t < T; ++t)
    for (int o = 0; o < O; ++o) {
      double s = b ? b[o] : 0.0;
      for (int i = 0; i < I; ++i) s += in[t * I + i] * W[o * I + i];
      if (preact && act != Activation::None) preact[t * O + o] = s;
      out[t * O + o] = activate(act, s);
    }
}

void linear_backward(double* din, double* dW, double* db, const double* dout, const double* in,
                     const double* W, int T, int I, int O, bool accumulate_din) {
  if (din)
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < I; ++i) {
        double s = 0;
        for (int o = 0; o < O; ++o) s += dout[t * O + o] * W[o * I + i];
        din[t * I + i] = accumulate_din ? din[t * I + i] + s : s;
      }
  if (dW)
    for (int o = 0; o < O; ++o)
      for (int i = 0; i < I; ++i)
        for (int t = 0; t < T; ++t) dW[o * I + i] += dout[t * O + o] * in[t * I + i];
  if (db)
    for (int o = 0; o < O; ++o)
      for (int t = 0; t < T; ++t) db[o] += dout[t * O + o];
}

void activation_forward(double* out, const double* in, size_t n, Activation act) {
  for (size_t i = 0; i < n; ++i) out[i] = activate(act, in[i]);
}

void activation_backward(double* din, const double* dout, const double* in, size_t n,
                         Activation act) {
  for (size_t i = 0; i < n; ++i) din[i] = dout[i] * activate_grad(act, in[i]);
}

// ---- embeddings ----

void embeddings_forward(double* out, const int32_t* ids, const int32_t* types,
                        const double* wte, const double* wpe, const double* wtt, int B, int L,
                        int D) {
  for (int t = 0; t < B * L; ++t) {
    const int ty = types ? types[t] : 0;
    for (int d = 0; d < D; ++d)
      out[t * D + d] = wte[ids[t] * D + d] + wtt[ty * D + d] + wpe[(t % L) * D + d];
  }
}

void embeddings_backward(double* dwte, double* dwpe, double* dwtt, const double* dout,
                         const int32_t* ids, const int32_t* types, int B, int L, int D) {
  for (int t = 0; t < B * L; ++t) {
    const int ty = types ? types[t] : 0;
    for (int d = 0; d < D; ++d) {
      if (dwte) dwte[ids[t] * D + d] += dout[t * D + d];
      if (dwpe) dwpe[(t % L) * D + d] += dout[t * D + d];
      if (dwtt) dwtt[ty * D + d] += dout[t * D + d];
    }
  }
}

// ---- layer norm: y = (x - mean) / sqrt(var + eps) * w + b, var biased ----

void layernorm_forward(double* out, double* mean, double* rstd, const double* in,
                       const double* w, const double* b, int T, int D, double eps) {
  for (int t = 0; t < T; ++t) {
    const double* x = in + t * D;
    double m = 0;
    for (int d = 0; d < D; ++d) m += x[d];
    m /= D;
    double v = 0;
    for (int d = 0; d < D; ++d) v += (x[d] - m) * (x[d] - m);
    v /= D;
    const double r = 1.0 / std::sqrt(v + eps);
    for (int d = 0; d < D; ++d) out[t * D + d] = (x[d] - m) * r * w[d] + b[d];
    if (mean) mean[t] = m;
    if (rstd) rstd[t] = r;
  }
}

void layernorm_backward(double* din, double* dw, double* db, const double* dout,
                        const double* in, const double* w, const double* mean,
                        const double* rstd, int T, int D, bool accumulate_din) {
  for (int t = 0; t < T; ++t) {
    const double* x = in + t * D;
    const double* g = dout + t * D;
    const double m = mean[t], r = rstd[t];
    // with xhat = (x - m) r and gx = g w:  dx = r (gx - mean(gx) - xhat mean(gx xhat))
    double mg = 0, mgx = 0;
    for (int d = 0; d < D; ++d) {
      const double xhat = (x[d] - m) * r;
      mg += g[d] * w[d];
      mgx += g[d] * w[d] * xhat;
    }
    mg /= D;
    mgx /= D;
    for (int d = 0; d < D; ++d) {
      const double xhat = (x[d] - m) * r;
      if (din) {
        const double dx = r * (g[d] * w[d] - mg - xhat * mgx);
        din[t * D + d] = accumulate_din ? din[t * D + d] + dx : dx;
      }
      if (dw) dw[d] += g[d] * xhat;
      if (db) db[d] += g[d];
    }
  }
}

// ---- attention, literally as Hugging Face's BertSelfAttention (eager) ----

void attention_forward(double* ctx, double* probs, const double* qkv, const double* mask, int B,
                       int L, int H, int Dh, DropoutSpec dropout) {
  const int D = H * Dh;
  const double lowest = std::numeric_limits<float>::lowest();
  const double keep_scale = dropout_scale(dropout);
  std::vector<double> s(L);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < L; ++i) {
        const double* q = qkv + (b * L + i) * 3 * D + h * Dh;
        double mx = -INFINITY;
        for (int j = 0; j < L; ++j) {
          const double* k = qkv + (b * L + j) * 3 * D + D + h * Dh;
          double dot = 0;
          for (int d = 0; d < Dh; ++d) dot += q[d] * k[d];
          s[j] = dot / std::sqrt(static_cast<double>(Dh));
          if (mask && mask[b * L + j] == 0) s[j] += lowest;  // (1 - mask) * finfo.min
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < L; ++j) sum += std::exp(s[j] - mx);
        double* p = probs + ((static_cast<size_t>(b) * H + h) * L + i) * L;
        for (int j = 0; j < L; ++j) p[j] = std::exp(s[j] - mx) / sum;
        for (int d = 0; d < Dh; ++d) {
          double acc = 0;
          for (int j = 0; j < L; ++j) {
            const size_t flat = ((static_cast<size_t>(b) * H + h) * L + i) * L + j;
            const double pd = dropout_keeps(dropout, flat) ? p[j] * keep_scale : 0.0;
            acc += pd * qkv[(b * L + j) * 3 * D + 2 * D + h * Dh + d];
          }
          ctx[(b * L + i) * D + h * Dh + d] = acc;
        }
      }
}

void attention_backward(double* dqkv, const double* dctx, const double* qkv,
                        const double* probs, const double* mask, int B, int L, int H, int Dh,
                        DropoutSpec dropout) {
  (void)mask;  // enters through probs
  const int D = H * Dh;
  const double scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  const double keep_scale = dropout_scale(dropout);
  for (size_t i = 0; i < static_cast<size_t>(B) * L * 3 * D; ++i) dqkv[i] = 0;
  std::vector<double> dp(L), pd(L);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int i = 0; i < L; ++i) {
        const double* p = probs + ((static_cast<size_t>(b) * H + h) * L + i) * L;
        const double* g = dctx + (b * L + i) * D + h * Dh;
        // through ctx = drop(P) V:  dV += drop(P)^T dctx,  d drop(P) = dctx V^T
        for (int j = 0; j < L; ++j) {
          const size_t flat = ((static_cast<size_t>(b) * H + h) * L + i) * L + j;
          const double m = dropout_keeps(dropout, flat) ? keep_scale : 0.0;
          const double* v = qkv + (b * L + j) * 3 * D + 2 * D + h * Dh;
          double* dv = dqkv + (b * L + j) * 3 * D + 2 * D + h * Dh;
          double dot = 0;
          for (int d = 0; d < Dh; ++d) {
            dot += g[d] * v[d];
            dv[d] += p[j] * m * g[d];
          }
          dp[j] = dot * m;
        }
        // through the softmax: dS = P (dP - sum(dP P)), then through S = q k / sqrt(Dh)
        double c = 0;
        for (int j = 0; j < L; ++j) c += dp[j] * p[j];
        const double* q = qkv + (b * L + i) * 3 * D + h * Dh;
        double* dq = dqkv + (b * L + i) * 3 * D + h * Dh;
        for (int j = 0; j < L; ++j) {
          const double ds = p[j] * (dp[j] - c) * scale;
          const double* k = qkv + (b * L + j) * 3 * D + D + h * Dh;
          double* dk = dqkv + (b * L + j) * 3 * D + D + h * Dh;
          for (int d = 0; d < Dh; ++d) {
            dq[d] += ds * k[d];
            dk[d] += ds * q[d];
          }
        }
      }
}

// ---- dropout, add ----

void dropout_forward(double* out, const double* in, size_t n, DropoutSpec d) {
  const double s = dropout_scale(d);
  for (size_t i = 0; i < n; ++i) out[i] = dropout_keeps(d, i) ? in[i] * s : 0.0;
}

void dropout_backward(double* din, const double* dout, size_t n, DropoutSpec d) {
  dropout_forward(din, dout, n, d);
}

void add(double* out, const double* a, const double* b, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = b ? a[i] + b[i] : out[i] + a[i];
}

// ---- cross-entropy: loss = logsumexp(x) - x[label] ----

void cross_entropy_forward(double* losses, double* probs, const double* logits,
                           const int32_t* labels, int N, int C) {
  for (int r = 0; r < N; ++r) {
    const double* x = logits + r * C;
    double mx = -INFINITY;
    for (int c = 0; c < C; ++c) mx = std::max(mx, x[c]);
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += std::exp(x[c] - mx);
    const double lse = mx + std::log(sum);
    losses[r] = lse - x[labels[r]];
    for (int c = 0; c < C; ++c) probs[r * C + c] = std::exp(x[c] - lse);
  }
}

void cross_entropy_backward(double* dlogits, const double* probs, const int32_t* labels, int N,
                            int C, double scale) {
  for (int r = 0; r < N; ++r)
    for (int c = 0; c < C; ++c)
      dlogits[r * C + c] = scale * (probs[r * C + c] - (c == labels[r] ? 1.0 : 0.0));
}

}  // namespace af::ref
