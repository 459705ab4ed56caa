// What each adapter site runs in the active setup, the activation layout of a site, the packed
// adapter weights the regrouped fusion uses, and the fusion temperature. Adding and deleting
// modules is in model_layout.cpp.
#include <cmath>
#include <set>

#include "bert.h"
#include "dropout_rng.h"
#include "errors.h"
#include "model_internal.h"

namespace af {

// ---------------------------------------------------------------- initialisation

void fill_init(std::vector<float>& host, const TensorEntry& e, InitKind kind, float stddev, uint64_t seed,
               uint64_t* counter) {
  host.assign(e.numel, 0.0f);
  auto normal = [&](uint64_t& c) {
    const double u1 = 1.0 - dropout_uniform(seed, c++), u2 = dropout_uniform(seed, c++);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  switch (kind) {
    case InitKind::Zeros: break;
    case InitKind::Ones: host.assign(e.numel, 1.0f); break;
    case InitKind::Normal:
      for (auto& v : host) v = static_cast<float>(stddev * normal(*counter));
      break;
    case InitKind::TruncNormal:
      for (auto& v : host) {
        double x;
        do x = normal(*counter); while (std::fabs(x) > 2.0);
        v = static_cast<float>(stddev * x);
      }
      break;
    case InitKind::KaimingUniform: {
      const double bound = 1.0 / std::sqrt(static_cast<double>(e.shape.back()));
      for (auto& v : host) v = static_cast<float>((2.0 * dropout_uniform(seed, (*counter)++) - 1.0) * bound);
      break;
    }
    case InitKind::Identity1e6: {
      const int64_t D = e.shape[0];
      for (int64_t r = 0; r < D; ++r)
        for (int64_t c = 0; c < D; ++c) host[r * D + c] = r == c ? 1.0f : 1e-6f;
      break;
    }
  }
}

// ---------------------------------------------------------------- bookkeeping

void BertModel::bump_setup() {
  ++setup_version_;
  ++params_version_;
  have_activations_ = false;
}

void BertModel::reindex() {
  const TensorTable& t = store_.table();
  word_emb_ = t.index_of("embeddings.word_embeddings.weight");
  pos_emb_ = t.index_of("embeddings.position_embeddings.weight");
  type_emb_ = t.index_of("embeddings.token_type_embeddings.weight");
  emb_ln_w_ = t.index_of("embeddings.LayerNorm.weight");
  emb_ln_b_ = t.index_of("embeddings.LayerNorm.bias");
  layers_.clear();
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string pre = "encoder.layer." + std::to_string(i) + ".";
    auto at = [&](const std::string& n) { return t.index_of(pre + n); };
    BertLayerParams lp;
    lp.q_w = at("attention.self.query.weight");
    lp.k_w = at("attention.self.key.weight");
    lp.v_w = at("attention.self.value.weight");
    lp.q_b = at("attention.self.query.bias");
    lp.k_b = at("attention.self.key.bias");
    lp.v_b = at("attention.self.value.bias");
    lp.attn_out_w = at("attention.output.dense.weight");
    lp.attn_out_b = at("attention.output.dense.bias");
    lp.ln1_w = at("attention.output.LayerNorm.weight");
    lp.ln1_b = at("attention.output.LayerNorm.bias");
    lp.inter_w = at("intermediate.dense.weight");
    lp.inter_b = at("intermediate.dense.bias");
    lp.out_w = at("output.dense.weight");
    lp.out_b = at("output.dense.bias");
    lp.ln2_w = at("output.LayerNorm.weight");
    lp.ln2_b = at("output.LayerNorm.bias");
    AF_CHECK(t[lp.k_w].offset == t[lp.q_w].offset + t[lp.q_w].numel &&
                 t[lp.v_w].offset == t[lp.k_w].offset + t[lp.k_w].numel,
             "q/k/v weights contiguous");
    AF_CHECK(t[lp.k_b].offset == t[lp.q_b].offset + t[lp.q_b].numel &&
                 t[lp.v_b].offset == t[lp.k_b].offset + t[lp.k_b].numel,
             "q/k/v biases contiguous");
    layers_.push_back(lp);
  }
  for (auto& a : adapters_)
    for (int i = 0; i < config_.num_hidden_layers; ++i)
      for (int s = 0; s < kSites; ++s) {
        AdapterSiteParams& sp = a.sites[i][s];
        if (!sp.present) continue;
        const std::string pre = "encoder.layer." + std::to_string(i) + "." + site_prefix(s) + "adapters." + a.name + ".";
        sp.down_w = t.index_of(pre + "adapter_down.0.weight");
        sp.down_b = t.index_of(pre + "adapter_down.0.bias");
        sp.up_w = t.index_of(pre + "adapter_up.weight");
        sp.up_b = t.index_of(pre + "adapter_up.bias");
      }
  for (auto& f : fusions_)
    for (int i = 0; i < config_.num_hidden_layers; ++i)
      for (int s = 0; s < kSites; ++s) {
        FusionSiteParams& fp = f.sites[i][s];
        if (!fp.present) continue;
        const std::string pre = "encoder.layer." + std::to_string(i) + "." + site_prefix(s) + "adapter_fusion_layer." + f.key + ".";
        auto find = [&](const std::string& n) { const TensorEntry* e = t.find(pre + n); return e ? t.index_of(pre + n) : SIZE_MAX; };
        fp.q_w = find("query.weight");
        fp.q_b = find("query.bias");
        fp.k_w = find("key.weight");
        fp.k_b = find("key.bias");
        fp.v_w = find("value.weight");
      }
  for (auto& h : heads_) {
    h.params.weight.clear();
    h.params.bias.clear();
    for (int k = 0; k < h.config.layers; ++k) {
      const std::string pre = "heads." + h.name + "." + std::to_string(1 + 3 * k) + ".";
      h.params.weight.push_back(t.index_of(pre + "weight"));
      const TensorEntry* b = t.find(pre + "bias");
      h.params.bias.push_back(b ? t.index_of(pre + "bias") : SIZE_MAX);
    }
  }
}


BertModel::SitePlan BertModel::plan_site(int layer, int site) const {
  SitePlan plan;
  auto flow_of = [](const AdapterConfig& c, const FusionConfig* f) {
    SiteFlow flow;
    flow.ln_before = c.original_ln_before;
    flow.ln_after = c.original_ln_after;
    flow.residual = c.residual;
    flow.query_before_ln = f && f->query_before_ln;
    return flow;
  };
  if (active_.kind == ActiveSetup::Kind::Single) {
    const AdapterEntry& a = adapter(active_.names[0]);
    if (!a.sites[layer][site].present) return plan;
    plan.kind = SitePlan::Kind::Single;
    plan.adapter = &a;
    plan.flow = flow_of(a.config, nullptr);
    plan.R = a.sites[layer][site].r;
  } else if (active_.kind == ActiveSetup::Kind::Fuse) {
    const std::string key = fusion_key(active_.names);
    const FusionEntry* f = nullptr;
    for (const auto& e : fusions_)
      if (e.key == key) f = &e;
    AF_CHECK(f, "active fusion exists");
    if (!f->sites[layer][site].present) return plan;
    for (const auto& n : f->names) {
      const AdapterEntry& a = adapter(n);
      if (a.sites[layer][site].present) plan.fused.push_back(&a);
    }
    if (plan.fused.empty()) return plan;
    plan.kind = SitePlan::Kind::Fusion;
    plan.fusion = f;
    plan.flow = flow_of(plan.fused.back()->config, &f->config);  // the last adapter's pre/post
    plan.N = static_cast<int>(plan.fused.size());
    for (const auto* a : plan.fused) plan.R += a->sites[layer][site].r;
    plan.direct = fusion_direct_;
    for (const auto* a : plan.fused) plan.direct |= a->config.non_linearity != plan.fused[0]->config.non_linearity;
  }
  return plan;
}

SiteNeeds BertModel::needs_of(const SitePlan& plan) const {
  SiteNeeds n;
  if (plan.kind == SitePlan::Kind::Plain) return n;
  n.adapter = true;
  n.pre = plan.flow.ln_before;
  n.R = plan.R;
  if (plan.kind == SitePlan::Kind::Fusion) {
    n.fusion = true;
    n.direct = plan.direct;
    n.N = plan.N;
  }
  return n;
}

void add_site_tensors(TensorTable& t, const std::string& pre, const SiteNeeds& n, int64_t T, int64_t D, bool own_out) {
  t.add(pre + "post_in", {T, D});
  t.add(pre + "post_mean", {T});
  t.add(pre + "post_rstd", {T});
  if (own_out) t.add(pre + "out", {T, D});
  if (n.pre) {
    t.add(pre + "pre_in", {T, D});
    t.add(pre + "pre_mean", {T});
    t.add(pre + "pre_rstd", {T});
    t.add(pre + "hs", {T, D});
  }
  if (n.R) {
    t.add(pre + "z", {T, n.R});
    t.add(pre + "d", {T, n.R});
  }
  if (n.fusion) {
    t.add(pre + "q", {T, D});
    t.add(pre + "u", {T, D});
    t.add(pre + "scores", {T, n.N});
    t.add(pre + "probs", {T, n.N});
    t.add(pre + "row_bias", {T});
    t.add(pre + "qp", {T, D});
    t.add(pre + "G", {T, n.R});
    if (n.direct) {
      t.add(pre + "up_all", {T, n.N * D});
      t.add(pre + "k_all", {T, n.N * D});
      t.add(pre + "v_all", {T, n.N * D});
    }
  }
}

SiteActs site_acts(const std::function<float*(const std::string&)>& at, const std::string& pre) {
  SiteActs a;
  a.post_in = at(pre + "post_in");
  a.post_mean = at(pre + "post_mean");
  a.post_rstd = at(pre + "post_rstd");
  a.out = at(pre + "out");
  a.pre_in = at(pre + "pre_in");
  a.pre_mean = at(pre + "pre_mean");
  a.pre_rstd = at(pre + "pre_rstd");
  a.hs = at(pre + "hs");
  a.z = at(pre + "z");
  a.d = at(pre + "d");
  a.q = at(pre + "q");
  a.qp = at(pre + "qp");
  a.u = at(pre + "u");
  a.G = at(pre + "G");
  a.scores = at(pre + "scores");
  a.probs = at(pre + "probs");
  a.row_bias = at(pre + "row_bias");
  a.up_all = at(pre + "up_all");
  a.k_all = at(pre + "k_all");
  a.v_all = at(pre + "v_all");
  return a;
}

// ---------------------------------------------------------------- weights of a site

LayerNormRef BertModel::site_norm(int layer, int site) const {
  const BertLayerParams& lp = layers_[layer];
  const size_t w = site == 0 ? lp.ln1_w : lp.ln2_w, b = site == 0 ? lp.ln1_b : lp.ln2_b;
  return {p(w), p(b), g(w), g(b), config_.layer_norm_eps};
}

AdapterRef BertModel::adapter_ref(const AdapterEntry& e, int layer, int site) const {
  const AdapterSiteParams& sp = e.sites[layer][site];
  AdapterRef r;
  r.down_w = p(sp.down_w);
  r.down_b = p(sp.down_b);
  r.up_w = p(sp.up_w);
  r.up_b = p(sp.up_b);
  r.g_down_w = g(sp.down_w);
  r.g_down_b = g(sp.down_b);
  r.g_up_w = g(sp.up_w);
  r.g_up_b = g(sp.up_b);
  r.r = sp.r;
  r.act = e.config.non_linearity;
  r.scaling = static_cast<float>(e.config.scaling);
  return r;
}

FusionRef BertModel::fusion_ref(const SitePlan& plan, int layer, int site, bool want_adapter_grads, bool fold) {
  Backend& be = *backend_;
  const FusionSiteParams& fp = plan.fusion->sites[layer][site];
  const int D = config_.hidden_size;
  FusionRef r;
  auto val = [&](size_t i) -> const float* { return i == SIZE_MAX ? nullptr : p(i); };
  auto grad = [&](size_t i) -> float* { return i == SIZE_MAX ? nullptr : g(i); };
  r.has_query = fp.q_w != SIZE_MAX;
  r.has_key = fp.k_w != SIZE_MAX;
  r.has_value = fp.v_w != SIZE_MAX;
  r.q_w = val(fp.q_w), r.q_b = val(fp.q_b), r.k_w = val(fp.k_w), r.k_b = val(fp.k_b), r.v_w = val(fp.v_w);
  r.g_q_w = grad(fp.q_w), r.g_q_b = grad(fp.q_b), r.g_k_w = grad(fp.k_w), r.g_k_b = grad(fp.k_b), r.g_v_w = grad(fp.v_w);
  r.N = plan.N;
  r.R = plan.R;
  r.act = plan.fused[0]->config.non_linearity;
  r.unit_offsets = unit_offsets_.get();
  r.inv_temperature = 1.0f / plan.fusion->temperature[layer][site];
  bool adapters_train = false;
  for (const auto* a : plan.fused) {
    r.adapters.push_back(adapter_ref(*a, layer, site));
    const AdapterRef& ar = r.adapters.back();
    adapters_train |= ar.g_down_w || ar.g_down_b || ar.g_up_w || ar.g_up_b;
  }
  if (plan.direct) return r;

  // The packed weights, rebuilt when the set of adapters or their values changed.
  if (packs_.size() != layers_.size()) packs_.resize(layers_.size());
  std::unique_ptr<FusionPack>& pack = packs_[layer][site];
  std::vector<std::string> names;
  for (const auto* a : plan.fused) names.push_back(a->name);
  if (!pack || pack->names != names || pack->version != params_version_) {
    if (!pack) pack = std::make_unique<FusionPack>();
    FusionPack& fpk = *pack;
    fpk.names = names;
    fpk.N = plan.N;
    fpk.R = plan.R;
    const int R = plan.R, N = plan.N;
    fpk.down_all.ensure(be, size_t(R) * D);
    fpk.down_b_all.ensure(be, R);
    fpk.up_all.ensure(be, size_t(D) * R);
    fpk.up_b_all.ensure(be, size_t(N) * D);
    fpk.offsets.ensure(be, N + 1);
    fpk.off.assign(N + 1, 0);
    int max_r = 0;
    for (int n = 0; n < N; ++n) {
      fpk.off[n + 1] = fpk.off[n] + r.adapters[n].r;
      max_r = std::max(max_r, r.adapters[n].r);
    }
    fpk.tmp.ensure(be, std::max(size_t(D) * max_r, size_t(D)));
    be.copy_to_device(fpk.offsets.get(), fpk.off.data(), sizeof(int32_t) * (N + 1));
    for (int n = 0; n < N; ++n) {
      const AdapterRef& a = r.adapters[n];
      const int o = fpk.off[n];
      be.copy_device(fpk.down_all.get() + size_t(o) * D, a.down_w, sizeof(float) * a.r * D);
      be.copy_device(fpk.down_b_all.get() + o, a.down_b, sizeof(float) * a.r);
      // up_all[:, o:o+r] = scaling * Wu_n; up_b_all[n] = scaling * bu_n
      const float* up = a.up_w;
      if (a.scaling != 1.0f) {
        be.copy_device(fpk.tmp.get(), a.up_w, sizeof(float) * D * a.r);
        be.scale(fpk.tmp.get(), size_t(D) * a.r, a.scaling);
        up = fpk.tmp.get();
      }
      be.copy_rows(fpk.up_all.get() + o, R, up, a.r, D, a.r, false);
      be.copy_device(fpk.up_b_all.get() + size_t(n) * D, a.up_b, sizeof(float) * D);
      if (a.scaling != 1.0f) be.scale(fpk.up_b_all.get() + size_t(n) * D, D, a.scaling);
    }
    fpk.version = params_version_;
  }
  r.down_all = pack->down_all.get();
  r.down_b_all = pack->down_b_all.get();
  r.up_all = pack->up_all.get();
  r.up_b_all = pack->up_b_all.get();
  r.offsets = pack->offsets.get();
  if (fold && r.has_query && r.has_key) {
    if (pack->fold_version != params_version_) build_fold(*pack, r);
    r.folded = true;
    r.fold_g_w = pack->fold_g_w.get(), r.fold_g_b = pack->fold_g_b.get();
    r.fold_s_w = pack->fold_s_w.get(), r.fold_s_b = pack->fold_s_b.get();
    r.fold_r_w = pack->fold_r_w.get(), r.fold_r_b = pack->fold_r_b.get();
    r.vup = pack->vup.get(), r.vup_b = pack->vup_b.get();
  }
  if (want_adapter_grads && adapters_train) {
    FusionPack& fpk = *pack;
    const size_t R = plan.R, N = plan.N;
    fpk.g_down_all.ensure(be, R * D);
    fpk.g_down_b_all.ensure(be, R);
    fpk.g_up_all.ensure(be, D * R);
    fpk.g_up_b_all.ensure(be, N * D);
    for (auto* buf : {&fpk.g_down_all, &fpk.g_down_b_all, &fpk.g_up_all, &fpk.g_up_b_all})
      be.zero(buf->get(), buf->size() * sizeof(float));
    r.g_down_all = fpk.g_down_all.get();
    r.g_down_b_all = fpk.g_down_b_all.get();
    r.g_up_all = fpk.g_up_all.get();
    r.g_up_b_all = fpk.g_up_b_all.get();
  }
  return r;
}

// The inference folding (docs/ARCHITECTURE.md, "The regrouped fusion layer"), once per
// parameter version:
//   q' = qsrc Wq^T Wk + bq Wk  =>  G = q' Wu_all = qsrc (Wu_all^T Wk^T Wq)^T + (bq Wk) Wu_all,
//   q'.bu_n = qsrc (B_up Wk^T Wq)^T + (bq Wk).bu_n,   q.bk = qsrc (bk^T Wq)^T + bq.bk,
//   v = Wv (E Wu_all^T + p B_up) = E (Wv Wu_all)^T + p (B_up Wv^T).
void BertModel::build_fold(FusionPack& pk, const FusionRef& r) {
  Backend& be = *backend_;
  const int D = config_.hidden_size, R = r.R, N = r.N;
  pk.fold_tmp.ensure(be, size_t(D) * D + D);
  float* K2 = pk.fold_tmp.get();           // Wk^T Wq [D,D]
  float* bqk = K2 + size_t(D) * D;         // bq^T Wk [D]
  be.gemm(true, false, D, D, D, 1.0f, r.k_w, D, r.q_w, D, 0.0f, K2, D);
  be.gemm(false, false, 1, D, D, 1.0f, r.q_b, D, r.k_w, D, 0.0f, bqk, D);
  pk.fold_g_w.ensure(be, size_t(R) * D);
  pk.fold_g_b.ensure(be, R);
  pk.fold_s_w.ensure(be, size_t(N) * D);
  pk.fold_s_b.ensure(be, N);
  pk.fold_r_w.ensure(be, D);
  pk.fold_r_b.ensure(be, 1);
  be.gemm(true, false, R, D, D, 1.0f, r.up_all, R, K2, D, 0.0f, pk.fold_g_w.get(), D);
  be.gemm(false, false, 1, R, D, 1.0f, bqk, D, r.up_all, R, 0.0f, pk.fold_g_b.get(), R);
  be.gemm(false, false, N, D, D, 1.0f, r.up_b_all, D, K2, D, 0.0f, pk.fold_s_w.get(), D);
  be.gemm(false, true, 1, N, D, 1.0f, bqk, D, r.up_b_all, D, 0.0f, pk.fold_s_b.get(), N);
  be.gemm(false, false, 1, D, D, 1.0f, r.k_b, D, r.q_w, D, 0.0f, pk.fold_r_w.get(), D);
  be.gemm(false, false, 1, 1, D, 1.0f, r.q_b, D, r.k_b, 1, 0.0f, pk.fold_r_b.get(), 1);
  pk.vup.ensure(be, size_t(D) * R);
  pk.vup_b.ensure(be, size_t(N) * D);
  if (r.has_value) {
    be.gemm(false, false, D, R, D, 1.0f, r.v_w, D, r.up_all, R, 0.0f, pk.vup.get(), R);
    be.gemm(false, true, N, D, D, 1.0f, r.up_b_all, D, r.v_w, D, 0.0f, pk.vup_b.get(), D);
  } else {
    be.copy_device(pk.vup.get(), r.up_all, sizeof(float) * D * R);
    be.copy_device(pk.vup_b.get(), r.up_b_all, sizeof(float) * N * D);
  }
  pk.fold_version = params_version_;
}

void BertModel::scatter_fusion_adapter_grads(const SitePlan& plan, int layer, int site) {
  Backend& be = *backend_;
  FusionPack& fpk = *packs_[layer][site];
  const int D = config_.hidden_size, R = plan.R;
  for (int n = 0; n < plan.N; ++n) {
    const AdapterRef a = adapter_ref(*plan.fused[n], layer, site);
    const int o = fpk.off[n];
    if (a.g_down_w) be.add(a.g_down_w, fpk.g_down_all.get() + size_t(o) * D, nullptr, size_t(a.r) * D);
    if (a.g_down_b) be.add(a.g_down_b, fpk.g_down_b_all.get() + o, nullptr, a.r);
    // The packed up weights are scaled: d(Wu_n) = scaling * d(packed block).
    if (a.g_up_w) {
      be.copy_rows(fpk.tmp.get(), a.r, fpk.g_up_all.get() + o, R, D, a.r, false);
      if (a.scaling != 1.0f) be.scale(fpk.tmp.get(), size_t(D) * a.r, a.scaling);
      be.add(a.g_up_w, fpk.tmp.get(), nullptr, size_t(D) * a.r);
    }
    if (a.g_up_b) {
      be.copy_device(fpk.tmp.get(), fpk.g_up_b_all.get() + size_t(n) * D, sizeof(float) * D);
      if (a.scaling != 1.0f) be.scale(fpk.tmp.get(), D, a.scaling);
      be.add(a.g_up_b, fpk.tmp.get(), nullptr, D);
    }
  }
}

void BertModel::anneal_temperature(const SitePlan& plan, int layer, int site) {
  if (!plan.fusion->config.temperature) return;
  for (auto& f : fusions_)
    if (&f == plan.fusion) {
      // AdapterHub: T starts at 50 and drops by 50/1000 after every forward, down to 1.
      float& T = f.temperature[layer][site];
      T = std::max(T - 50.0f / 1000.0f, 1.0f);
    }
}

std::vector<float> BertModel::fusion_temperatures(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : fusions_)
    if (f.key == key) {
      std::vector<float> out;
      for (const auto& t : f.temperature) out.insert(out.end(), t.begin(), t.end());
      return out;
    }
  fail(ErrorCode::InvalidArgument, "no adapter fusion named \"" + key + "\"");
}

void BertModel::set_fusion_temperatures(const std::string& key, const std::vector<float>& t) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& f : fusions_)
    if (f.key == key) {
      if (t.size() != f.temperature.size() * kSites)
        fail(ErrorCode::InvalidArgument, "expected " + std::to_string(f.temperature.size() * kSites) + " temperatures");
      for (size_t i = 0; i < f.temperature.size(); ++i)
        for (int s = 0; s < kSites; ++s) f.temperature[i][s] = t[i * kSites + s];
      return;
    }
  fail(ErrorCode::InvalidArgument, "no adapter fusion named \"" + key + "\"");
}

}  // namespace af
