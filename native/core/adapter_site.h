// One adapter site of a BERT layer (after the attention output, or after the FFN output):
// the sub-layer output h and the residual input x become the site output, through the
// pretrained LayerNorm only (plain), through one bottleneck adapter, or through AdapterFusion
// over N adapters — regrouped (docs/ARCHITECTURE.md, "The regrouped fusion layer") or in the
// direct form kept as the test oracle.
// Forward and backward, on Backend ops.
//
// Shape legend: T tokens, D hidden, r bottleneck width, N fused adapters, R = sum of their r.
#pragma once
#include <cstdint>
#include <vector>

#include "adapter_config.h"
#include "backend.h"

namespace af {

struct LayerNormRef {
  const float* w = nullptr;
  const float* b = nullptr;
  float* dw = nullptr;  // null when frozen
  float* db = nullptr;
  float eps = 1e-12f;
};

// One adapter's weights at one site, scaled as AdapterHub scales `up` (scaling * up).
struct AdapterRef {
  const float *down_w = nullptr, *down_b = nullptr;  // [r,D], [r]
  const float *up_w = nullptr, *up_b = nullptr;      // [D,r], [D]
  float *g_down_w = nullptr, *g_down_b = nullptr, *g_up_w = nullptr, *g_up_b = nullptr;
  int r = 0;
  Activation act = Activation::Relu;
  float scaling = 1.0f;
};

// What pre_forward/post_forward do around the adapter(s): the last adapter's config.
struct SiteFlow {
  bool ln_before = false;
  bool ln_after = true;
  AdapterResidual residual = AdapterResidual::SublayerOutput;
  bool query_before_ln = false;  // fusion only
};

// Fusion weights at one site plus the adapters' weights packed side by side:
// down_all [R,D], down_b_all [R], up_all [D,R], up_b_all [N,D] (scaled), block offsets.
struct FusionRef {
  const float *q_w = nullptr, *q_b = nullptr, *k_w = nullptr, *k_b = nullptr, *v_w = nullptr;
  float *g_q_w = nullptr, *g_q_b = nullptr, *g_k_w = nullptr, *g_k_b = nullptr, *g_v_w = nullptr;
  bool has_query = true, has_key = true, has_value = true;
  int N = 0, R = 0;
  Activation act = Activation::Relu;  // shared by the fused adapters (regrouped form)
  const float *down_all = nullptr, *down_b_all = nullptr, *up_all = nullptr, *up_b_all = nullptr;
  const int32_t* offsets = nullptr;       // device [N+1]
  const int32_t* unit_offsets = nullptr;  // device {0, D}: one block spanning a [T,D] row
  // Adapter gradients in packed layout (null when every fused adapter is frozen); the caller
  // scatters them back.
  float *g_down_all = nullptr, *g_down_b_all = nullptr, *g_up_all = nullptr, *g_up_b_all = nullptr;
  std::vector<AdapterRef> adapters;   // per adapter, for the direct form
  // Inference only (no dropout, no backward): the query/key path and the value matrix folded
  // into the adapters' weights once (docs/ARCHITECTURE.md, "The regrouped fusion layer"), so
  // scores and outputs need no D x D GEMM:
  //   G = qsrc Fg^T + fg [T,R], scores += qsrc Fs^T + fs [T,N], row bias = qsrc.fr + fr0,
  //   v = (p (.) d) Vup^T + p Vb.
  bool folded = false;
  const float *fold_g_w = nullptr, *fold_g_b = nullptr;  // [R,D], [R]
  const float *fold_s_w = nullptr, *fold_s_b = nullptr;  // [N,D], [N]
  const float *fold_r_w = nullptr, *fold_r_b = nullptr;  // [1,D], [1]
  const float *vup = nullptr, *vup_b = nullptr;          // [D,R], [N,D]
  float inv_temperature = 1.0f;
  DropoutSpec dropout;                // on the scores
};

// Activations a site keeps (pointers into the model's arena; unused ones may be null).
struct SiteActs {
  float *pre_in = nullptr, *pre_mean = nullptr, *pre_rstd = nullptr;  // h + x and its LN stats
  float *hs = nullptr;                                                // LN(h + x) [T,D]
  float *z = nullptr, *d = nullptr;        // bottleneck pre-activation / activation [T,R]
  float *post_in = nullptr, *post_mean = nullptr, *post_rstd = nullptr;  // LN-after input
  float *out = nullptr;                                               // [T,D]
  // fusion
  float *q = nullptr, *qp = nullptr, *u = nullptr;   // [T,D]
  float *G = nullptr;                                // [T,R]
  float *tmp = nullptr;                              // [T,R], not kept (p (.) d)
  float *scores = nullptr, *probs = nullptr;         // [T,N]
  float *row_bias = nullptr;                         // [T]
  // direct form: per-adapter up / key / value outputs [T, N*D]
  float *up_all = nullptr, *k_all = nullptr, *v_all = nullptr;
};

// Scratch for backward, each sized for the largest site.
struct SiteScratch {
  float *a = nullptr, *b = nullptr, *c = nullptr, *e = nullptr;  // [T,D] each
  float *r1 = nullptr, *r2 = nullptr, *r3 = nullptr;              // [T, max(R, D)] each
  float *n1 = nullptr, *n2 = nullptr;                             // [T,N]
  float *t1 = nullptr;                                            // [T]
};

class AdapterSite {
 public:
  AdapterSite(Backend& be, int B, int L, int D) : be_(be), T_(B * L), D_(D) {}

  // out = LN(h + x)
  void plain_forward(const float* h, const float* x, const LayerNormRef& ln, SiteActs& a);
  // Returns dx (== dh: the residual and the sub-layer share the LN input's gradient).
  float* plain_backward(const float* dout, const LayerNormRef& ln, const SiteActs& a, float* dh);

  void adapter_forward(const float* h, const float* x, const LayerNormRef& ln, const SiteFlow& f,
                       const AdapterRef& w, DropoutSpec adapter_dropout, SiteActs& a);
  // dh assigned; dx written to dx_buf and returned.
  float* adapter_backward(const float* dout, const float* h, const LayerNormRef& ln,
                          const SiteFlow& f, const AdapterRef& w, DropoutSpec adapter_dropout,
                          const SiteActs& a, float* dh, float* dx_buf, const SiteScratch& s);

  void fusion_forward(const float* h, const float* x, const LayerNormRef& ln, const SiteFlow& f,
                      const FusionRef& w, SiteActs& a);
  // Inference with the folded weights (w.folded).
  void fusion_forward_folded(const float* h, const float* x, const LayerNormRef& ln, const SiteFlow& f,
                             const FusionRef& w, SiteActs& a);
  float* fusion_backward(const float* dout, const float* h, const LayerNormRef& ln,
                         const SiteFlow& f, const FusionRef& w, const SiteActs& a, float* dh,
                         float* dx_buf, const SiteScratch& s);

  // The direct form: every adapter's up, key and value computed separately.
  void fusion_direct_forward(const float* h, const float* x, const LayerNormRef& ln,
                             const SiteFlow& f, const FusionRef& w, SiteActs& a);
  float* fusion_direct_backward(const float* dout, const float* h, const LayerNormRef& ln,
                                const SiteFlow& f, const FusionRef& w, const SiteActs& a,
                                float* dh, float* dx_buf, const SiteScratch& s);

 private:
  // hs and the residual pointer per the flow (pre_forward).
  const float* pre_forward(const float* h, const float* x, const LayerNormRef& ln,
                           const SiteFlow& f, SiteActs& a, const float** residual);
  // out from a (post_forward); a already holds v + residual in a.post_in.
  void post_forward(const float* x, const LayerNormRef& ln, const SiteFlow& f, SiteActs& a);
  // Gradient of post_forward: returns da (the gradient of a); adds the x path to dx.
  const float* post_backward(const float* dout, const LayerNormRef& ln, const SiteFlow& f,
                             const SiteActs& a, float* da_buf, float* dx);
  // Given d(hs) and d(residual) (= da), the gradients of h and x (dh assigned, dx added).
  void pre_backward(const float* dhs, const float* da, const LayerNormRef& ln, const SiteFlow& f,
                    const SiteActs& a, float* dh, float* dx, float* scratch);

  Backend& be_;
  int T_, D_;
};

}  // namespace af
