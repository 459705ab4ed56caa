// An owning device allocation (RAII over Backend::alloc_bytes/free_bytes).
#pragma once
#include <cstddef>
#include <utility>

#include "backend.h"

namespace af {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& backend, size_t count) { reset(backend, count); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      std::swap(backend_, o.backend_);
      std::swap(data_, o.data_);
      std::swap(count_, o.count_);
    }
    return *this;
  }

  // Reallocates to hold `count` elements (contents undefined); count 0 frees.
  void reset(Backend& backend, size_t count) {
    release();
    if (count == 0) return;
    data_ = static_cast<T*>(backend.alloc_bytes(count * sizeof(T)));
    backend_ = &backend;
    count_ = count;
  }
  // Grows only when needed; returns true when it reallocated.
  bool ensure(Backend& backend, size_t count) {
    if (count <= count_ && backend_ == &backend) return false;
    reset(backend, count);
    return true;
  }
  void release() {
    if (data_) backend_->free_bytes(data_);
    data_ = nullptr;
    backend_ = nullptr;
    count_ = 0;
  }

  T* get() const { return data_; }
  size_t size() const { return count_; }

 private:
  Backend* backend_ = nullptr;
  T* data_ = nullptr;
  size_t count_ = 0;
};

}  // namespace af
