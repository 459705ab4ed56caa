// Heads and losses: the active head on the [CLS] rows of the encoder output, cross-entropy
// or MSE, the fusion value regulariser, and the backward from the logits into the encoder.
#include <cmath>

#include "bert.h"
#include "errors.h"
#include "model_internal.h"

namespace af {

const BertModel::HeadEntry& BertModel::head(const std::string& name) const {
  for (const auto& h : heads_)
    if (h.name == name) return h;
  fail(ErrorCode::InvalidArgument, "no head named \"" + name + "\"");
}

void BertModel::mark_head_written(const HeadEntry& h) {
  for (size_t i : h.params.weight) store_.mark_written(i);
  for (size_t i : h.params.bias)
    if (i != SIZE_MAX) store_.mark_written(i);
}

bool BertModel::trains_below_head(const HeadEntry& h) const {
  std::vector<bool> own(store_.size(), false);
  for (size_t i : h.params.weight) own[i] = true;
  for (size_t i : h.params.bias)
    if (i != SIZE_MAX) own[i] = true;
  for (size_t i = 0; i < store_.size(); ++i)
    if (store_[i].trainable && !own[i]) return true;
  return false;
}

int BertModel::examples(int batch_size) const {
  std::lock_guard<std::mutex> lock(mu_);
  return examples_locked(batch_size);
}

int BertModel::examples_locked(int batch_size) const {
  if (active_head_.empty()) return batch_size;
  const HeadConfig& c = head(active_head_).config;
  if (c.type != HeadType::MultipleChoice) return batch_size;
  if (batch_size % c.num_choices != 0)
    fail(ErrorCode::InvalidArgument, "a multiple-choice batch needs batchSize = examples * numChoices (" +
                                         std::to_string(c.num_choices) + "), got " + std::to_string(batch_size));
  return batch_size / c.num_choices;
}

int BertModel::head_classes() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (active_head_.empty()) fail(ErrorCode::InvalidArgument, "no active head: call setActiveAdapters(..., { head })");
  return head(active_head_).config.classes();
}

BertModel::LossResult BertModel::run_head(const BertBatch& batch, const ForwardOptions& options,
                                          const int32_t* labels, const float* targets, bool backward,
                                          float* logits, FusionAttentions* fusion_attentions) {
  std::lock_guard<std::mutex> lock(mu_);
  if (active_head_.empty()) fail(ErrorCode::InvalidArgument, "no active head: call setActiveAdapters(..., { head })");
  const HeadEntry& h = head(active_head_);
  const HeadConfig& hc = h.config;
  const int B = batch.batch_size;
  const int E = examples_locked(B), C = hc.classes(), D = config_.hidden_size;
  if (backward && !labels && !targets) fail(ErrorCode::InvalidArgument, "training needs labels");
  if (hc.regression() && labels) fail(ErrorCode::InvalidArgument, "a regression head (num_labels 1) takes float targets, not labels");
  if (!hc.regression() && targets) fail(ErrorCode::InvalidArgument, "a classification head takes integer labels, not float targets");
  if (labels)
    for (int e = 0; e < E; ++e)
      if (labels[e] < 0 || labels[e] >= C)
        fail(ErrorCode::InvalidArgument, "labels[" + std::to_string(e) + "] = " + std::to_string(labels[e]) +
                                             " is outside [0, " + std::to_string(C) + ")");
  ForwardOptions fo = options;
  // Head-only training (nothing below the head trains) needs no encoder backward, so the
  // forward keeps no activations for one.
  const bool encoder_backward = backward && trains_below_head(h);
  fo.keep_activations = fo.keep_activations || encoder_backward;
  forward_locked(batch, fo, nullptr, nullptr, fusion_attentions);

  Backend& be = *backend_;
  const int L = batch.seq_len;
  const int layers = hc.layers;
  const DropoutSites sites(fo, config_);
  const double head_p = hc.dropout_prob >= 0 ? hc.dropout_prob : config_.hidden_dropout_prob;
  // x[k]: input of Linear k ([B, D]); xd[k]: after dropout; z[k]: pre-activation of hidden k.
  std::vector<DeviceBuffer<float>> x(layers + 1), xd(layers), z(layers);
  x[0].reset(be, size_t(B) * D);
  be.copy_rows(x[0].get(), D, last_hidden_device(), size_t(L) * D, B, D, false);  // [CLS] rows
  for (int k = 0; k < layers; ++k) {
    const bool last = k == layers - 1;
    const int O = last ? hc.outputs() : D;
    const DropoutSpec drop = sites.head(k, head_p);
    const float* in = x[k].get();
    if (drop.active()) {
      xd[k].reset(be, size_t(B) * D);
      be.dropout_forward(xd[k].get(), in, size_t(B) * D, drop);
      in = xd[k].get();
    }
    x[k + 1].reset(be, size_t(B) * O);
    if (!last) z[k].reset(be, size_t(B) * O);
    const size_t b = h.params.bias[k];
    be.linear_forward(x[k + 1].get(), last ? nullptr : z[k].get(), in, p(h.params.weight[k]),
                      b == SIZE_MAX ? nullptr : p(b), B, D, O, last ? Activation::None : hc.activation);
  }
  // Logits [B, outputs] are [E, C] (multiple choice: one score per row, C rows per example).
  const float* dev_logits = x[layers].get();
  const size_t EC = size_t(E) * C;
  if (logits) be.copy_to_host(logits, dev_logits, EC * sizeof(float));

  LossResult result;
  DeviceBuffer<float> dlogits;
  if (labels || targets) {
    dlogits.reset(be, EC);
    if (hc.regression()) {
      std::vector<float> host(EC), grad(EC);
      be.copy_to_host(host.data(), dev_logits, EC * sizeof(float));
      double sum = 0;
      for (int e = 0; e < E; ++e) {
        const double diff = double(host[e]) - targets[e];
        sum += diff * diff;
        grad[e] = static_cast<float>(2.0 * diff / E);
      }
      result.loss_ce = sum / E;
      be.copy_to_device(dlogits.get(), grad.data(), EC * sizeof(float));
    } else {
      DeviceBuffer<float> losses(be, E), probs(be, EC);
      DeviceBuffer<int32_t> dev_labels(be, E);
      be.copy_to_device(dev_labels.get(), labels, sizeof(int32_t) * E);
      be.cross_entropy_forward(losses.get(), probs.get(), dev_logits, dev_labels.get(), E, C);
      std::vector<float> host(E);
      be.copy_to_host(host.data(), losses.get(), sizeof(float) * E);
      double sum = 0;
      for (float v : host) sum += v;
      result.loss_ce = sum / E;
      be.cross_entropy_backward(dlogits.get(), probs.get(), dev_labels.get(), E, C, 1.0f / E);
    }
    // AdapterFusion's value regulariser: 0.01 * sum over fusion layers of ||I - W_v||^2.
    if (active_.kind == ActiveSetup::Kind::Fuse) {
      for (int i = 0; i < config_.num_hidden_layers; ++i)
        for (int s = 0; s < kSites; ++s) {
          const SitePlan& plan = site_plans_[i][s];
          if (plan.kind != SitePlan::Kind::Fusion || !plan.fusion->config.regularization) continue;
          const size_t v = plan.fusion->sites[i][s].v_w;
          if (v == SIZE_MAX) continue;
          result.loss_reg += be.identity_regularizer(backward ? g(v) : nullptr, p(v), D, 0.01f);
        }
    }
    result.loss = result.loss_ce + result.loss_reg;
  }
  if (!backward) return result;

  // Head backward, then into the encoder through the [CLS] rows.
  std::vector<DeviceBuffer<float>> dz(layers), din(layers);
  const float* dout = dlogits.get();
  for (int k = layers - 1; k >= 0; --k) {
    const bool last = k == layers - 1;
    const int O = last ? hc.outputs() : D;
    if (!last) {
      dz[k].reset(be, size_t(B) * O);
      be.activation_backward(dz[k].get(), dout, z[k].get(), size_t(B) * O, hc.activation);
      dout = dz[k].get();
    }
    const DropoutSpec drop = sites.head(k, head_p);
    const float* in = drop.active() ? xd[k].get() : x[k].get();
    const size_t b = h.params.bias[k];
    din[k].reset(be, size_t(B) * D);
    be.linear_backward(din[k].get(), g(h.params.weight[k]), b == SIZE_MAX ? nullptr : g(b), dout, in,
                       p(h.params.weight[k]), B, D, O, false);
    if (drop.active()) be.dropout_backward(din[k].get(), din[k].get(), size_t(B) * D, drop);
    dout = din[k].get();
  }
  if (encoder_backward) {
    float* d0 = acts_buf_.get() + acts_.find("bwd.d0")->offset;
    be.zero(d0, size_t(B) * L * D * sizeof(float));
    be.copy_rows(d0, size_t(L) * D, dout, D, B, D, false);
    backward_locked(d0, nullptr);
  }
  mark_head_written(h);
  return result;
}

}  // namespace af
