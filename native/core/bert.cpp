#include "bert.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "dropout_rng.h"
#include "errors.h"

namespace af {

namespace {

// Dropout call sites get disjoint counter ranges: site k uses counters [k << 40, ...).
DropoutSpec dropout_at(const ForwardOptions& o, float p, uint64_t site) {
  DropoutSpec d;
  if (!o.train) return d;
  d.p = p;
  d.seed = o.seed;
  d.offset = site << 40;
  return d;
}
uint64_t site_embeddings() { return 0; }
uint64_t site_attention_probs(int layer) { return 1 + 3ull * layer; }
uint64_t site_attention_output(int layer) { return 2 + 3ull * layer; }
uint64_t site_ffn_output(int layer) { return 3 + 3ull * layer; }

}  // namespace

// Activations of one layer (pointers into the arena); `in` is the layer's input, `out` its
// output (the next layer's input).
struct BertModel::LayerActs {
  float *in, *qkv, *probs, *ctx, *a1, *ln1_mean, *ln1_rstd, *x1, *ffn_pre, *ffn_act, *a2,
      *ln2_mean, *ln2_rstd, *out;
};

BertModel::BertModel(std::shared_ptr<Backend> backend, const BertConfig& config)
    : backend_(std::move(backend)), config_(config) {
  config_.validate("BertConfig");
  const int64_t D = config_.hidden_size, F = config_.intermediate_size;
  word_emb_ = params_.add("embeddings.word_embeddings.weight", {config_.vocab_size, D});
  pos_emb_ = params_.add("embeddings.position_embeddings.weight", {config_.max_position_embeddings, D});
  type_emb_ = params_.add("embeddings.token_type_embeddings.weight", {config_.type_vocab_size, D});
  emb_ln_w_ = params_.add("embeddings.LayerNorm.weight", {D});
  emb_ln_b_ = params_.add("embeddings.LayerNorm.bias", {D});
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    const std::string pre = "encoder.layer." + std::to_string(i) + ".";
    BertLayerParams lp;
    lp.q_w = params_.add(pre + "attention.self.query.weight", {D, D});
    lp.k_w = params_.add(pre + "attention.self.key.weight", {D, D});
    lp.v_w = params_.add(pre + "attention.self.value.weight", {D, D});
    lp.q_b = params_.add(pre + "attention.self.query.bias", {D});
    lp.k_b = params_.add(pre + "attention.self.key.bias", {D});
    lp.v_b = params_.add(pre + "attention.self.value.bias", {D});
    lp.attn_out_w = params_.add(pre + "attention.output.dense.weight", {D, D});
    lp.attn_out_b = params_.add(pre + "attention.output.dense.bias", {D});
    lp.ln1_w = params_.add(pre + "attention.output.LayerNorm.weight", {D});
    lp.ln1_b = params_.add(pre + "attention.output.LayerNorm.bias", {D});
    lp.inter_w = params_.add(pre + "intermediate.dense.weight", {F, D});
    lp.inter_b = params_.add(pre + "intermediate.dense.bias", {F});
    lp.out_w = params_.add(pre + "output.dense.weight", {D, F});
    lp.out_b = params_.add(pre + "output.dense.bias", {D});
    lp.ln2_w = params_.add(pre + "output.LayerNorm.weight", {D});
    lp.ln2_b = params_.add(pre + "output.LayerNorm.bias", {D});
    layers_.push_back(lp);
  }
  for (const auto& lp : layers_) {
    AF_CHECK(params_[lp.k_w].offset == params_[lp.q_w].offset + D * D &&
                 params_[lp.v_w].offset == params_[lp.k_w].offset + D * D,
             "q/k/v weights contiguous");
    AF_CHECK(params_[lp.k_b].offset == params_[lp.q_b].offset + D &&
                 params_[lp.v_b].offset == params_[lp.k_b].offset + D,
             "q/k/v biases contiguous");
  }
  params_buf_.reset(*backend_, params_.total_floats());
  backend_->zero(params_buf_.get(), params_.total_floats() * sizeof(float));
  set_trainable(std::vector<bool>(params_.size(), false));
}

// ---------------------------------------------------------------- parameters

void BertModel::init_weights(uint64_t seed, float stddev) {
  std::vector<float> host;
  uint64_t counter = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const TensorEntry& e = params_[i];
    host.assign(e.numel, 0.0f);
    const bool is_ln = e.name.find("LayerNorm") != std::string::npos;
    if (is_ln && e.name.size() > 7 && e.name.compare(e.name.size() - 7, 7, ".weight") == 0) {
      host.assign(e.numel, 1.0f);
    } else if (e.shape.size() == 2) {
      for (size_t k = 0; k < e.numel; k += 2) {  // Box-Muller on the counter-based generator
        const double u1 = 1.0 - dropout_uniform(seed, counter++), u2 = dropout_uniform(seed, counter++);
        const double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
        host[k] = static_cast<float>(stddev * r * std::cos(th));
        if (k + 1 < e.numel) host[k + 1] = static_cast<float>(stddev * r * std::sin(th));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    backend_->copy_to_device(p(i), host.data(), host.size() * sizeof(float));
  }
}

void BertModel::set_param(size_t index, const float* host, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < params_.size(), "parameter index");
  if (n != params_[index].numel)
    fail(ErrorCode::ShapeMismatch, params_[index].name + ": expected " +
                                       std::to_string(params_[index].numel) + " values, got " +
                                       std::to_string(n));
  backend_->copy_to_device(p(index), host, n * sizeof(float));
}

void BertModel::get_param(size_t index, float* host, size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < params_.size() && n == params_[index].numel, "parameter index/size");
  backend_->copy_to_host(host, p(index), n * sizeof(float));
}

float* BertModel::g(size_t index) const {
  const TensorEntry& e = params_[index];
  return e.trainable ? grads_buf_.get() + e.grad_offset : nullptr;
}

void BertModel::set_trainable(const std::vector<bool>& trainable) {
  if (trainable.size() != params_.size())
    fail(ErrorCode::InvalidArgument, "set_trainable: expected one flag per parameter");
  size_t n = params_.set_trainable(trainable);
  grads_buf_.reset(*backend_, n);
  if (n) backend_->zero(grads_buf_.get(), n * sizeof(float));
  const int64_t D = config_.hidden_size;
  bool mixed = false;
  for (const auto& lp : layers_) {
    bool w = params_[lp.q_w].trainable, b = params_[lp.q_b].trainable;
    mixed |= params_[lp.k_w].trainable != w || params_[lp.v_w].trainable != w;
    mixed |= params_[lp.k_b].trainable != b || params_[lp.v_b].trainable != b;
  }
  qkv_grad_scratch_.reset(*backend_, mixed ? static_cast<size_t>(3 * D * D + 3 * D) : 0);
}

void BertModel::zero_grad() {
  std::lock_guard<std::mutex> lock(mu_);
  if (grads_buf_.size()) backend_->zero(grads_buf_.get(), grads_buf_.size() * sizeof(float));
}

void BertModel::get_grad(size_t index, float* host, size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < params_.size() && n == params_[index].numel, "parameter index/size");
  if (!params_[index].trainable)
    fail(ErrorCode::InvalidArgument, params_[index].name + " is frozen: it has no gradient");
  backend_->copy_to_host(host, g(index), n * sizeof(float));
}

// ---------------------------------------------------------------- activations

void BertModel::plan_activations(int B, int L, bool keep) {
  if (B == planned_B_ && L == planned_L_ && keep == planned_keep_) return;
  const int64_t T = static_cast<int64_t>(B) * L, D = config_.hidden_size,
                F = config_.intermediate_size, H = config_.num_attention_heads;
  TensorTable t;
  t.add("emb.sum", {T, D});
  t.add("emb.mean", {T});
  t.add("emb.rstd", {T});
  t.add("hidden.0", {T, D});
  const int stored_layers = keep ? config_.num_hidden_layers : 1;
  for (int i = 0; i < stored_layers; ++i) {
    const std::string pre = "layer." + std::to_string(i) + ".";
    t.add(pre + "qkv", {T, 3 * D});
    t.add(pre + "probs", {B, H, L, L});
    t.add(pre + "ctx", {T, D});
    t.add(pre + "a1", {T, D});
    t.add(pre + "ln1.mean", {T});
    t.add(pre + "ln1.rstd", {T});
    t.add(pre + "x1", {T, D});
    if (keep) t.add(pre + "ffn.pre", {T, F});
    t.add(pre + "ffn.act", {T, F});
    t.add(pre + "a2", {T, D});
    t.add(pre + "ln2.mean", {T});
    t.add(pre + "ln2.rstd", {T});
    if (keep) t.add("hidden." + std::to_string(i + 1), {T, D});
  }
  if (!keep) t.add("hidden.pong", {T, D});  // inference: layer outputs alternate two buffers
  if (keep) {
    t.add("bwd.d0", {T, D});
    t.add("bwd.d1", {T, D});
    t.add("bwd.drop", {T, D});
    t.add("bwd.dffn", {T, F});
    t.add("bwd.dctx", {T, D});
    t.add("bwd.dqkv", {T, 3 * D});
    t.add("bwd.attn", {static_cast<int64_t>(Backend::attention_backward_scratch(B, L, H))});
  }
  acts_buf_.reset(*backend_, 0);  // free first: the old arena may be large
  acts_buf_.reset(*backend_, t.total_floats());
  acts_ = std::move(t);
  planned_B_ = B;
  planned_L_ = L;
  planned_keep_ = keep;
}

BertModel::LayerActs BertModel::layer_acts(int layer) const {
  auto at = [&](const std::string& name) -> float* {
    const TensorEntry* e = acts_.find(name);
    return e ? acts_buf_.get() + e->offset : nullptr;
  };
  const int slot = planned_keep_ ? layer : 0;
  const std::string pre = "layer." + std::to_string(slot) + ".";
  LayerActs a;
  if (planned_keep_) {
    a.in = at("hidden." + std::to_string(layer));
    a.out = at("hidden." + std::to_string(layer + 1));
  } else {
    float* ping = at("hidden.0");
    float* pong = at("hidden.pong");
    a.in = layer % 2 == 0 ? ping : pong;
    a.out = layer % 2 == 0 ? pong : ping;
  }
  a.qkv = at(pre + "qkv");
  a.probs = at(pre + "probs");
  a.ctx = at(pre + "ctx");
  a.a1 = at(pre + "a1");
  a.ln1_mean = at(pre + "ln1.mean");
  a.ln1_rstd = at(pre + "ln1.rstd");
  a.x1 = at(pre + "x1");
  a.ffn_pre = at(pre + "ffn.pre");  // null in inference: GELU's input is not kept
  a.ffn_act = at(pre + "ffn.act");
  a.a2 = at(pre + "a2");
  a.ln2_mean = at(pre + "ln2.mean");
  a.ln2_rstd = at(pre + "ln2.rstd");
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

void BertModel::forward(const BertBatch& batch, const ForwardOptions& options,
                        float* last_hidden_state, float* hidden_states) {
  std::lock_guard<std::mutex> lock(mu_);
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
  std::vector<int32_t> zeros;
  if (batch.token_type_ids) {
    be.copy_to_device(types, batch.token_type_ids, T * sizeof(int32_t));
  } else {
    zeros.assign(T, 0);
    be.copy_to_device(types, zeros.data(), T * sizeof(int32_t));
  }
  std::vector<float> mask(T, 1.0f);
  if (batch.attention_mask)
    for (int t = 0; t < T; ++t) mask[t] = static_cast<float>(batch.attention_mask[t]);
  be.copy_to_device(mask_buf_.get(), mask.data(), T * sizeof(float));

  auto act = [&](const char* name) { return acts_buf_.get() + acts_.find(name)->offset; };
  auto copy_out = [&](float* host, const float* dev) {
    be.copy_to_host(host, dev, static_cast<size_t>(T) * D * sizeof(float));
  };

  // Embeddings: x0 = dropout(LN(wte[id] + wpe[pos] + wtt[type])).
  float* emb_sum = act("emb.sum");
  float* x0 = act("hidden.0");
  be.embeddings_forward(emb_sum, ids, types, p(word_emb_), p(pos_emb_), p(type_emb_), B, L, D);
  be.layernorm_forward(x0, act("emb.mean"), act("emb.rstd"), emb_sum, p(emb_ln_w_), p(emb_ln_b_), T, D, eps);
  be.dropout_forward(x0, x0, static_cast<size_t>(T) * D,
                     dropout_at(options, config_.hidden_dropout_prob, site_embeddings()));
  if (hidden_states) copy_out(hidden_states, x0);

  const size_t TD = static_cast<size_t>(T) * D;
  for (int i = 0; i < config_.num_hidden_layers; ++i) {
    const BertLayerParams& lp = layers_[i];
    LayerActs a = layer_acts(i);
    // Self-attention: qkv = x Wqkv^T + b; ctx = softmax(q k^T/sqrt(Dh) + mask) v.
    be.linear_forward(a.qkv, nullptr, a.in, p(lp.q_w), p(lp.q_b), T, D, 3 * D, Activation::None);
    be.attention_forward(a.ctx, a.probs, a.qkv, mask_buf_.get(), B, L, H, Dh,
                         dropout_at(options, config_.attention_probs_dropout_prob, site_attention_probs(i)));
    // x1 = LN1(dropout(ctx Wo^T + b) + x)
    be.linear_forward(a.a1, nullptr, a.ctx, p(lp.attn_out_w), p(lp.attn_out_b), T, D, D, Activation::None);
    be.dropout_forward(a.a1, a.a1, TD, dropout_at(options, config_.hidden_dropout_prob, site_attention_output(i)));
    be.add(a.a1, a.a1, a.in, TD);
    be.layernorm_forward(a.x1, a.ln1_mean, a.ln1_rstd, a.a1, p(lp.ln1_w), p(lp.ln1_b), T, D, eps);
    // out = LN2(dropout(gelu(x1 Wi^T + bi) Wo2^T + bo2) + x1)
    be.linear_forward(a.ffn_act, a.ffn_pre, a.x1, p(lp.inter_w), p(lp.inter_b), T, D, F, Activation::Gelu);
    be.linear_forward(a.a2, nullptr, a.ffn_act, p(lp.out_w), p(lp.out_b), T, F, D, Activation::None);
    be.dropout_forward(a.a2, a.a2, TD, dropout_at(options, config_.hidden_dropout_prob, site_ffn_output(i)));
    be.add(a.a2, a.a2, a.x1, TD);
    be.layernorm_forward(a.out, a.ln2_mean, a.ln2_rstd, a.a2, p(lp.ln2_w), p(lp.ln2_b), T, D, eps);
    if (hidden_states) copy_out(hidden_states + (i + 1) * TD, a.out);
  }
  const float* last = config_.num_hidden_layers ? layer_acts(config_.num_hidden_layers - 1).out : x0;
  if (last_hidden_state) copy_out(last_hidden_state, last);
  be.synchronize();

  have_activations_ = options.keep_activations;
  last_options_ = options;
  last_B_ = B;
  last_L_ = L;
}

// ---------------------------------------------------------------- backward

void BertModel::qkv_grad_slices(const BertLayerParams& lp, float** dW, float** db) {
  const size_t D = config_.hidden_size;
  bool all_w = params_[lp.q_w].trainable && params_[lp.k_w].trainable && params_[lp.v_w].trainable;
  bool any_w = params_[lp.q_w].trainable || params_[lp.k_w].trainable || params_[lp.v_w].trainable;
  bool all_b = params_[lp.q_b].trainable && params_[lp.k_b].trainable && params_[lp.v_b].trainable;
  bool any_b = params_[lp.q_b].trainable || params_[lp.k_b].trainable || params_[lp.v_b].trainable;
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
  Backend& be = *backend_;
  const int B = last_B_, L = last_L_, T = B * L;
  const int D = config_.hidden_size, F = config_.intermediate_size,
            H = config_.num_attention_heads, Dh = config_.head_size();
  const size_t TD = static_cast<size_t>(T) * D;
  const ForwardOptions& o = last_options_;
  if (n != TD)
    fail(ErrorCode::InvalidArgument, "gradOutput must have batchSize*seqLen*hiddenSize = " +
                                         std::to_string(TD) + " values, got " + std::to_string(n));
  auto act = [&](const char* name) { return acts_buf_.get() + acts_.find(name)->offset; };
  float* d0 = act("bwd.d0");
  float* d1 = act("bwd.d1");
  float* ddrop = act("bwd.drop");
  float* dffn = act("bwd.dffn");
  float* dctx = act("bwd.dctx");
  float* dqkv = act("bwd.dqkv");
  float* dattn = act("bwd.attn");
  int32_t* ids = ids_buf_.get();
  int32_t* types = ids + T;

  // Dropout's backward into `scratch`, or the gradient itself when dropout was off.
  auto through_dropout = [&](float* dgrad, DropoutSpec spec) -> float* {
    if (!spec.active()) return dgrad;
    be.dropout_backward(ddrop, dgrad, TD, spec);
    return ddrop;
  };

  be.copy_to_device(d0, grad_output, TD * sizeof(float));
  for (int i = config_.num_hidden_layers - 1; i >= 0; --i) {
    const BertLayerParams& lp = layers_[i];
    LayerActs a = layer_acts(i);
    // d0 holds dL/d(out). LN2 backward: d1 = dL/da2.
    be.layernorm_backward(d1, g(lp.ln2_w), g(lp.ln2_b), d0, a.a2, p(lp.ln2_w), a.ln2_mean, a.ln2_rstd, T, D, false);
    float* dh2 = through_dropout(d1, dropout_at(o, config_.hidden_dropout_prob, site_ffn_output(i)));
    be.linear_backward(dffn, g(lp.out_w), g(lp.out_b), dh2, a.ffn_act, p(lp.out_w), T, F, D, false);
    be.activation_backward(dffn, dffn, a.ffn_pre, static_cast<size_t>(T) * F, Activation::Gelu);
    // Residual: dL/dx1 = d1 (through a2 = h2 + x1) + the FFN input path.
    be.linear_backward(d1, g(lp.inter_w), g(lp.inter_b), dffn, a.x1, p(lp.inter_w), T, D, F, true);
    // LN1 backward: d0 = dL/da1 (dL/dout is no longer needed).
    be.layernorm_backward(d0, g(lp.ln1_w), g(lp.ln1_b), d1, a.a1, p(lp.ln1_w), a.ln1_mean, a.ln1_rstd, T, D, false);
    float* dh1 = through_dropout(d0, dropout_at(o, config_.hidden_dropout_prob, site_attention_output(i)));
    be.linear_backward(dctx, g(lp.attn_out_w), g(lp.attn_out_b), dh1, a.ctx, p(lp.attn_out_w), T, D, D, false);
    be.attention_backward(dqkv, dctx, a.qkv, a.probs, mask_buf_.get(), B, L, H, Dh,
                          dropout_at(o, config_.attention_probs_dropout_prob, site_attention_probs(i)), dattn);
    // Residual: dL/din = d0 (through a1 = h1 + in) + the q/k/v input path.
    float *dWqkv, *dbqkv;
    qkv_grad_slices(lp, &dWqkv, &dbqkv);
    be.linear_backward(d0, dWqkv, dbqkv, dqkv, a.in, p(lp.q_w), T, D, 3 * D, true);
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
  }
  // Embeddings: x0 = dropout(LN(sum)); d1 = dL/dsum = dL/d(inputs_embeds).
  float* dx0 = through_dropout(d0, dropout_at(o, config_.hidden_dropout_prob, site_embeddings()));
  be.layernorm_backward(d1, g(emb_ln_w_), g(emb_ln_b_), dx0, act("emb.sum"), p(emb_ln_w_),
                        act("emb.mean"), act("emb.rstd"), T, D, false);
  if (g(word_emb_) || g(pos_emb_) || g(type_emb_))
    be.embeddings_backward(g(word_emb_), g(pos_emb_), g(type_emb_), d1, ids, types, B, L, D);
  // HF's word embedding has padding_idx = pad_token_id: that row never gets a gradient.
  if (g(word_emb_))
    be.zero(g(word_emb_) + static_cast<size_t>(config_.pad_token_id) * D, D * sizeof(float));
  if (grad_inputs_embeds) be.copy_to_host(grad_inputs_embeds, d1, TD * sizeof(float));
  be.synchronize();
}

}  // namespace af
