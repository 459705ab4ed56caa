// The encoder graph: embeddings, attention, FFN and the two adapter sites per layer, forward
// and backward. Modules (adapters, fusion, heads) are managed in model_modules.cpp, heads and
// losses in model_head.cpp, the optimiser in model_optim.cpp.
#include "bert.h"

#include <algorithm>
#include <cstdlib>
#include <climits>
#include <cmath>
#include <cstring>

#include "dropout_rng.h"
#include "errors.h"
#include "model_internal.h"

namespace af {

const char* site_prefix(int site) { return site == 0 ? "attention.output." : "output."; }

// Activations of one layer (pointers into the arena); `in` is the layer's input, sites[1].out
// its output (the next layer's input).
struct BertModel::LayerActs {
  float *in, *qkv, *probs, *ctx, *h1, *ffn_pre, *ffn_act, *h2;
  SiteActs sites[kSites];
};

TensorShapes BertModel::encoder_shapes(const BertConfig& config) {
  const int64_t D = config.hidden_size, F = config.intermediate_size;
  TensorShapes t;
  t.push_back({"embeddings.word_embeddings.weight", {config.vocab_size, D}});
  t.push_back({"embeddings.position_embeddings.weight", {config.max_position_embeddings, D}});
  t.push_back({"embeddings.token_type_embeddings.weight", {config.type_vocab_size, D}});
  t.push_back({"embeddings.LayerNorm.weight", {D}});
  t.push_back({"embeddings.LayerNorm.bias", {D}});
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    const std::string pre = "encoder.layer." + std::to_string(i) + ".";
    for (const char* n : {"query", "key", "value"}) t.push_back({pre + "attention.self." + n + ".weight", {D, D}});
    for (const char* n : {"query", "key", "value"}) t.push_back({pre + "attention.self." + n + ".bias", {D}});
    t.push_back({pre + "attention.output.dense.weight", {D, D}});
    t.push_back({pre + "attention.output.dense.bias", {D}});
    t.push_back({pre + "attention.output.LayerNorm.weight", {D}});
    t.push_back({pre + "attention.output.LayerNorm.bias", {D}});
    t.push_back({pre + "intermediate.dense.weight", {F, D}});
    t.push_back({pre + "intermediate.dense.bias", {F}});
    t.push_back({pre + "output.dense.weight", {D, F}});
    t.push_back({pre + "output.dense.bias", {D}});
    t.push_back({pre + "output.LayerNorm.weight", {D}});
    t.push_back({pre + "output.LayerNorm.bias", {D}});
  }
  return t;
}

BertModel::BertModel(std::shared_ptr<Backend> backend, const BertConfig& config)
    : backend_(std::move(backend)), config_(config), store_(*backend_) {
  config_.validate("BertConfig");
  const int64_t D = config_.hidden_size;
  const TensorShapes t = encoder_shapes(config_);
  store_.add(t);
  std::vector<int32_t> unit = {0, static_cast<int32_t>(D)};
  unit_offsets_.reset(*backend_, 2);
  backend_->copy_to_device(unit_offsets_.get(), unit.data(), sizeof(int32_t) * 2);
  reindex();
  publish_locked();  // no other thread can see the model yet
}

BertModel::~BertModel() = default;

// ---------------------------------------------------------------- parameters

void BertModel::init_weights(uint64_t seed, float stddev) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<float> host;
  uint64_t counter = 0;
  const size_t encoder_end = layers_.empty() ? emb_ln_b_ + 1 : layers_.back().ln2_b + 1;
  for (size_t i = 0; i < encoder_end; ++i) {
    const TensorEntry& e = store_[i];
    const bool ln_weight = e.name.find("LayerNorm.weight") != std::string::npos;
    fill_init(host, e, ln_weight ? InitKind::Ones : e.shape.size() == 2 ? InitKind::Normal : InitKind::Zeros,
              stddev, seed, &counter);
    backend_->copy_to_device(p(i), host.data(), host.size() * sizeof(float));
  }
  ++params_version_;
}

void BertModel::set_param(size_t index, const float* host, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (index >= store_.size()) fail(ErrorCode::InvalidArgument, "parameter index out of range");
  if (n != store_[index].numel)
    fail(ErrorCode::ShapeMismatch, store_[index].name + ": expected " + std::to_string(store_[index].numel) +
                                       " values, got " + std::to_string(n));
  backend_->copy_to_device(p(index), host, n * sizeof(float));
  ++params_version_;
}

void BertModel::get_param(size_t index, float* host, size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size() && n == store_[index].numel, "parameter index/size");
  backend_->copy_to_host(host, p(index), n * sizeof(float));
}

void BertModel::set_trainable(const std::vector<bool>& trainable) {
  std::lock_guard<std::mutex> lock(mu_);
  set_trainable_locked(trainable);
}

void BertModel::set_trainable_locked(const std::vector<bool>& trainable) {
  store_.set_trainable(trainable);
  const int64_t D = config_.hidden_size;
  bool mixed = false;
  for (const auto& lp : layers_) {
    bool w = store_[lp.q_w].trainable, b = store_[lp.q_b].trainable;
    mixed |= store_[lp.k_w].trainable != w || store_[lp.v_w].trainable != w;
    mixed |= store_[lp.k_b].trainable != b || store_[lp.v_b].trainable != b;
  }
  qkv_grad_scratch_.reset(*backend_, mixed ? static_cast<size_t>(3 * D * D + 3 * D) : 0);
  reset_optimizer_locked();
  have_activations_ = false;  // a backward must follow a forward with the same trainability
  publish_locked();
}

void BertModel::zero_grad() {
  std::lock_guard<std::mutex> lock(mu_);
  store_.zero_grad();
}

void BertModel::get_grad(size_t index, float* host, size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size() && n == store_[index].numel, "parameter index/size");
  if (!store_[index].trainable)
    fail(ErrorCode::InvalidArgument, store_[index].name + " is frozen: it has no gradient");
  backend_->copy_to_host(host, g(index), n * sizeof(float));
}

// ---------------------------------------------------------------- activations

void BertModel::plan_activations(int B, int L, bool keep) {
  if (B == planned_B_ && L == planned_L_ && keep == planned_keep_ && planned_setup_ == setup_version_) return;
  const int64_t T = static_cast<int64_t>(B) * L, D = config_.hidden_size,
                F = config_.intermediate_size, H = config_.num_attention_heads;
  const int layers = config_.num_hidden_layers;
  site_plans_.assign(layers, {});
  for (int i = 0; i < layers; ++i)
    for (int s = 0; s < kSites; ++s) site_plans_[i][s] = plan_site(i, s);

  TensorTable t;
  t.add("emb.sum", {T, D});
  t.add("emb.mean", {T});
  t.add("emb.rstd", {T});
  t.add("hidden.0", {T, D});
  const int slots = keep ? layers : 1;
  SiteNeeds widest;  // over every site: sizes the shared forward temp and backward scratch
  for (int i = 0; i < slots; ++i) {
    const std::string pre = "layer." + std::to_string(i) + ".";
    t.add(pre + "qkv", {T, 3 * D});
    t.add(pre + "probs", {B, H, L, L});
    t.add(pre + "ctx", {T, D});
    t.add(pre + "h1", {T, D});
    if (keep) t.add(pre + "ffn.pre", {T, F});
    t.add(pre + "ffn.act", {T, F});
    t.add(pre + "h2", {T, D});
    for (int s = 0; s < kSites; ++s) {
      SiteNeeds needs;
      if (keep) {
        needs = needs_of(site_plans_[i][s]);
      } else {
        for (int l = 0; l < layers; ++l) needs.merge(needs_of(site_plans_[l][s]));
      }
      widest.merge(needs);
      // The FFN site's output is the layer output: stored per layer, or ping-ponged.
      const bool own_out = s == 0 || keep;
      add_site_tensors(t, pre + "site" + std::to_string(s) + ".", needs, T, D, own_out);
    }
    if (keep) t.add("hidden." + std::to_string(i + 1), {T, D});
  }
  if (!keep) t.add("hidden.pong", {T, D});  // inference: layer outputs alternate two buffers
  if (widest.R) t.add("shared.tmp", {T, widest.R});
  if (keep) {
    for (const char* n : {"bwd.d0", "bwd.d1", "bwd.d2", "bwd.drop", "bwd.dctx"}) t.add(n, {T, D});
    t.add("bwd.dffn", {T, F});
    t.add("bwd.dqkv", {T, 3 * D});
    t.add("bwd.attn", {static_cast<int64_t>(Backend::attention_backward_scratch(B, L, H))});
    if (widest.adapter) {
      for (const char* n : {"bwd.s.a", "bwd.s.b", "bwd.s.c", "bwd.s.e"}) t.add(n, {T, D});
      const int64_t wide = std::max<int64_t>(widest.R, D);
      for (const char* n : {"bwd.s.r1", "bwd.s.r2", "bwd.s.r3"}) t.add(n, {T, wide});
      t.add("bwd.s.n1", {T, std::max(1, widest.N)});
      t.add("bwd.s.n2", {T, std::max(1, widest.N)});
      t.add("bwd.s.t1", {T});
    }
  }
  acts_buf_.reset(*backend_, 0);  // free first: the old arena may be large
  acts_buf_.reset(*backend_, t.total_floats());
  acts_ = std::move(t);
  planned_B_ = B;
  planned_L_ = L;
  planned_keep_ = keep;
  planned_setup_ = setup_version_;
}

BertModel::LayerActs BertModel::layer_acts(int layer) const {
  auto at = [&](const std::string& name) -> float* {
    const TensorEntry* e = acts_.find(name);
    return e ? acts_buf_.get() + e->offset : nullptr;
  };
  const int slot = planned_keep_ ? layer : 0;
  const std::string pre = "layer." + std::to_string(slot) + ".";
  LayerActs a;
  float* out;
  if (planned_keep_) {
    a.in = at("hidden." + std::to_string(layer));
    out = at("hidden." + std::to_string(layer + 1));
  } else {
    float* ping = at("hidden.0");
    float* pong = at("hidden.pong");
    a.in = layer % 2 == 0 ? ping : pong;
    out = layer % 2 == 0 ? pong : ping;
  }
  a.qkv = at(pre + "qkv");
  a.probs = at(pre + "probs");
  a.ctx = at(pre + "ctx");
  a.h1 = at(pre + "h1");
  a.ffn_pre = at(pre + "ffn.pre");  // null in inference: GELU's input is not kept
  a.ffn_act = at(pre + "ffn.act");
  a.h2 = at(pre + "h2");
  for (int s = 0; s < kSites; ++s) a.sites[s] = site_acts(at, pre + "site" + std::to_string(s) + ".");
  a.sites[1].out = out;
  for (auto& s : a.sites) s.tmp = at("shared.tmp");
  return a;
}

// ---------------------------------------------------------------- forward

void BertModel::check_batch(const BertBatch& b) const {
  if (b.batch_size <= 0) fail(ErrorCode::InvalidArgument, "batchSize must be at least 1");
  if (b.seq_len <= 0) fail(ErrorCode::InvalidArgument, "seqLen must be at least 1");
  if (b.seq_len > config_.max_position_embeddings)
    fail(ErrorCode::InvalidArgument,
         "seqLen " + std::to_string(b.seq_len) + " exceeds max_position_embeddings " +
             std::to_string(config_.max_position_embeddings));
  const long long T = static_cast<long long>(b.batch_size) * b.seq_len;
  const long long widest = std::max<long long>(3LL * config_.hidden_size, config_.intermediate_size);
  const long long attn = T * config_.num_attention_heads * b.seq_len;
  if (T * widest > INT_MAX || attn > INT_MAX)
    fail(ErrorCode::InvalidArgument, "batch too large: batchSize*seqLen = " + std::to_string(T));
  if (!b.input_ids) fail(ErrorCode::InvalidArgument, "inputIds is required");
  for (long long t = 0; t < T; ++t) {
    int32_t id = b.input_ids[t];
    if (id < 0 || id >= config_.vocab_size)
      fail(ErrorCode::InvalidArgument, "inputIds[" + std::to_string(t) + "] = " + std::to_string(id) +
                                           " is outside [0, vocab_size=" +
                                           std::to_string(config_.vocab_size) + ")");
    if (b.token_type_ids) {
      int32_t ty = b.token_type_ids[t];
      if (ty < 0 || ty >= config_.type_vocab_size)
        fail(ErrorCode::InvalidArgument,
             "tokenTypeIds[" + std::to_string(t) + "] = " + std::to_string(ty) +
                 " is outside [0, type_vocab_size=" + std::to_string(config_.type_vocab_size) + ")");
    }
    if (b.attention_mask && b.attention_mask[t] != 0 && b.attention_mask[t] != 1)
      fail(ErrorCode::InvalidArgument, "attentionMask[" + std::to_string(t) + "] = " +
                                           std::to_string(b.attention_mask[t]) + " is not 0 or 1");
  }
}

void BertModel::forward(const BertBatch& batch, const ForwardOptions& options, float* last_hidden_state,
                        float* hidden_states, FusionAttentions* fusion_attentions) {
  std::lock_guard<std::mutex> lock(mu_);
  forward_locked(batch, options, last_hidden_state, hidden_states, fusion_attentions);
}

float* BertModel::last_hidden_device() const {
  return config_.num_hidden_layers ? layer_acts(config_.num_hidden_layers - 1).sites[1].out
                                   : acts_buf_.get() + acts_.find("hidden.0")->offset;
}

void BertModel::forward_locked(const BertBatch& batch, const ForwardOptions& options, float* last_hidden_state,
                               float* hidden_states, FusionAttentions* fusion_attentions) {
  check_batch(batch);
  Backend& be = *backend_;
  const int B = batch.batch_size, L = batch.seq_len, T = B * L;
  const int D = config_.hidden_size, F = config_.intermediate_size,
            H = config_.num_attention_heads, Dh = config_.head_size();
  const float eps = config_.layer_norm_eps;
  have_activations_ = false;
  plan_activations(B, L, options.keep_activations);

  // Inputs to the device: ids, type ids (zeros when absent) and the float mask.
  ids_buf_.ensure(be, 2 * static_cast<size_t>(T));
  mask_buf_.ensure(be, static_cast<size_t>(T));
  int32_t* ids = ids_buf_.get();
  int32_t* types = ids + T;
  be.copy_to_device(ids, batch.input_ids, T * sizeof(int32_t));
  if (batch.token_type_ids) {
    be.copy_to_device(types, batch.token_type_ids, T * sizeof(int32_t));
  } else {
    std::vector<int32_t> zeros(T, 0);
    be.copy_to_device(types, zeros.data(), T * sizeof(int32_t));
  }
  std::vector<float> mask(T, 1.0f);
  if (batch.attention_mask)
    for (int t = 0; t < T; ++t) mask[t] = static_cast<float>(batch.attention_mask[t]);
  be.copy_to_device(mask_buf_.get(), mask.data(), T * sizeof(float));

  auto act = [&](const char* name) { return acts_buf_.get() + acts_.find(name)->offset; };
  const size_t TD = static_cast<size_t>(T) * D;
  auto copy_out = [&](float* host, const float* dev) { be.copy_to_host(host, dev, TD * sizeof(float)); };
  const DropoutSites sites(options, config_);

  // Embeddings: x0 = dropout(LN(wte[id] + wpe[pos] + wtt[type])).
  float* emb_sum = act("emb.sum");
  float* x0 = act("hidden.0");
  be.embeddings_forward(emb_sum, ids, types, p(word_emb_), p(pos_emb_), p(type_emb_), B, L, D);
  be.layernorm_forward(x0, act("emb.mean"), act("emb.rstd"), emb_sum, p(emb_ln_w_), p(emb_ln_b_), T, D, eps);
  be.dropout_forward(x0, x0, TD, sites.embeddings());
  if (hidden_states) copy_out(hidden_states, x0);
  if (fusion_attentions) fusion_attentions->assign(config_.num_hidden_layers, {});
  last_inv_temperature_.assign(config_.num_hidden_layers, {1.0f, 1.0f});

  AdapterSite site(be, B, L, D);
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    const BertLayerParams& lp = layers_[i];
    LayerActs a = layer_acts(i);
    // Self-attention: qkv = x Wqkv^T + b; ctx = softmax(q k^T/sqrt(Dh) + mask) v.
    be.linear_forward(a.qkv, nullptr, a.in, p(lp.q_w), p(lp.q_b), T, D, 3 * D, Activation::None);
    be.attention_forward(a.ctx, a.probs, a.qkv, mask_buf_.get(), B, L, H, Dh, sites.attention_probs(i));
    be.linear_forward(a.h1, nullptr, a.ctx, p(lp.attn_out_w), p(lp.attn_out_b), T, D, D, Activation::None);
    be.dropout_forward(a.h1, a.h1, TD, sites.attention_output(i));
    // FFN: h2 = dropout(gelu(x1 Wi^T + bi) Wo^T + bo), x1 the attention site's output.
    const float* x1 = nullptr;
    for (int s = 0; s < kSites; ++s) {
      const float* h = s == 0 ? a.h1 : a.h2;
      const float* x = s == 0 ? a.in : x1;
      if (s == 1) {
        be.linear_forward(a.ffn_act, a.ffn_pre, x1, p(lp.inter_w), p(lp.inter_b), T, D, F, Activation::Gelu);
        be.linear_forward(a.h2, nullptr, a.ffn_act, p(lp.out_w), p(lp.out_b), T, F, D, Activation::None);
        be.dropout_forward(a.h2, a.h2, TD, sites.ffn_output(i));
      }
      const SitePlan& plan = site_plans_[i][s];
      const LayerNormRef ln = site_norm(i, s);
      SiteActs& sa = a.sites[s];
      switch (plan.kind) {
        case SitePlan::Kind::Plain:
          site.plain_forward(h, x, ln, sa);
          break;
        case SitePlan::Kind::Single:
          site.adapter_forward(h, x, ln, plan.flow, adapter_ref(*plan.adapter, i, s),
                               sites.adapter(i, s, plan.adapter->config.dropout), sa);
          break;
        case SitePlan::Kind::Fusion: {
          // Inference (no dropout, nothing kept) uses the folded weights.
          const bool fold = !plan.direct && !options.train && !options.keep_activations;
          FusionRef ref = fusion_ref(plan, i, s, false, fold);
          ref.dropout = sites.fusion(i, s, fusion_dropout_p(plan.fusion->config, config_));
          last_inv_temperature_[i][s] = ref.inv_temperature;
          if (plan.direct) site.fusion_direct_forward(h, x, ln, plan.flow, ref, sa);
          else if (ref.folded) site.fusion_forward_folded(h, x, ln, plan.flow, ref, sa);
          else site.fusion_forward(h, x, ln, plan.flow, ref, sa);
          if (fusion_attentions && s == 1) {
            auto& outp = (*fusion_attentions)[i];
            outp.resize(static_cast<size_t>(T) * plan.N);
            be.copy_to_host(outp.data(), sa.probs, outp.size() * sizeof(float));
          }
          anneal_temperature(plan, i, s);
          break;
        }
      }
      if (s == 0) x1 = sa.out;
    }
    if (hidden_states) copy_out(hidden_states + (i + 1) * TD, a.sites[1].out);
  }
  if (last_hidden_state) copy_out(last_hidden_state, last_hidden_device());
  be.synchronize();

  have_activations_ = options.keep_activations;
  last_options_ = options;
  last_B_ = B;
  last_L_ = L;
}

// ---------------------------------------------------------------- backward

void BertModel::qkv_grad_slices(const BertLayerParams& lp, float** dW, float** db) {
  const size_t D = config_.hidden_size;
  auto tr = [&](size_t i) { return store_[i].trainable; };
  bool all_w = tr(lp.q_w) && tr(lp.k_w) && tr(lp.v_w), any_w = tr(lp.q_w) || tr(lp.k_w) || tr(lp.v_w);
  bool all_b = tr(lp.q_b) && tr(lp.k_b) && tr(lp.v_b), any_b = tr(lp.q_b) || tr(lp.k_b) || tr(lp.v_b);
  *dW = all_w ? g(lp.q_w) : any_w ? qkv_grad_scratch_.get() : nullptr;
  *db = all_b ? g(lp.q_b) : any_b ? qkv_grad_scratch_.get() + 3 * D * D : nullptr;
  if ((any_w && !all_w) || (any_b && !all_b))
    backend_->zero(qkv_grad_scratch_.get(), qkv_grad_scratch_.size() * sizeof(float));
}

void BertModel::backward(const float* grad_output, size_t n, float* grad_inputs_embeds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!have_activations_)
    fail(ErrorCode::InvalidArgument,
         "backward needs a preceding forward with keepActivations (training mode)");
  const size_t TD = static_cast<size_t>(last_B_) * last_L_ * config_.hidden_size;
  if (n != TD)
    fail(ErrorCode::InvalidArgument, "gradOutput must have batchSize*seqLen*hiddenSize = " +
                                         std::to_string(TD) + " values, got " + std::to_string(n));
  float* d0 = acts_buf_.get() + acts_.find("bwd.d0")->offset;
  backend_->copy_to_device(d0, grad_output, TD * sizeof(float));
  backward_locked(d0, grad_inputs_embeds);
}

// grad_output_device must be the "bwd.d0" buffer.
int BertModel::lowest_trained_layer() const {
  int lowest = config_.num_hidden_layers;
  const std::string layer = "encoder.layer.";
  for (size_t i = 0; i < store_.size(); ++i) {
    const TensorEntry& e = store_[i];
    if (!e.trainable) continue;
    if (e.name.rfind("embeddings.", 0) == 0) return -1;
    if (e.name.rfind(layer, 0) == 0) lowest = std::min(lowest, std::atoi(e.name.c_str() + layer.size()));
  }
  return lowest;
}

void BertModel::backward_locked(const float* grad_output_device, float* grad_inputs_embeds) {
  Backend& be = *backend_;
  const int B = last_B_, L = last_L_, T = B * L;
  const int D = config_.hidden_size, F = config_.intermediate_size,
            H = config_.num_attention_heads, Dh = config_.head_size();
  const size_t TD = static_cast<size_t>(T) * D;
  const DropoutSites sites(last_options_, config_);
  auto act = [&](const char* name) -> float* {
    const TensorEntry* e = acts_.find(name);
    return e ? acts_buf_.get() + e->offset : nullptr;
  };
  float* bufs[3] = {act("bwd.d0"), act("bwd.d1"), act("bwd.d2")};
  AF_CHECK(grad_output_device == bufs[0], "backward starts in bwd.d0");
  // A [T,D] gradient buffer that is neither of the two in use.
  auto free_buf = [&](const float* u, const float* v) {
    for (float* b : bufs)
      if (b != u && b != v) return b;
    AF_CHECK(false, "gradient buffers");
    return bufs[0];
  };
  float* ddrop = act("bwd.drop");
  float* dffn = act("bwd.dffn");
  float* dctx = act("bwd.dctx");
  float* dqkv = act("bwd.dqkv");
  float* dattn = act("bwd.attn");
  SiteScratch scratch{act("bwd.s.a"), act("bwd.s.b"), act("bwd.s.c"), act("bwd.s.e"),
                      act("bwd.s.r1"), act("bwd.s.r2"), act("bwd.s.r3"), act("bwd.s.n1"),
                      act("bwd.s.n2"), act("bwd.s.t1")};
  int32_t* ids = ids_buf_.get();
  int32_t* types = ids + T;
  // Dropout's backward into `ddrop`, or the gradient itself when dropout was off.
  auto through_dropout = [&](const float* dgrad, DropoutSpec spec) -> const float* {
    if (!spec.active()) return dgrad;
    be.dropout_backward(ddrop, dgrad, TD, spec);
    return ddrop;
  };
  AdapterSite site(be, B, L, D);
  // Site backward: dh assigned into `dh`; returns the buffer holding d(residual input).
  auto site_backward = [&](int i, int s, const LayerActs& a, const float* dout, float* dh, float* dx_buf) -> float* {
    const SitePlan& plan = site_plans_[i][s];
    const LayerNormRef ln = site_norm(i, s);
    const float* h = s == 0 ? a.h1 : a.h2;
    switch (plan.kind) {
      case SitePlan::Kind::Plain:
        return site.plain_backward(dout, ln, a.sites[s], dh);
      case SitePlan::Kind::Single:
        return site.adapter_backward(dout, h, ln, plan.flow, adapter_ref(*plan.adapter, i, s),
                                     sites.adapter(i, s, plan.adapter->config.dropout), a.sites[s], dh,
                                     dx_buf, scratch);
      case SitePlan::Kind::Fusion: {
        FusionRef ref = fusion_ref(plan, i, s, true);
        ref.dropout = sites.fusion(i, s, fusion_dropout_p(plan.fusion->config, config_));
        ref.inv_temperature = last_inv_temperature_[i][s];
        float* dx = plan.direct ? site.fusion_direct_backward(dout, h, ln, plan.flow, ref, a.sites[s], dh, dx_buf, scratch)
                                   : site.fusion_backward(dout, h, ln, plan.flow, ref, a.sites[s], dh, dx_buf, scratch);
        if (ref.g_down_all) scatter_fusion_adapter_grads(plan, i, s);
        return dx;
      }
    }
    return dh;
  };

  float* dout = bufs[0];  // dL/d(layer output)
  // The backward stops below the lowest layer that holds a trainable parameter: nothing under
  // it needs a gradient (unless the caller asked for the input embeddings' gradient).
  const int stop = grad_inputs_embeds ? -1 : lowest_trained_layer();
  for (int i = config_.num_hidden_layers - 1; i >= std::max(stop, 0); --i) {
    const BertLayerParams& lp = layers_[i];
    LayerActs a = layer_acts(i);
    // FFN site, then the FFN: dx1 accumulates the FFN input path.
    float* dh2 = free_buf(dout, nullptr);
    float* dx1 = site_backward(i, 1, a, dout, dh2, free_buf(dout, dh2));
    const float* dh2d = through_dropout(dh2, sites.ffn_output(i));
    be.linear_backward(dffn, g(lp.out_w), g(lp.out_b), dh2d, a.ffn_act, p(lp.out_w), T, F, D, false);
    be.activation_backward(dffn, dffn, a.ffn_pre, static_cast<size_t>(T) * F, Activation::Gelu);
    be.linear_backward(dx1, g(lp.inter_w), g(lp.inter_b), dffn, a.sites[0].out, p(lp.inter_w), T, D, F, true);
    // Attention site, then attention: din accumulates the q/k/v input path.
    float* dh1 = free_buf(dx1, nullptr);
    float* din = site_backward(i, 0, a, dx1, dh1, free_buf(dx1, dh1));
    const float* dh1d = through_dropout(dh1, sites.attention_output(i));
    be.linear_backward(dctx, g(lp.attn_out_w), g(lp.attn_out_b), dh1d, a.ctx, p(lp.attn_out_w), T, D, D, false);
    be.attention_backward(dqkv, dctx, a.qkv, a.probs, mask_buf_.get(), B, L, H, Dh, sites.attention_probs(i), dattn);
    float *dWqkv, *dbqkv;
    qkv_grad_slices(lp, &dWqkv, &dbqkv);
    be.linear_backward(din, dWqkv, dbqkv, dqkv, a.in, p(lp.q_w), T, D, 3 * D, true);
    // Mixed q/k/v trainability: move the trainable slices out of the scratch.
    if (dWqkv && dWqkv != g(lp.q_w)) {
      const size_t DD = static_cast<size_t>(D) * D;
      const size_t w[3] = {lp.q_w, lp.k_w, lp.v_w};
      for (int k = 0; k < 3; ++k)
        if (g(w[k])) be.add(g(w[k]), dWqkv + k * DD, nullptr, DD);
    }
    if (dbqkv && dbqkv != g(lp.q_b)) {
      const size_t bi[3] = {lp.q_b, lp.k_b, lp.v_b};
      for (int k = 0; k < 3; ++k)
        if (g(bi[k])) be.add(g(bi[k]), dbqkv + k * static_cast<size_t>(D), nullptr, D);
    }
    dout = din;
  }
  if (stop >= 0) {
    be.synchronize();
    mark_encoder_written();
    return;
  }
  // Embeddings: x0 = dropout(LN(sum)); dsum = dL/dsum = dL/d(inputs_embeds).
  const float* dx0 = through_dropout(dout, sites.embeddings());
  float* dsum = free_buf(dout, dx0);
  be.layernorm_backward(dsum, g(emb_ln_w_), g(emb_ln_b_), dx0, act("emb.sum"), p(emb_ln_w_),
                        act("emb.mean"), act("emb.rstd"), T, D, false);
  if (g(word_emb_) || g(pos_emb_) || g(type_emb_))
    be.embeddings_backward(g(word_emb_), g(pos_emb_), g(type_emb_), dsum, ids, types, B, L, D);
  // HF's word embedding has padding_idx = pad_token_id: that row never gets a gradient.
  if (g(word_emb_))
    be.zero(g(word_emb_) + static_cast<size_t>(config_.pad_token_id) * D, D * sizeof(float));
  if (grad_inputs_embeds) be.copy_to_host(grad_inputs_embeds, dsum, TD * sizeof(float));
  be.synchronize();
  mark_encoder_written();
}

// What backward_locked wrote: every encoder and embedding entry, and the adapters and fusion
// layers of the sites that ran one (per the site plans of the last forward).
void BertModel::mark_encoder_written() {
  auto mark = [&](size_t i) {
    if (i != SIZE_MAX) store_.mark_written(i);
  };
  for (size_t i : {word_emb_, pos_emb_, type_emb_, emb_ln_w_, emb_ln_b_}) mark(i);
  auto mark_adapter = [&](const AdapterEntry& a, int layer, int site) {
    const AdapterSiteParams& sp = a.sites[layer][site];
    if (!sp.present) return;
    for (size_t i : {sp.down_w, sp.down_b, sp.up_w, sp.up_b}) mark(i);
  };
  for (int l = 0; l < config_.num_hidden_layers; ++l) {
    const BertLayerParams& lp = layers_[l];
    for (size_t i : {lp.q_w, lp.k_w, lp.v_w, lp.q_b, lp.k_b, lp.v_b, lp.attn_out_w, lp.attn_out_b, lp.ln1_w, lp.ln1_b,
                     lp.inter_w, lp.inter_b, lp.out_w, lp.out_b, lp.ln2_w, lp.ln2_b})
      mark(i);
    for (int s = 0; s < kSites; ++s) {
      const SitePlan& plan = site_plans_[l][s];
      if (plan.kind == SitePlan::Kind::Single) {
        mark_adapter(*plan.adapter, l, s);
      } else if (plan.kind == SitePlan::Kind::Fusion) {
        for (const AdapterEntry* a : plan.fused) mark_adapter(*a, l, s);
        const FusionSiteParams& fp = plan.fusion->sites[l][s];
        for (size_t i : {fp.q_w, fp.q_b, fp.k_w, fp.k_b, fp.v_w}) mark(i);
      }
    }
  }
}

}  // namespace af
