// A read-only file for positioned reads, shared by the safetensors and ZIP readers: opened
// (regular files only), read at offsets with pread, closed on destruction.
#pragma once
#include <cstdint>
#include <string>

namespace af {

[[noreturn]] void io_fail(const std::string& what, int err);  // Error(Io): what + strerror(err)

class ReadOnlyFile {
 public:
  ReadOnlyFile() = default;
  // Error(Io) naming `path` when it cannot be opened or is not a regular file.
  static ReadOnlyFile open(const std::string& path);
  ReadOnlyFile(ReadOnlyFile&& o) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& o) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  uint64_t size() const { return size_; }  // at open time
  // Reads exactly n bytes at `offset`; `where` names the file (and entry) in errors.
  void read_at(void* dst, uint64_t n, uint64_t offset, const std::string& where) const;

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace af
