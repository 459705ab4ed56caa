// AdamW over the trainable parameters, with global-norm gradient clipping; the moments are
// laid out like the gradient buffer (trainable entries only). As torch.optim.AdamW, an entry
// that no backward wrote since the last step (an inactive task's adapter or head in
// multi-task training) is skipped, and each entry keeps its own step count.
#include <algorithm>
#include <cmath>

#include "bert.h"
#include "errors.h"

namespace af {

void BertModel::reset_optimizer_locked() {
  adam_steps_.clear();
  adam_m_.release();
  adam_v_.release();
}

void BertModel::reset_optimizer() {
  std::lock_guard<std::mutex> lock(mu_);
  reset_optimizer_locked();
}

size_t BertModel::trainable_ordinal(size_t index) const {
  size_t k = 0;
  for (size_t i = 0; i < index; ++i) k += store_[i].trainable ? 1 : 0;
  return k;
}

// Zeroed moments and step counts unless they already fit the trainable entries (they survive
// adding or removing frozen modules; set_trainable resets them).
void BertModel::ensure_optimizer_locked() {
  const size_t n = store_.grad_floats();
  const size_t count = trainable_ordinal(store_.size());
  if (adam_m_.size() == n && adam_steps_.size() == count) return;
  Backend& be = *backend_;
  adam_m_.reset(be, n);
  adam_v_.reset(be, n);
  if (n) {
    be.zero(adam_m_.get(), n * sizeof(float));
    be.zero(adam_v_.get(), n * sizeof(float));
  }
  adam_steps_.assign(count, 0);
}

void BertModel::set_weight_decay_names(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu_);
  decay_all_ = false;
  decay_names_ = std::unordered_set<std::string>(names.begin(), names.end());
}

double BertModel::optimizer_step(const AdamWOptions& o) {
  std::lock_guard<std::mutex> lock(mu_);
  Backend& be = *backend_;
  const size_t n = store_.grad_floats();
  if (n == 0) fail(ErrorCode::InvalidArgument, "no trainable parameters: nothing to optimise");
  if (!(o.lr >= 0) || !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.eps > 0) ||
      !(o.weight_decay >= 0) || !(o.max_grad_norm >= 0))
    fail(ErrorCode::InvalidArgument, "AdamW: lr, weight decay and max grad norm must be >= 0, betas in [0, 1), eps > 0");
  ensure_optimizer_locked();
  float* grads = store_.grads_base();
  // Entries nobody wrote hold zeros, so the norm over the whole buffer is the norm of the
  // gradients that exist (what clip_grad_norm_ sees).
  const double norm = std::sqrt(be.sum_squares(grads, n));
  if (!std::isfinite(norm)) fail(ErrorCode::InvalidArgument, "the gradient is not finite (NaN or inf): step skipped");
  // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
  if (o.max_grad_norm > 0) {
    const double coef = o.max_grad_norm / (norm + 1e-6);
    if (coef < 1.0) be.scale(grads, n, static_cast<float>(coef));
  }
  size_t k = 0;  // trainable ordinal
  for (size_t i = 0; i < store_.size(); ++i) {
    const TensorEntry& e = store_[i];
    if (!e.trainable) continue;
    const size_t ordinal = k++;
    if (!store_.written(i)) continue;
    const int64_t step = ++adam_steps_[ordinal];
    const float bc1 = 1.0f - static_cast<float>(std::pow(double(o.beta1), double(step)));
    const float bc2 = 1.0f - static_cast<float>(std::pow(double(o.beta2), double(step)));
    const bool decay = decay_all_ || decay_names_.count(e.name) > 0;
    be.adamw_update(p(i), g(i), adam_m_.get() + e.grad_offset, adam_v_.get() + e.grad_offset, e.numel, o.lr,
                    o.beta1, o.beta2, o.eps, decay ? o.weight_decay : 0.0f, bc1, bc2);
  }
  store_.zero_grad();
  ++params_version_;
  return norm;
}

int64_t BertModel::optimizer_steps(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size(), "parameter index");
  const TensorEntry& e = store_[index];
  if (!e.trainable) fail(ErrorCode::InvalidArgument, e.name + " is frozen: it has no optimiser state");
  if (adam_m_.size() != store_.grad_floats()) return 0;
  const size_t k = trainable_ordinal(index);
  return k < adam_steps_.size() ? adam_steps_[k] : 0;
}

int64_t BertModel::get_optimizer_state(size_t index, float* m, float* v, size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size() && n == store_[index].numel, "parameter index/size");
  const TensorEntry& e = store_[index];
  if (!e.trainable) fail(ErrorCode::InvalidArgument, e.name + " is frozen: it has no optimiser state");
  const size_t k = trainable_ordinal(index);
  if (adam_m_.size() != store_.grad_floats() || k >= adam_steps_.size()) {
    std::fill(m, m + n, 0.0f);
    std::fill(v, v + n, 0.0f);
    return 0;
  }
  backend_->copy_to_host(m, adam_m_.get() + e.grad_offset, n * sizeof(float));
  backend_->copy_to_host(v, adam_v_.get() + e.grad_offset, n * sizeof(float));
  return adam_steps_[k];
}

void BertModel::set_optimizer_state(int64_t steps, size_t index, const float* m, const float* v, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size() && n == store_[index].numel, "parameter index/size");
  const TensorEntry& e = store_[index];
  if (!e.trainable) fail(ErrorCode::InvalidArgument, e.name + " is frozen: it has no optimiser state");
  if (steps < 0) fail(ErrorCode::InvalidArgument, "optimiser step count must be >= 0");
  ensure_optimizer_locked();
  backend_->copy_to_device(adam_m_.get() + e.grad_offset, m, n * sizeof(float));
  backend_->copy_to_device(adam_v_.get() + e.grad_offset, v, n * sizeof(float));
  adam_steps_[trainable_ordinal(index)] = steps;
}

}  // namespace af
