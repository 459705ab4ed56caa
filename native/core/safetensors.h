// The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {string: string}}, then the data section that the offsets index.
//
// The reader is as strict as the reference Rust parser, checks every size before allocating, and
// reports each defect as af::Error naming the file and, where there is one, the tensor. The
// writer produces files the reference reads (header padded with spaces to 8 bytes) and replaces
// the target atomically. POSIX file APIs; a little-endian host is assumed (checked at compile time).
#pragma once
#include "file_io.h"
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace af {

// The safetensors spec's dtypes (names as written in the header).
enum class DType { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

size_t dtype_size(DType t);                          // bytes per element
const char* dtype_name(DType t);                     // "F32", "BF16", ...
bool dtype_from_name(std::string_view name, DType* out);  // false for names outside the spec

// Largest header the reference reader accepts.
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100000000;

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
  uint64_t numel() const;       // product of shape (1 for a scalar)
  uint64_t nbytes() const { return end - begin; }
};

// An opened, fully validated safetensors file. Tensors are read on demand with pread, so one
// file may be read from several threads at once. Movable, not copyable; closes its file.
class SafetensorsFile {
 public:
  // Opens and validates the header (Io if the file cannot be read, InvalidFile if malformed).
  static SafetensorsFile open(const std::string& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept = default;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile() = default;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // ordered by offset
  const TensorInfo* find(const std::string& name) const;               // nullptr if absent
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

  // Copies the tensor's exact bytes (nbytes()) into dst. `info` must come from this file.
  void read_raw(const TensorInfo& info, void* dst) const;
  // Reads numel() floats into dst, converting F16, BF16 and F64 (exactly, except F64 rounding to
  // nearest); other dtypes throw Error(Unsupported) naming the tensor.
  void read_f32(const TensorInfo& info, float* dst) const;

 private:
  SafetensorsFile() = default;
  void check_owned(const TensorInfo& info) const;
  void pread_exact(void* dst, uint64_t bytes, uint64_t data_offset, const std::string& tensor) const;

  std::string path_;
  ReadOnlyFile file_;
  uint64_t data_start_ = 0;  // file offset of the data section (8 + N)
  uint64_t data_size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
  std::vector<std::pair<std::string, std::string>> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // numel * dtype_size bytes, little-endian
};

// Writes tensors (header and data in the given order) and optional string metadata. Atomic: the
// file is written to "<path>.tmp-<pid>-<random>" in the same folder, fsynced and renamed over
// `path`; on any failure the temporary file is removed and an existing file at `path` is
// untouched. Bad arguments (duplicate or non-UTF-8 names, negative dims) are InvalidArgument;
// file system failures are Io.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata = {});

// Exact widening conversions (subnormals, infinities and NaN payloads preserved).
float f16_to_f32(uint16_t bits);
float bf16_to_f32(uint16_t bits);
void f16_to_f32(const uint16_t* src, float* dst, size_t n);
void bf16_to_f32(const uint16_t* src, float* dst, size_t n);

}  // namespace af
