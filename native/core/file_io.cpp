#include "file_io.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "errors.h"

namespace af {

void io_fail(const std::string& what, int err) {
  fail(ErrorCode::Io, what + ": " + std::system_category().message(err));
}

ReadOnlyFile ReadOnlyFile::open(const std::string& path) {
  ReadOnlyFile f;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) io_fail(path + ": cannot open", errno);
  struct stat st;
  if (::fstat(f.fd_, &st) != 0) io_fail(path + ": cannot stat", errno);
  if (!S_ISREG(st.st_mode)) fail(ErrorCode::Io, path + ": not a regular file");
  f.size_ = static_cast<uint64_t>(st.st_size);
  return f;
}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile&& o) noexcept : fd_(o.fd_), size_(o.size_) { o.fd_ = -1; }

ReadOnlyFile& ReadOnlyFile::operator=(ReadOnlyFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    size_ = o.size_;
    o.fd_ = -1;
  }
  return *this;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ReadOnlyFile::read_at(void* dst, uint64_t n, uint64_t offset, const std::string& where) const {
  char* p = static_cast<char*>(dst);
  constexpr uint64_t kMaxChunk = uint64_t(1) << 30;  // stay below per-call limits of read(2)
  while (n > 0) {
    if (offset > static_cast<uint64_t>(std::numeric_limits<off_t>::max()))
      fail(ErrorCode::Io, where + ": file offset " + std::to_string(offset) + " is too large");
    const size_t chunk = static_cast<size_t>(std::min(n, kMaxChunk));
    const ssize_t r = ::pread(fd_, p, chunk, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      io_fail(where + ": read failed", errno);
    }
    if (r == 0) fail(ErrorCode::Io, where + ": unexpected end of file (was it truncated after opening?)");
    p += r;
    n -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

}  // namespace af
