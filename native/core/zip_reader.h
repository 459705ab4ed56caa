// A read-only ZIP archive reader (PKWARE APPNOTE 6.3), made for the archives torch.save writes:
// uncompressed ("stored") entries, ZIP64 end records, storages padded to 64 bytes through the
// local headers' extra fields. The archive is untrusted: every offset and size is checked
// against the file before anything is allocated or read, entry names must be unique, and each
// local header must agree with its central-directory entry. Data is read with pread, so one
// reader serves several threads at once.
#pragma once
#include "file_io.h"
#include "json.h"  // quote_for_message
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace af {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;           // 0 = stored; anything else cannot be read here
  bool encrypted = false;        // general-purpose flag bit 0
  uint64_t size = 0;             // uncompressed size
  uint64_t compressed_size = 0;  // bytes on disk (equals `size` when stored)
  uint64_t data_offset = 0;      // file offset of the first data byte (after the local header)
  bool stored() const { return method == 0 && !encrypted; }
};

class ZipReader {
 public:
  // Opens and validates the whole directory (Io if the file cannot be read, InvalidFile if the
  // archive is malformed, Unsupported for multi-disk archives). Compressed entries are listed;
  // reading one is an error.
  static ZipReader open(const std::string& path);

  ZipReader(ZipReader&& other) noexcept = default;
  ZipReader& operator=(ZipReader&& other) noexcept = default;
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;
  ~ZipReader() = default;

  const std::string& path() const { return path_; }
  const std::vector<ZipEntry>& entries() const { return entries_; }  // central-directory order
  const ZipEntry* find(const std::string& name) const;               // nullptr if absent

  // Copies the whole entry (entry.size bytes) into dst. Error(Unsupported) naming the entry if
  // it is compressed or encrypted; `entry` must come from this reader (else InvalidArgument).
  void read(const ZipEntry& entry, void* dst) const;
  // Copies bytes [offset, offset + bytes) of the entry; the range must lie inside it.
  void read_range(const ZipEntry& entry, uint64_t offset, uint64_t bytes, void* dst) const;

 private:
  ZipReader() = default;
  const ZipEntry& check_readable(const ZipEntry& entry) const;

  std::string path_;
  ReadOnlyFile file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in entries_
};


}  // namespace af
