// A model's parameters: the TensorTable (names, shapes, layout) plus the device buffers it
// lays out — values, and gradients for the trainable entries only. Entries can be added
// (adapters, fusion layers, heads arrive after loading) and removed; values survive both.
// Each add() gets a segment of its own, so adding a small module never copies the encoder.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "backend.h"
#include "device_buffer.h"
#include "tensor_table.h"

namespace af {

class ParamStore {
 public:
  explicit ParamStore(Backend& backend) : backend_(&backend) {}

  const TensorTable& table() const { return table_; }
  size_t size() const { return table_.size(); }
  const TensorEntry& operator[](size_t i) const { return table_[i]; }

  // Appends tensors (zero-initialised); existing values are kept. Returns the first new index.
  // Trainability of existing entries is kept; new entries are frozen.
  size_t add(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors);
  // Removes every entry for which `drop(name)` is true; returns how many were removed.
  // Indices of the remaining entries change: callers re-resolve them by name.
  size_t remove_if(const std::function<bool(const std::string&)>& drop);

  float* value(size_t i) const {
    const Segment& s = segments_[segment_of_[i]];
    return s.values.get() + (table_[i].offset - s.base);
  }
  // Null when the entry is frozen.
  float* grad(size_t i) const {
    const TensorEntry& e = table_[i];
    return e.trainable ? grads_.get() + e.grad_offset : nullptr;
  }
  float* grads_base() const { return grads_.get(); }
  size_t grad_floats() const { return table_.grad_floats(); }

  // Sets trainability (one flag per entry); gradient storage is reallocated and zeroed.
  void set_trainable(const std::vector<bool>& trainable);
  std::vector<bool> trainable_flags() const;
  // Zeroes the gradients and forgets which entries were written.
  void zero_grad();

  // Which trainable entries a backward wrote since the gradients were last zeroed: the
  // optimiser steps only these, as torch skips parameters whose .grad is None.
  void mark_written(size_t i) {
    if (table_[i].trainable) written_[i] = true;
  }
  bool written(size_t i) const { return written_[i]; }

 private:
  struct Segment {
    size_t base = 0;  // table offset of the segment's first float
    DeviceBuffer<float> values;
  };
  void compact(TensorTable next, const std::vector<size_t>& old_index_of_new);

  Backend* backend_;
  TensorTable table_;
  std::vector<Segment> segments_;
  std::vector<size_t> segment_of_;  // per entry
  DeviceBuffer<float> grads_;
  std::vector<bool> written_;  // per entry; cleared with the gradients
};

}  // namespace af
