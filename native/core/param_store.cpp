#include "param_store.h"

#include "errors.h"

namespace af {

void ParamStore::relayout(TensorTable next, const std::vector<size_t>& old_index_of_new) {
  DeviceBuffer<float> values(*backend_, next.total_floats());
  if (next.total_floats()) backend_->zero(values.get(), next.total_floats() * sizeof(float));
  for (size_t i = 0; i < next.size(); ++i) {
    const size_t old = old_index_of_new[i];
    if (old == SIZE_MAX) continue;
    backend_->copy_device(values.get() + next[i].offset, value(old), next[i].numel * sizeof(float));
  }
  std::vector<bool> flags(next.size(), false);
  for (size_t i = 0; i < next.size(); ++i)
    if (old_index_of_new[i] != SIZE_MAX) flags[i] = table_[old_index_of_new[i]].trainable;
  values_ = std::move(values);
  table_ = std::move(next);
  set_trainable(flags);
}

size_t ParamStore::add(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors) {
  for (const auto& t : tensors)
    if (table_.find(t.first)) fail(ErrorCode::InvalidArgument, "a parameter named \"" + t.first + "\" already exists");
  TensorTable next = table_;
  std::vector<size_t> old(table_.size());
  for (size_t i = 0; i < old.size(); ++i) old[i] = i;
  const size_t first = next.size();
  for (const auto& t : tensors) {
    next.add(t.first, t.second);
    old.push_back(SIZE_MAX);
  }
  relayout(std::move(next), old);
  return first;
}

size_t ParamStore::remove_if(const std::function<bool(const std::string&)>& drop) {
  TensorTable next;
  std::vector<size_t> old;
  for (size_t i = 0; i < table_.size(); ++i) {
    if (drop(table_[i].name)) continue;
    next.add(table_[i].name, table_[i].shape);
    old.push_back(i);
  }
  const size_t removed = table_.size() - next.size();
  if (removed) relayout(std::move(next), old);
  return removed;
}

void ParamStore::set_trainable(const std::vector<bool>& trainable) {
  if (trainable.size() != table_.size())
    fail(ErrorCode::InvalidArgument, "set_trainable: expected one flag per parameter");
  const size_t n = table_.set_trainable(trainable);
  grads_.reset(*backend_, n);
  if (n) backend_->zero(grads_.get(), n * sizeof(float));
}

std::vector<bool> ParamStore::trainable_flags() const {
  std::vector<bool> flags(table_.size());
  for (size_t i = 0; i < table_.size(); ++i) flags[i] = table_[i].trainable;
  return flags;
}

void ParamStore::zero_grad() {
  if (grads_.size()) backend_->zero(grads_.get(), grads_.size() * sizeof(float));
}

}  // namespace af
