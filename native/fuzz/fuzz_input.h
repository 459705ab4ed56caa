// The parsers read files by path (pread on a regular file), so an input held in memory is
// written to one scratch file, reused across calls, and opened through /dev/fd/N. On Linux it
// is a memfd (no disk I/O); elsewhere an unlinked temporary file.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace af::fuzz {

// Replaces the scratch file's content with data[0, size) and returns a path to it.
inline std::string as_file(const void* data, size_t size) {
  static const int fd = [] {
#ifdef __linux__
    const int f = ::memfd_create("af-fuzz-input", MFD_CLOEXEC);
#else
    char tmpl[] = "/tmp/af-fuzz-input-XXXXXX";
    const int f = ::mkstemp(tmpl);
    if (f >= 0) ::unlink(tmpl);
#endif
    if (f < 0) std::abort();
    return f;
  }();
  if (::ftruncate(fd, 0) != 0 || (size > 0 && ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)))
    std::abort();
  return "/dev/fd/" + std::to_string(fd);
}

}  // namespace af::fuzz
