// ZIP reader (see zip_reader.h). The layout, from the end of the file backwards:
//
//   [local header + data] ... [central directory] [ZIP64 end record] [ZIP64 locator] [end record]
//
// The end record (or, when a locator precedes it, the ZIP64 end record) says where the central
// directory is; each directory entry says where its local header is; the local header's own
// name and extra lengths give where the data starts. Every one of these numbers is checked
// against the region it must lie in before it is used.
#include "zip_reader.h"

#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>

#include "errors.h"
#include "json.h"

namespace af {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndSize = 22, kLocatorSize = 20, kZip64EndSize = 56;
constexpr uint64_t kCentralSize = 46, kLocalSize = 30;
constexpr uint64_t kMaxComment = 0xFFFF;
// torch archives list a few entries per tensor; a bigger directory is not one of them, and the
// limit keeps a hostile size from becoming a huge allocation.
constexpr uint64_t kMaxCentralDirectory = uint64_t(256) << 20;

// Little-endian field readers over a buffer whose length the caller has checked.
uint16_t u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const unsigned char* p) { return uint32_t(u16(p)) | (uint32_t(u16(p + 2)) << 16); }
uint64_t u64(const unsigned char* p) { return uint64_t(u32(p)) | (uint64_t(u32(p + 4)) << 32); }

// a + b <= limit, without overflow.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

std::string num(uint64_t v) { return std::to_string(v); }

struct EndInfo {
  uint64_t entries = 0;
  uint64_t cd_offset = 0, cd_size = 0;
  uint64_t cd_limit = 0;  // the directory must end at or before this offset
};

// Finds the end record (and the ZIP64 one when present) in the last 64 KiB + 22 bytes.
EndInfo read_end_records(const ReadOnlyFile& file, uint64_t file_size, const std::string& path) {
  if (file_size < kEndSize)
    fail(ErrorCode::InvalidFile, path + ": " + num(file_size) + " bytes is too short for a ZIP archive");
  const uint64_t tail_len = std::min(file_size, kEndSize + kMaxComment);
  const uint64_t tail_start = file_size - tail_len;
  std::vector<unsigned char> tail(static_cast<size_t>(tail_len));
  file.read_at(tail.data(), tail_len, tail_start, path);

  // The end record is the last signature whose comment runs exactly to the end of the file.
  uint64_t pos = tail_len - kEndSize + 1;
  bool found = false;
  while (pos-- > 0) {
    const unsigned char* p = tail.data() + pos;
    if (u32(p) == kEndSig && pos + kEndSize + u16(p + 20) == tail_len) {
      found = true;
      break;
    }
  }
  if (!found)
    fail(ErrorCode::InvalidFile, path + ": no ZIP end-of-central-directory record (not a ZIP archive, "
                                        "or truncated)");
  const unsigned char* e = tail.data() + pos;
  const uint64_t end_at = tail_start + pos;

  EndInfo info;
  const uint16_t disk = u16(e + 4), cd_disk = u16(e + 6);
  const uint64_t on_disk = u16(e + 8);
  info.entries = u16(e + 10);
  info.cd_size = u32(e + 12);
  info.cd_offset = u32(e + 16);
  info.cd_limit = end_at;

  // A ZIP64 locator sits right before the end record; torch writes one in every archive.
  bool zip64 = false;
  if (end_at >= kLocatorSize) {
    unsigned char loc[kLocatorSize];
    file.read_at(loc, kLocatorSize, end_at - kLocatorSize, path);
    if (u32(loc) == kZip64LocatorSig) {
      zip64 = true;
      const uint64_t z_at = u64(loc + 8);
      if (u32(loc + 4) != 0 || u32(loc + 16) != 1)
        fail(ErrorCode::Unsupported, path + ": multi-disk ZIP archives are not supported");
      if (!fits(z_at, kZip64EndSize, end_at - kLocatorSize))
        fail(ErrorCode::InvalidFile, path + ": ZIP64 end record offset " + num(z_at) + " lies outside the file");
      unsigned char z[kZip64EndSize];
      file.read_at(z, kZip64EndSize, z_at, path);
      if (u32(z) != kZip64EndSig)
        fail(ErrorCode::InvalidFile, path + ": no ZIP64 end record at offset " + num(z_at));
      if (u32(z + 16) != 0 || u32(z + 20) != 0)
        fail(ErrorCode::Unsupported, path + ": multi-disk ZIP archives are not supported");
      if (u64(z + 24) != u64(z + 32))
        fail(ErrorCode::InvalidFile, path + ": ZIP64 end record entry counts disagree");
      info.entries = u64(z + 32);
      info.cd_size = u64(z + 40);
      info.cd_offset = u64(z + 48);
      info.cd_limit = z_at;
    }
  }
  if (!zip64) {
    if (info.entries == 0xFFFF || info.cd_size == 0xFFFFFFFF || info.cd_offset == 0xFFFFFFFF)
      fail(ErrorCode::InvalidFile, path + ": end record asks for ZIP64 values but there is no ZIP64 locator");
    if (disk != 0 || cd_disk != 0)
      fail(ErrorCode::Unsupported, path + ": multi-disk ZIP archives are not supported");
    if (on_disk != info.entries) fail(ErrorCode::InvalidFile, path + ": end record entry counts disagree");
  }

  if (!fits(info.cd_offset, info.cd_size, info.cd_limit))
    fail(ErrorCode::InvalidFile, path + ": central directory [" + num(info.cd_offset) + ", +" + num(info.cd_size) +
                                     ") lies outside the file (it must end by byte " + num(info.cd_limit) + ")");
  if (info.cd_size > kMaxCentralDirectory)
    fail(ErrorCode::Unsupported, path + ": central directory of " + num(info.cd_size) + " bytes exceeds the limit of " +
                                     num(kMaxCentralDirectory));
  if (info.entries > info.cd_size / kCentralSize)
    fail(ErrorCode::InvalidFile, path + ": " + num(info.entries) + " entries cannot fit in a central directory of " +
                                     num(info.cd_size) + " bytes");
  return info;
}

// Replaces the 0xFFFF... placeholders of a directory entry with the values of its ZIP64 extra
// field (id 1), which lists only the placeholders' values, in this order.
void apply_zip64_extra(const unsigned char* extra, uint64_t len, ZipEntry* e, uint64_t* local_offset,
                       uint32_t* disk, const std::string& where) {
  const bool want_size = e->size == 0xFFFFFFFF, want_csize = e->compressed_size == 0xFFFFFFFF;
  const bool want_offset = *local_offset == 0xFFFFFFFF, want_disk = *disk == 0xFFFF;
  uint64_t pos = 0;
  bool seen = false;
  while (pos < len) {
    if (len - pos < 4) fail(ErrorCode::InvalidFile, where + ": truncated extra field");
    const uint16_t id = u16(extra + pos), field_len = u16(extra + pos + 2);
    pos += 4;
    if (field_len > len - pos) fail(ErrorCode::InvalidFile, where + ": extra field runs past its area");
    if (id == 1) {
      if (seen) fail(ErrorCode::InvalidFile, where + ": two ZIP64 extra fields");
      seen = true;
      const unsigned char* f = extra + pos;
      uint64_t at = 0;
      auto take = [&](uint64_t bytes) -> uint64_t {
        if (bytes > field_len - at) fail(ErrorCode::InvalidFile, where + ": ZIP64 extra field is too short");
        const uint64_t v = bytes == 8 ? u64(f + at) : u32(f + at);
        at += bytes;
        return v;
      };
      if (want_size) e->size = take(8);
      if (want_csize) e->compressed_size = take(8);
      if (want_offset) *local_offset = take(8);
      if (want_disk) *disk = static_cast<uint32_t>(take(4));
    }
    pos += field_len;
  }
  if ((want_size || want_csize || want_offset || want_disk) && !seen)
    fail(ErrorCode::InvalidFile, where + ": size or offset needs a ZIP64 extra field, which is missing");
}

}  // namespace


ZipReader ZipReader::open(const std::string& path) {
  ZipReader z;  // closes the file if validation throws
  z.path_ = path;
  z.file_ = ReadOnlyFile::open(path);
  const uint64_t file_size = z.file_.size();

  const EndInfo end = read_end_records(z.file_, file_size, path);
  std::vector<unsigned char> cd(static_cast<size_t>(end.cd_size));
  z.file_.read_at(cd.data(), end.cd_size, end.cd_offset, path);

  z.entries_.reserve(static_cast<size_t>(end.entries));
  uint64_t pos = 0;
  for (uint64_t i = 0; i < end.entries; ++i) {
    const std::string where = path + ": central directory entry " + num(i);
    if (end.cd_size - pos < kCentralSize) fail(ErrorCode::InvalidFile, where + " runs past the directory");
    const unsigned char* p = cd.data() + pos;
    if (u32(p) != kCentralSig) fail(ErrorCode::InvalidFile, where + " has a bad signature");
    const uint64_t name_len = u16(p + 28), extra_len = u16(p + 30), comment_len = u16(p + 32);
    if (end.cd_size - pos - kCentralSize < name_len + extra_len + comment_len)
      fail(ErrorCode::InvalidFile, where + " runs past the directory");

    ZipEntry e;
    e.name.assign(reinterpret_cast<const char*>(p + kCentralSize), static_cast<size_t>(name_len));
    const std::string ewhere = path + ": entry " + quote_for_message(e.name);
    if (e.name.empty() || e.name.find('\0') != std::string::npos)
      fail(ErrorCode::InvalidFile, where + " has an empty name or one with a NUL byte");
    const uint16_t flags = u16(p + 8);
    e.encrypted = (flags & 0x0001) != 0 || (flags & 0x0040) != 0;
    e.method = u16(p + 10);
    e.compressed_size = u32(p + 20);
    e.size = u32(p + 24);
    uint32_t disk = u16(p + 34);
    uint64_t local = u32(p + 42);
    apply_zip64_extra(p + kCentralSize + name_len, extra_len, &e, &local, &disk, ewhere);
    if (disk != 0) fail(ErrorCode::Unsupported, ewhere + ": multi-disk ZIP archives are not supported");
    if (e.method == 0 && e.compressed_size != e.size)
      fail(ErrorCode::InvalidFile, ewhere + ": stored entry has compressed size " + num(e.compressed_size) +
                                       " but size " + num(e.size));
    pos += kCentralSize + name_len + extra_len + comment_len;

    // The local header repeats the name; its extra field (torch's alignment padding) may differ.
    if (!fits(local, kLocalSize + name_len, end.cd_offset))
      fail(ErrorCode::InvalidFile, ewhere + ": local header offset " + num(local) + " lies outside the entry area");
    std::vector<unsigned char> lh(static_cast<size_t>(kLocalSize + name_len));
    z.file_.read_at(lh.data(), lh.size(), local, ewhere);
    if (u32(lh.data()) != kLocalSig) fail(ErrorCode::InvalidFile, ewhere + ": no local header at offset " + num(local));
    if (u16(lh.data() + 26) != name_len ||
        std::memcmp(lh.data() + kLocalSize, e.name.data(), static_cast<size_t>(name_len)) != 0)
      fail(ErrorCode::InvalidFile, ewhere + ": local header names a different entry");
    e.data_offset = local + kLocalSize + name_len + u16(lh.data() + 28);
    if (e.data_offset > end.cd_offset || !fits(e.data_offset, e.compressed_size, end.cd_offset))
      fail(ErrorCode::InvalidFile, ewhere + ": data [" + num(e.data_offset) + ", +" + num(e.compressed_size) +
                                       ") runs past the entry area (which ends at byte " + num(end.cd_offset) + ")");

    if (!z.index_.emplace(e.name, z.entries_.size()).second)
      fail(ErrorCode::InvalidFile, ewhere + " appears twice");
    z.entries_.push_back(std::move(e));
  }
  return z;
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const ZipEntry& ZipReader::check_readable(const ZipEntry& entry) const {
  const ZipEntry* mine = find(entry.name);
  if (!mine || mine->data_offset != entry.data_offset || mine->size != entry.size || mine->method != entry.method)
    fail(ErrorCode::InvalidArgument, path_ + ": entry " + quote_for_message(entry.name) + " is not an entry of this archive");
  if (mine->encrypted)
    fail(ErrorCode::Unsupported, path_ + ": entry " + quote_for_message(entry.name) + " is encrypted");
  if (mine->method != 0)
    fail(ErrorCode::Unsupported, path_ + ": entry " + quote_for_message(entry.name) + " is compressed (method " +
                                     num(mine->method) + "); only stored entries, as torch.save writes them, can be read");
  return *mine;
}

void ZipReader::read(const ZipEntry& entry, void* dst) const {
  const ZipEntry& e = check_readable(entry);
  file_.read_at(dst, e.size, e.data_offset, path_ + ": entry " + quote_for_message(e.name));
}

void ZipReader::read_range(const ZipEntry& entry, uint64_t offset, uint64_t bytes, void* dst) const {
  const ZipEntry& e = check_readable(entry);
  if (!fits(offset, bytes, e.size))
    fail(ErrorCode::InvalidArgument, path_ + ": entry " + quote_for_message(e.name) + ": range [" + num(offset) +
                                         ", +" + num(bytes) + ") exceeds its " + num(e.size) + " bytes");
  file_.read_at(dst, bytes, e.data_offset + offset, path_ + ": entry " + quote_for_message(e.name));
}

}  // namespace af
