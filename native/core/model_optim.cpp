// AdamW over the trainable parameters, with global-norm gradient clipping; the moments are
// laid out like the gradient buffer (trainable entries only).
#include <cmath>

#include "bert.h"
#include "errors.h"

namespace af {

void BertModel::reset_optimizer_locked() {
  adam_step_ = 0;
  adam_m_.release();
  adam_v_.release();
}

void BertModel::reset_optimizer() {
  std::lock_guard<std::mutex> lock(mu_);
  reset_optimizer_locked();
}

void BertModel::set_weight_decay_mask(const std::vector<bool>& decay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (decay.size() != store_.size()) fail(ErrorCode::InvalidArgument, "weight-decay mask: expected one flag per parameter");
  decay_mask_ = decay;
}

double BertModel::optimizer_step(const AdamWOptions& o) {
  std::lock_guard<std::mutex> lock(mu_);
  Backend& be = *backend_;
  const size_t n = store_.grad_floats();
  if (n == 0) fail(ErrorCode::InvalidArgument, "no trainable parameters: nothing to optimise");
  if (!(o.lr >= 0) || !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.eps > 0) ||
      !(o.weight_decay >= 0) || !(o.max_grad_norm >= 0))
    fail(ErrorCode::InvalidArgument, "AdamW: lr, weight decay and max grad norm must be >= 0, betas in [0, 1), eps > 0");
  if (adam_m_.size() != n) {
    adam_m_.reset(be, n);
    adam_v_.reset(be, n);
    be.zero(adam_m_.get(), n * sizeof(float));
    be.zero(adam_v_.get(), n * sizeof(float));
    adam_step_ = 0;
  }
  float* grads = store_.grads_base();
  const double norm = std::sqrt(be.sum_squares(grads, n));
  if (!std::isfinite(norm)) fail(ErrorCode::InvalidArgument, "the gradient is not finite (NaN or inf): step skipped");
  // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
  if (o.max_grad_norm > 0) {
    const double coef = o.max_grad_norm / (norm + 1e-6);
    if (coef < 1.0) be.scale(grads, n, static_cast<float>(coef));
  }
  ++adam_step_;
  const float bc1 = 1.0f - static_cast<float>(std::pow(double(o.beta1), double(adam_step_)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(double(o.beta2), double(adam_step_)));
  for (size_t i = 0; i < store_.size(); ++i) {
    const TensorEntry& e = store_[i];
    if (!e.trainable) continue;
    const bool decay = decay_mask_.size() != store_.size() || decay_mask_[i];
    be.adamw_update(p(i), g(i), adam_m_.get() + e.grad_offset, adam_v_.get() + e.grad_offset, e.numel, o.lr,
                    o.beta1, o.beta2, o.eps, decay ? o.weight_decay : 0.0f, bc1, bc2);
  }
  store_.zero_grad();
  ++params_version_;
  return norm;
}

void BertModel::get_optimizer_state(size_t index, float* m, float* v, size_t n) const {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size() && n == store_[index].numel, "parameter index/size");
  const TensorEntry& e = store_[index];
  if (!e.trainable) fail(ErrorCode::InvalidArgument, e.name + " is frozen: it has no optimiser state");
  if (adam_m_.size() != store_.grad_floats()) {
    std::fill(m, m + n, 0.0f);
    std::fill(v, v + n, 0.0f);
    return;
  }
  backend_->copy_to_host(m, adam_m_.get() + e.grad_offset, n * sizeof(float));
  backend_->copy_to_host(v, adam_v_.get() + e.grad_offset, n * sizeof(float));
}

void BertModel::set_optimizer_state(int64_t steps, size_t index, const float* m, const float* v, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  AF_CHECK(index < store_.size() && n == store_[index].numel, "parameter index/size");
  const TensorEntry& e = store_[index];
  if (!e.trainable) fail(ErrorCode::InvalidArgument, e.name + " is frozen: it has no optimiser state");
  if (steps < 0) fail(ErrorCode::InvalidArgument, "optimiser step count must be >= 0");
  const size_t total = store_.grad_floats();
  if (adam_m_.size() != total) {
    adam_m_.reset(*backend_, total);
    adam_v_.reset(*backend_, total);
    backend_->zero(adam_m_.get(), total * sizeof(float));
    backend_->zero(adam_v_.get(), total * sizeof(float));
  }
  backend_->copy_to_device(adam_m_.get() + e.grad_offset, m, n * sizeof(float));
  backend_->copy_to_device(adam_v_.get() + e.grad_offset, v, n * sizeof(float));
  adam_step_ = steps;
}

}  // namespace af
