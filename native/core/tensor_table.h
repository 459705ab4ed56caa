// One source of truth for a set of tensors (a model's parameters, or its activations): names
// and shapes in a fixed order, from which the buffer, the gradient buffer (trainable entries
// only), loading, saving and the optimiser are all derived. Entries are laid out contiguously in insertion order, so tensors
// added one after another (e.g. query/key/value weights) form one larger matrix.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace af {

struct TensorEntry {
  std::string name;              // Hugging Face / AdapterHub key without the "bert." prefix
  std::vector<int64_t> shape;
  size_t numel = 0;
  size_t offset = 0;             // in floats, into the parameter buffer
  bool trainable = false;
  size_t grad_offset = SIZE_MAX; // in floats, into the gradient buffer; SIZE_MAX when frozen
};

class TensorTable {
 public:
  // Appends an entry; returns its index. Names must be unique.
  size_t add(const std::string& name, std::vector<int64_t> shape);

  const std::vector<TensorEntry>& entries() const { return entries_; }
  const TensorEntry& operator[](size_t i) const { return entries_[i]; }
  size_t size() const { return entries_.size(); }
  size_t total_floats() const { return total_; }
  const TensorEntry* find(const std::string& name) const;
  size_t index_of(const std::string& name) const;  // throws InvalidArgument naming `name`

  // Marks entries trainable and recomputes gradient offsets; returns total gradient floats.
  size_t set_trainable(const std::vector<bool>& trainable);
  size_t grad_floats() const { return grad_total_; }

 private:
  std::vector<TensorEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
  size_t total_ = 0;
  size_t grad_total_ = 0;
};

std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace af
