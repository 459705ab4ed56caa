#include "param_store.h"

#include "errors.h"

namespace af {

// Rebuilds the store as one segment laid out by `next`, copying surviving values.
void ParamStore::compact(TensorTable next, const std::vector<size_t>& old_index_of_new) {
  Segment seg;
  seg.values.reset(*backend_, next.total_floats());
  if (next.total_floats()) backend_->zero(seg.values.get(), next.total_floats() * sizeof(float));
  std::vector<bool> flags(next.size(), false);
  for (size_t i = 0; i < next.size(); ++i) {
    const size_t old = old_index_of_new[i];
    backend_->copy_device(seg.values.get() + next[i].offset, value(old), next[i].numel * sizeof(float));
    flags[i] = table_[old].trainable;
  }
  segments_.clear();
  segments_.push_back(std::move(seg));
  segment_of_.assign(next.size(), 0);
  table_ = std::move(next);
  set_trainable(flags);
}

size_t ParamStore::add(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors) {
  for (const auto& t : tensors)
    if (table_.find(t.first)) fail(ErrorCode::InvalidArgument, "a parameter named \"" + t.first + "\" already exists");
  std::vector<bool> flags = trainable_flags();
  const size_t first = table_.size();
  // The new segment covers the table offsets from its first tensor on.
  TensorTable next = table_;
  for (const auto& t : tensors) {
    next.add(t.first, t.second);
    flags.push_back(false);
  }
  const size_t seg_base = tensors.empty() ? next.total_floats() : next[first].offset;
  Segment seg;
  seg.base = seg_base;
  seg.values.reset(*backend_, next.total_floats() - seg_base);
  if (next.total_floats() > seg_base) backend_->zero(seg.values.get(), (next.total_floats() - seg_base) * sizeof(float));
  segments_.push_back(std::move(seg));
  segment_of_.resize(next.size(), segments_.size() - 1);
  table_ = std::move(next);
  set_trainable(flags);
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
  if (removed) compact(std::move(next), old);
  return removed;
}

void ParamStore::set_trainable(const std::vector<bool>& trainable) {
  if (trainable.size() != table_.size())
    fail(ErrorCode::InvalidArgument, "set_trainable: expected one flag per parameter");
  const size_t n = table_.set_trainable(trainable);
  grads_.reset(*backend_, n);
  if (n) backend_->zero(grads_.get(), n * sizeof(float));
  written_.assign(table_.size(), false);
}

std::vector<bool> ParamStore::trainable_flags() const {
  std::vector<bool> flags(table_.size());
  for (size_t i = 0; i < table_.size(); ++i) flags[i] = table_[i].trainable;
  return flags;
}

void ParamStore::zero_grad() {
  if (grads_.size()) backend_->zero(grads_.get(), grads_.size() * sizeof(float));
  written_.assign(table_.size(), false);
}

}  // namespace af
