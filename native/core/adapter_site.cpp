#include "adapter_site.h"

#include "errors.h"

namespace af {

// ---------------------------------------------------------------- shared pre/post

const float* AdapterSite::pre_forward(const float* h, const float* x, const LayerNormRef& ln,
                                      const SiteFlow& f, SiteActs& a, const float** residual) {
  const size_t TD = size_t(T_) * D_;
  const float* hs = h;
  if (f.ln_before) {
    be_.add(a.pre_in, h, x, TD);
    be_.layernorm_forward(a.hs, a.pre_mean, a.pre_rstd, a.pre_in, ln.w, ln.b, T_, D_, ln.eps);
    hs = a.hs;
  }
  switch (f.residual) {
    case AdapterResidual::SublayerOutput: *residual = h; break;
    case AdapterResidual::PostAdd: *residual = a.pre_in; break;
    case AdapterResidual::AdapterInput: *residual = hs; break;
  }
  return hs;
}

void AdapterSite::post_forward(const float* x, const LayerNormRef& ln, const SiteFlow& f, SiteActs& a) {
  const size_t TD = size_t(T_) * D_;
  if (f.ln_after) {
    be_.add(a.post_in, a.post_in, x, TD);
    be_.layernorm_forward(a.out, a.post_mean, a.post_rstd, a.post_in, ln.w, ln.b, T_, D_, ln.eps);
  } else {
    be_.copy_device(a.out, a.post_in, TD * sizeof(float));  // AdapterHub: out = a, no x
  }
}

const float* AdapterSite::post_backward(const float* dout, const LayerNormRef& ln, const SiteFlow& f,
                                        const SiteActs& a, float* da_buf, float* dx) {
  const size_t TD = size_t(T_) * D_;
  if (!f.ln_after) {
    be_.zero(dx, TD * sizeof(float));
    return dout;
  }
  be_.layernorm_backward(da_buf, ln.dw, ln.db, dout, a.post_in, ln.w, a.post_mean, a.post_rstd, T_, D_, false);
  be_.copy_device(dx, da_buf, TD * sizeof(float));
  return da_buf;
}

void AdapterSite::pre_backward(const float* dhs_in, const float* da, const LayerNormRef& ln,
                               const SiteFlow& f, const SiteActs& a, float* dh, float* dx,
                               float* dhs) {
  // dhs_in == dhs is allowed: it is scratch we may modify.
  const size_t TD = size_t(T_) * D_;
  if (dhs != dhs_in) be_.copy_device(dhs, dhs_in, TD * sizeof(float));
  if (f.residual == AdapterResidual::AdapterInput) be_.add(dhs, dhs, da, TD);
  if (f.ln_before) {
    be_.layernorm_backward(dh, ln.dw, ln.db, dhs, a.pre_in, ln.w, a.pre_mean, a.pre_rstd, T_, D_, false);
    if (f.residual == AdapterResidual::PostAdd) be_.add(dh, dh, da, TD);
    be_.add(dx, dx, dh, TD);  // pre_in = h + x
  } else {
    be_.copy_device(dh, dhs, TD * sizeof(float));  // hs = h
  }
  if (f.residual == AdapterResidual::SublayerOutput) be_.add(dh, dh, da, TD);
}

// ---------------------------------------------------------------- plain

void AdapterSite::plain_forward(const float* h, const float* x, const LayerNormRef& ln, SiteActs& a) {
  be_.add(a.post_in, h, x, size_t(T_) * D_);
  be_.layernorm_forward(a.out, a.post_mean, a.post_rstd, a.post_in, ln.w, ln.b, T_, D_, ln.eps);
}

float* AdapterSite::plain_backward(const float* dout, const LayerNormRef& ln, const SiteActs& a, float* dh) {
  be_.layernorm_backward(dh, ln.dw, ln.db, dout, a.post_in, ln.w, a.post_mean, a.post_rstd, T_, D_, false);
  return dh;
}

// ---------------------------------------------------------------- one adapter

void AdapterSite::adapter_forward(const float* h, const float* x, const LayerNormRef& ln,
                                  const SiteFlow& f, const AdapterRef& w, DropoutSpec drop,
                                  SiteActs& a) {
  const size_t TD = size_t(T_) * D_;
  const float* residual = nullptr;
  const float* hs = pre_forward(h, x, ln, f, a, &residual);
  // d = act(hs Wd^T + bd) [T,r]; up = scaling (d Wu^T + bu) [T,D]; a = dropout(up) + residual
  be_.linear_forward(a.d, a.z, hs, w.down_w, w.down_b, T_, D_, w.r, w.act);
  be_.linear_forward(a.post_in, nullptr, a.d, w.up_w, w.up_b, T_, w.r, D_, Activation::None);
  if (w.scaling != 1.0f) be_.scale(a.post_in, TD, w.scaling);
  be_.dropout_forward(a.post_in, a.post_in, TD, drop);
  be_.add(a.post_in, a.post_in, residual, TD);
  post_forward(x, ln, f, a);
}

float* AdapterSite::adapter_backward(const float* dout, const float* h, const LayerNormRef& ln,
                                     const SiteFlow& f, const AdapterRef& w, DropoutSpec drop,
                                     const SiteActs& a, float* dh, float* dx, const SiteScratch& s) {
  const size_t TD = size_t(T_) * D_;
  const float* da = post_backward(dout, ln, f, a, s.a, dx);
  // d(up before dropout and scaling)
  const float* dup = da;
  if (drop.active() || w.scaling != 1.0f) {
    if (drop.active()) be_.dropout_backward(s.b, da, TD, drop);
    else be_.copy_device(s.b, da, TD * sizeof(float));
    if (w.scaling != 1.0f) be_.scale(s.b, TD, w.scaling);
    dup = s.b;
  }
  be_.linear_backward(s.r1, w.g_up_w, w.g_up_b, dup, a.d, w.up_w, T_, w.r, D_, false);
  be_.activation_backward(s.r1, s.r1, a.z, size_t(T_) * w.r, w.act);
  const float* hs = f.ln_before ? a.hs : h;
  be_.linear_backward(s.c, w.g_down_w, w.g_down_b, s.r1, hs, w.down_w, T_, D_, w.r, false);
  pre_backward(s.c, da, ln, f, a, dh, dx, s.c);
  return dx;
}

// ---------------------------------------------------------------- fusion, regrouped

void AdapterSite::fusion_forward(const float* h, const float* x, const LayerNormRef& ln,
                                 const SiteFlow& f, const FusionRef& w, SiteActs& a) {
  const int T = T_, D = D_, N = w.N, R = w.R;
  const size_t TD = size_t(T) * D;
  const float* residual = nullptr;
  const float* hs = pre_forward(h, x, ln, f, a, &residual);
  const float* qsrc = f.query_before_ln ? h : hs;
  // All N bottlenecks in one GEMM: d = act(hs [Wd_1; ...; Wd_N]^T + bd) [T,R].
  be_.linear_forward(a.d, a.z, hs, w.down_all, w.down_b_all, T, D, R, w.act);
  const float* q = qsrc;
  if (w.has_query) {
    be_.linear_forward(a.q, nullptr, qsrc, w.q_w, w.q_b, T, D, D, Activation::None);
    q = a.q;
  }
  // s_n = q.(Wk up_n + bk) = (q Wk).up_n + q.bk; up_n = Wu_n d_n + bu_n.
  const float* qp = q;
  const float* row_bias = nullptr;
  if (w.has_key) {
    be_.gemm(false, false, T, D, D, 1.0f, q, D, w.k_w, D, 0.0f, a.qp, D);
    be_.gemm(false, false, T, 1, D, 1.0f, q, D, w.k_b, 1, 0.0f, a.row_bias, 1);
    qp = a.qp;
    row_bias = a.row_bias;
  }
  be_.gemm(false, false, T, R, D, 1.0f, qp, D, w.up_all, R, 0.0f, a.G, R);
  be_.gemm(false, true, T, N, D, 1.0f, qp, D, w.up_b_all, D, 0.0f, a.scores, N);
  be_.block_dot(a.scores, a.G, a.d, w.offsets, T, R, N, true);
  be_.fusion_softmax_forward(a.probs, a.scores, row_bias, T, N, w.inv_temperature, w.dropout);
  // u = sum_n p_n up_n = [Wu_1 ... Wu_N] (p (.) d) + B_up^T p, without any [T,N,D] tensor.
  be_.block_scale(a.tmp, a.d, a.probs, w.offsets, T, R, N);
  be_.gemm(false, true, T, D, R, 1.0f, a.tmp, R, w.up_all, R, 0.0f, a.u, D);
  be_.gemm(false, false, T, D, N, 1.0f, a.probs, N, w.up_b_all, D, 1.0f, a.u, D);
  if (w.has_value) be_.linear_forward(a.post_in, nullptr, a.u, w.v_w, nullptr, T, D, D, Activation::None);
  else be_.copy_device(a.post_in, a.u, TD * sizeof(float));
  be_.add(a.post_in, a.post_in, residual, TD);
  post_forward(x, ln, f, a);
}

void AdapterSite::fusion_forward_folded(const float* h, const float* x, const LayerNormRef& ln,
                                        const SiteFlow& f, const FusionRef& w, SiteActs& a) {
  const int T = T_, D = D_, N = w.N, R = w.R;
  const size_t TD = size_t(T) * D;
  const float* residual = nullptr;
  const float* hs = pre_forward(h, x, ln, f, a, &residual);
  const float* qsrc = f.query_before_ln ? h : hs;
  be_.linear_forward(a.d, nullptr, hs, w.down_all, w.down_b_all, T, D, R, w.act);
  be_.linear_forward(a.G, nullptr, qsrc, w.fold_g_w, w.fold_g_b, T, D, R, Activation::None);
  be_.linear_forward(a.scores, nullptr, qsrc, w.fold_s_w, w.fold_s_b, T, D, N, Activation::None);
  be_.linear_forward(a.row_bias, nullptr, qsrc, w.fold_r_w, w.fold_r_b, T, D, 1, Activation::None);
  be_.block_dot(a.scores, a.G, a.d, w.offsets, T, R, N, true);
  be_.fusion_softmax_forward(a.probs, a.scores, a.row_bias, T, N, w.inv_temperature, DropoutSpec{});
  be_.block_scale(a.tmp, a.d, a.probs, w.offsets, T, R, N);
  be_.gemm(false, true, T, D, R, 1.0f, a.tmp, R, w.vup, R, 0.0f, a.post_in, D);
  be_.gemm(false, false, T, D, N, 1.0f, a.probs, N, w.vup_b, D, 1.0f, a.post_in, D);
  be_.add(a.post_in, a.post_in, residual, TD);
  post_forward(x, ln, f, a);
}

float* AdapterSite::fusion_backward(const float* dout, const float* h, const LayerNormRef& ln,
                                    const SiteFlow& f, const FusionRef& w, const SiteActs& a,
                                    float* dh, float* dx, const SiteScratch& s) {
  const int T = T_, D = D_, N = w.N, R = w.R;
  const size_t TD = size_t(T) * D, TR = size_t(T) * R;
  const float* hs = f.ln_before ? a.hs : h;
  const float* qsrc = f.query_before_ln ? h : hs;
  const float* q = w.has_query ? a.q : qsrc;
  const float* qp = w.has_key ? a.qp : q;
  const float* da = post_backward(dout, ln, f, a, s.a, dx);

  // v = u Wv^T
  const float* du = da;
  if (w.has_value) {
    be_.linear_backward(s.b, w.g_v_w, nullptr, da, a.u, w.v_w, T, D, D, false);
    du = s.b;
  }
  // u = E Wu_all^T + p B_up with E = p (.) d: dE [T,R] -> r1, dp [T,N] -> n1, dd -> r2.
  be_.gemm(false, false, T, R, D, 1.0f, du, D, w.up_all, R, 0.0f, s.r1, R);
  be_.gemm(false, true, T, N, D, 1.0f, du, D, w.up_b_all, D, 0.0f, s.n1, N);
  be_.block_dot(s.n1, s.r1, a.d, w.offsets, T, R, N, true);
  be_.block_scale(s.r2, s.r1, a.probs, w.offsets, T, R, N);
  if (w.g_up_all) {
    be_.block_scale(s.r3, a.d, a.probs, w.offsets, T, R, N);
    be_.gemm(true, false, D, R, T, 1.0f, du, D, s.r3, R, 1.0f, w.g_up_all, R);
    be_.gemm(true, false, N, D, T, 1.0f, a.probs, N, du, D, 1.0f, w.g_up_b_all, D);
  }
  // softmax (and dropout on the scores): ds -> n2, d(row bias) -> t1.
  be_.fusion_softmax_backward(s.n2, w.has_key ? s.t1 : nullptr, s.n1, a.probs, T, N,
                              w.inv_temperature, w.dropout);
  // scores = q' B_up^T + blockdot(G, d) (+ q.bk): dG -> r1, dd += ds (.) G.
  be_.block_scale(s.r1, a.d, s.n2, w.offsets, T, R, N);
  be_.block_scale(s.r3, a.G, s.n2, w.offsets, T, R, N);
  be_.add(s.r2, s.r2, s.r3, TR);
  if (w.g_up_all) {
    be_.gemm(true, false, D, R, T, 1.0f, qp, D, s.r1, R, 1.0f, w.g_up_all, R);
    be_.gemm(true, false, N, D, T, 1.0f, s.n2, N, qp, D, 1.0f, w.g_up_b_all, D);
  }
  // dq' = dG Wu_all^T + ds B_up -> c
  be_.gemm(false, true, T, D, R, 1.0f, s.r1, R, w.up_all, R, 0.0f, s.c, D);
  be_.gemm(false, false, T, D, N, 1.0f, s.n2, N, w.up_b_all, D, 1.0f, s.c, D);
  const float* dq = s.c;
  if (w.has_key) {
    // q' = q Wk: dq = dq' Wk^T, dWk += q^T dq'; row bias q.bk: dq += drb bk^T, dbk += q^T drb.
    be_.gemm(false, true, T, D, D, 1.0f, s.c, D, w.k_w, D, 0.0f, s.e, D);
    if (w.g_k_w) be_.gemm(true, false, D, D, T, 1.0f, q, D, s.c, D, 1.0f, w.g_k_w, D);
    be_.gemm(false, false, T, D, 1, 1.0f, s.t1, 1, w.k_b, D, 1.0f, s.e, D);
    if (w.g_k_b) be_.gemm(true, false, D, 1, T, 1.0f, q, D, s.t1, 1, 1.0f, w.g_k_b, 1);
    dq = s.e;
  }
  const float* dqsrc = dq;
  if (w.has_query) {
    be_.linear_backward(s.b, w.g_q_w, w.g_q_b, dq, qsrc, w.q_w, T, D, D, false);
    dqsrc = s.b;
  }
  // d = act(z): dz = dd act'(z); dhs = dz Wd_all -> c
  be_.activation_backward(s.r2, s.r2, a.z, TR, w.act);
  be_.linear_backward(s.c, w.g_down_all, w.g_down_b_all, s.r2, hs, w.down_all, T, D, R, false);
  if (!f.query_before_ln) be_.add(s.c, s.c, dqsrc, TD);
  pre_backward(s.c, da, ln, f, a, dh, dx, s.c);
  if (f.query_before_ln) be_.add(dh, dh, dqsrc, TD);
  return dx;
}

// ---------------------------------------------------------------- fusion, direct form

void AdapterSite::fusion_direct_forward(const float* h, const float* x, const LayerNormRef& ln,
                                        const SiteFlow& f, const FusionRef& w, SiteActs& a) {
  const int T = T_, D = D_, N = w.N;
  const size_t TD = size_t(T) * D;
  const float* residual = nullptr;
  const float* hs = pre_forward(h, x, ln, f, a, &residual);
  const float* qsrc = f.query_before_ln ? h : hs;
  const float* q = qsrc;
  if (w.has_query) {
    be_.linear_forward(a.q, nullptr, qsrc, w.q_w, w.q_b, T, D, D, Activation::None);
    q = a.q;
  }
  size_t zoff = 0;
  for (int n = 0; n < N; ++n) {
    const AdapterRef& ad = w.adapters[n];
    float* up = a.up_all + n * TD;
    be_.linear_forward(a.d + zoff, a.z + zoff, hs, ad.down_w, ad.down_b, T, D, ad.r, ad.act);
    be_.linear_forward(up, nullptr, a.d + zoff, ad.up_w, ad.up_b, T, ad.r, D, Activation::None);
    if (ad.scaling != 1.0f) be_.scale(up, TD, ad.scaling);
    zoff += size_t(T) * ad.r;
    float* k = up;
    if (w.has_key) {
      k = a.k_all + n * TD;
      be_.linear_forward(k, nullptr, up, w.k_w, w.k_b, T, D, D, Activation::None);
    }
    if (w.has_value) be_.linear_forward(a.v_all + n * TD, nullptr, up, w.v_w, nullptr, T, D, D, Activation::None);
    // s[t,n] = q[t] . k_n[t]: a one-block dot into a column of scores.
    be_.block_dot(a.row_bias, q, k, w.unit_offsets, T, D, 1, false);
    be_.copy_rows(a.scores + n, N, a.row_bias, 1, T, 1, false);
  }
  be_.fusion_softmax_forward(a.probs, a.scores, nullptr, T, N, w.inv_temperature, w.dropout);
  be_.zero(a.post_in, TD * sizeof(float));
  for (int n = 0; n < N; ++n) {
    const float* v = w.has_value ? a.v_all + n * TD : a.up_all + n * TD;
    be_.copy_rows(a.row_bias, 1, a.probs + n, N, T, 1, false);
    be_.block_scale(a.u, v, a.row_bias, w.unit_offsets, T, D, 1);
    be_.add(a.post_in, a.post_in, a.u, TD);
  }
  be_.add(a.post_in, a.post_in, residual, TD);
  post_forward(x, ln, f, a);
}

float* AdapterSite::fusion_direct_backward(const float* dout, const float* h, const LayerNormRef& ln,
                                           const SiteFlow& f, const FusionRef& w, const SiteActs& a,
                                           float* dh, float* dx, const SiteScratch& s) {
  const int T = T_, D = D_, N = w.N;
  const size_t TD = size_t(T) * D;
  const float* hs = f.ln_before ? a.hs : h;
  const float* qsrc = f.query_before_ln ? h : hs;
  const float* q = w.has_query ? a.q : qsrc;
  const float* da = post_backward(dout, ln, f, a, s.a, dx);
  // dp[t,n] = da[t] . v_n[t]
  for (int n = 0; n < N; ++n) {
    const float* v = w.has_value ? a.v_all + n * TD : a.up_all + n * TD;
    be_.block_dot(s.t1, da, v, w.unit_offsets, T, D, 1, false);
    be_.copy_rows(s.n1 + n, N, s.t1, 1, T, 1, false);
  }
  be_.fusion_softmax_backward(s.n2, nullptr, s.n1, a.probs, T, N, w.inv_temperature, w.dropout);
  be_.zero(s.b, TD * sizeof(float));  // dhs
  be_.zero(s.c, TD * sizeof(float));  // dq
  size_t zoff = 0;
  for (int n = 0; n < N; ++n) {
    const AdapterRef& ad = w.adapters[n];
    const float* up = a.up_all + n * TD;
    const float* k = w.has_key ? a.k_all + n * TD : up;
    // dv_n = p_n da -> e; d(up_n) from the value path -> f (via r3 as [T,D] scratch)
    be_.copy_rows(s.t1, 1, a.probs + n, N, T, 1, false);
    be_.block_scale(s.e, da, s.t1, w.unit_offsets, T, D, 1);
    float* dup = s.r3;
    if (w.has_value) be_.linear_backward(dup, w.g_v_w, nullptr, s.e, up, w.v_w, T, D, D, false);
    else be_.copy_device(dup, s.e, TD * sizeof(float));
    // dk_n = ds_n q; dq += ds_n k_n
    be_.copy_rows(s.t1, 1, s.n2 + n, N, T, 1, false);
    be_.block_scale(s.e, q, s.t1, w.unit_offsets, T, D, 1);
    if (w.has_key) be_.linear_backward(dup, w.g_k_w, w.g_k_b, s.e, up, w.k_w, T, D, D, true);
    else be_.add(dup, dup, s.e, TD);
    be_.block_scale(s.e, k, s.t1, w.unit_offsets, T, D, 1);
    be_.add(s.c, s.c, s.e, TD);
    // through the adapter
    if (ad.scaling != 1.0f) be_.scale(dup, TD, ad.scaling);
    be_.linear_backward(s.r1, ad.g_up_w, ad.g_up_b, dup, a.d + zoff, ad.up_w, T, ad.r, D, false);
    be_.activation_backward(s.r1, s.r1, a.z + zoff, size_t(T) * ad.r, ad.act);
    be_.linear_backward(s.b, ad.g_down_w, ad.g_down_b, s.r1, hs, ad.down_w, T, D, ad.r, true);
    zoff += size_t(T) * ad.r;
  }
  const float* dqsrc = s.c;
  if (w.has_query) {
    be_.linear_backward(s.e, w.g_q_w, w.g_q_b, s.c, qsrc, w.q_w, T, D, D, false);
    dqsrc = s.e;
  }
  if (!f.query_before_ln) be_.add(s.b, s.b, dqsrc, TD);
  pre_backward(s.b, da, ln, f, a, dh, dx, s.b);
  if (f.query_before_ln) be_.add(dh, dh, dqsrc, TD);
  return dx;
}

}  // namespace af
