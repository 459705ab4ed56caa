#include "tensor_table.h"

#include "errors.h"

namespace af {

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

size_t TensorTable::add(const std::string& name, std::vector<int64_t> shape) {
  if (index_.count(name)) fail(ErrorCode::Internal, "duplicate tensor name " + name);
  TensorEntry e;
  e.name = name;
  e.numel = 1;
  for (int64_t d : shape) e.numel *= static_cast<size_t>(d);
  e.shape = std::move(shape);
  // Keep every tensor 16-float (64-byte) aligned unless it extends the previous one's
  // matrix (same row length), so fused q/k/v blocks stay contiguous.
  size_t offset = total_;
  if (!entries_.empty()) {
    const TensorEntry& prev = entries_.back();
    bool extends = prev.shape.size() == e.shape.size() && prev.shape.back() == e.shape.back();
    if (!extends) offset = (offset + 15) / 16 * 16;
  }
  e.offset = offset;
  total_ = offset + e.numel;
  index_[name] = entries_.size();
  entries_.push_back(std::move(e));
  return entries_.size() - 1;
}

const TensorEntry* TensorTable::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

size_t TensorTable::index_of(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(ErrorCode::InvalidArgument, "unknown tensor \"" + name + "\"");
  return it->second;
}

size_t TensorTable::set_trainable(const std::vector<bool>& trainable) {
  AF_CHECK(trainable.size() == entries_.size(), "trainable flags per entry");
  size_t g = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    TensorEntry& e = entries_[i];
    e.trainable = trainable[i];
    if (!e.trainable) {
      e.grad_offset = SIZE_MAX;
      continue;
    }
    // Mirror the parameter layout: contiguous runs stay contiguous in the gradient buffer.
    bool extends = i > 0 && entries_[i - 1].trainable &&
                   entries_[i - 1].offset + entries_[i - 1].numel == e.offset;
    if (!extends) g = (g + 15) / 16 * 16;
    e.grad_offset = g;
    g += e.numel;
  }
  grad_total_ = g;
  return g;
}

}  // namespace af
