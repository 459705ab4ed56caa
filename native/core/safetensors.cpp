// safetensors reader and atomic writer (see safetensors.h). Validation follows the reference
// Rust parser: header length bound, UTF-8 JSON object header, exact entry fields, known dtypes,
// overflow-checked sizes, and tensors that tile the data section exactly.
#include "safetensors.h"

#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <random>
#include <system_error>
#include <unordered_set>

#include "errors.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this code copies it as-is and needs a little-endian host"
#endif

namespace af {

// ---------------------------------------------------------------------------------------------
// dtypes

namespace {
struct DTypeEntry {
  DType type;
  const char* name;
  size_t size;
};
// Order matches the enum.
constexpr DTypeEntry kDTypes[] = {
    {DType::BOOL, "BOOL", 1}, {DType::U8, "U8", 1},     {DType::I8, "I8", 1},
    {DType::F8_E5M2, "F8_E5M2", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},   {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},   {DType::U32, "U32", 4},   {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},   {DType::I64, "I64", 8},   {DType::U64, "U64", 8},
};
const DTypeEntry& entry_of(DType t) { return kDTypes[static_cast<size_t>(t)]; }
}  // namespace

size_t dtype_size(DType t) { return entry_of(t).size; }
const char* dtype_name(DType t) { return entry_of(t).name; }

bool dtype_from_name(std::string_view name, DType* out) {
  for (const auto& e : kDTypes)
    if (name == e.name) {
      *out = e.type;
      return true;
    }
  return false;
}

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Half-precision conversions

namespace {
inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Branch-free so the array loop vectorises; every f16 value is exactly representable in f32.
inline uint32_t f16_bits_to_f32_bits(uint32_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t em = h & 0x7FFFu;  // exponent and mantissa
  // Normal: move into place and rebias the exponent from 15 to 127.
  const uint32_t normal = (em << 13) + ((127u - 15u) << 23);
  // Inf/NaN: all-ones exponent stays all ones; the NaN payload moves along with the mantissa.
  const uint32_t special = (em << 13) | 0x7F800000u;
  // Zero/subnormal: the value is em * 2^-24, exact in f32 (em < 2^10, the result is normal there).
  const uint32_t sub = bits_of(static_cast<float>(em) * 0x1p-24f);
  return sign | (em >= 0x7C00u ? special : (em >= 0x0400u ? normal : sub));
}
}  // namespace

float f16_to_f32(uint16_t bits) { return float_of(f16_bits_to_f32_bits(bits)); }
float bf16_to_f32(uint16_t bits) { return float_of(uint32_t(bits) << 16); }  // bf16 is f32's top half

void f16_to_f32(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = float_of(f16_bits_to_f32_bits(src[i]));
}

void bf16_to_f32(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = float_of(uint32_t(src[i]) << 16);
}

// ---------------------------------------------------------------------------------------------
// Helpers

namespace {

std::string quote(const std::string& s) { return quote_for_message(s); }


// "[2, 3]"; a hostile header's shape can have millions of entries, so long ones are cut.
std::string shape_text(const std::vector<int64_t>& shape) {
  constexpr size_t kMaxDims = 16;
  std::string s = "[";
  for (size_t i = 0; i < shape.size() && i < kMaxDims; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() > kMaxDims) s += ", ... (" + std::to_string(shape.size()) + " dims)";
  return s + "]";
}

std::string range_text(uint64_t b, uint64_t e) {
  return "[" + std::to_string(b) + ", " + std::to_string(e) + ")";
}

void write_all(int fd, const void* src, uint64_t n, const std::string& where) {
  const char* p = static_cast<const char*>(src);
  constexpr uint64_t kMaxChunk = uint64_t(1) << 30;
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min(n, kMaxChunk));
    ssize_t r = ::write(fd, p, chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      io_fail(where + ": write failed", errno);
    }
    p += r;
    n -= static_cast<uint64_t>(r);
  }
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reader


namespace {

// Parses and checks one header entry; `where` is "<path>: tensor \"<name>\"".
TensorInfo parse_tensor_entry(const std::string& name, const Json& entry, const std::string& where) {
  if (!entry.is_object()) fail(ErrorCode::InvalidFile, where + ": expected an object, got " + entry.type_name());
  const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (const auto& m : entry.as_object()) {  // the parser already rejected duplicate keys
    if (m.first == "dtype") dtype = &m.second;
    else if (m.first == "shape") shape = &m.second;
    else if (m.first == "data_offsets") offsets = &m.second;
    else fail(ErrorCode::InvalidFile, where + ": unknown field " + quote(m.first));
  }
  if (!dtype) fail(ErrorCode::InvalidFile, where + ": missing field \"dtype\"");
  if (!shape) fail(ErrorCode::InvalidFile, where + ": missing field \"shape\"");
  if (!offsets) fail(ErrorCode::InvalidFile, where + ": missing field \"data_offsets\"");

  TensorInfo t;
  t.name = name;
  const std::string& dtype_str = dtype->as_string(where + ": dtype");
  if (!dtype_from_name(dtype_str, &t.dtype))
    fail(ErrorCode::InvalidFile, where + ": unknown dtype " + quote(dtype_str));

  // numel * size with overflow checks, folding left to right as the reference does.
  uint64_t numel = 1;
  const auto& dims = shape->as_array(where + ": shape");
  t.shape.reserve(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    uint64_t d;
    if (!dims[i].try_uint64(&d))  // as_uint64 throws the precise error; built only on failure
      d = dims[i].as_uint64(where + ": shape[" + std::to_string(i) + "]");
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(ErrorCode::InvalidFile, where + ": shape[" + std::to_string(i) + "] = " + std::to_string(d) + " is too large");
    t.shape.push_back(static_cast<int64_t>(d));
    if (!checked_mul(numel, d, &numel))
      fail(ErrorCode::InvalidFile, where + ": element count of shape " + shape_text(t.shape) + "... overflows 64 bits");
  }
  uint64_t nbytes;
  if (!checked_mul(numel, dtype_size(t.dtype), &nbytes))
    fail(ErrorCode::InvalidFile, where + ": byte size of shape " + shape_text(t.shape) + " overflows 64 bits");

  const auto& offs = offsets->as_array(where + ": data_offsets");
  if (offs.size() != 2)
    fail(ErrorCode::InvalidFile, where + ": data_offsets must have 2 entries, got " + std::to_string(offs.size()));
  t.begin = offs[0].as_uint64(where + ": data_offsets[0]");
  t.end = offs[1].as_uint64(where + ": data_offsets[1]");
  if (t.begin > t.end)
    fail(ErrorCode::InvalidFile, where + ": data_offsets begin " + std::to_string(t.begin) + " is after end " + std::to_string(t.end));
  if (t.end - t.begin != nbytes)
    fail(ErrorCode::InvalidFile, where + ": data range " + range_text(t.begin, t.end) + " holds " +
                                     std::to_string(t.end - t.begin) + " bytes but " + dtype_str + " " +
                                     shape_text(t.shape) + " needs " + std::to_string(nbytes));
  return t;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile f;  // closes the file if validation throws
  f.path_ = path;
  f.file_ = ReadOnlyFile::open(path);
  const uint64_t file_size = f.file_.size();

  // 1. Header length: checked against the limit and the file size before allocating.
  if (file_size < 8)
    fail(ErrorCode::InvalidFile, path + ": file is " + std::to_string(file_size) +
                                     " bytes, too short for the 8-byte header length");
  unsigned char len_bytes[8];
  f.file_.read_at(len_bytes, 8, 0, path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > kSafetensorsMaxHeaderBytes)
    fail(ErrorCode::InvalidFile, path + ": header length " + std::to_string(n) + " exceeds the limit of " +
                                     std::to_string(kSafetensorsMaxHeaderBytes) + " bytes");
  if (n > file_size - 8)
    fail(ErrorCode::InvalidFile, path + ": header length " + std::to_string(n) +
                                     " runs past the end of the file (" + std::to_string(file_size) + " bytes)");
  f.data_start_ = 8 + n;
  f.data_size_ = file_size - f.data_start_;

  // 2. Header text: UTF-8, a JSON object, no duplicate keys, at most 4M JSON values. (The
  //    parsed tree costs ~40 bytes per value: without the cap a hostile 100 MB header of 50M
  //    shape entries, which the reference accepts, would need ~2.7 GB. 4M values is ~500k
  //    tensors; real headers hold a few thousand values.)
  std::string header(static_cast<size_t>(n), '\0');
  f.file_.read_at(header.data(), n, 8, path);
  if (!is_valid_utf8(header)) fail(ErrorCode::InvalidFile, path + ": header is not valid UTF-8");
  JsonParseOptions opts;
  opts.reject_duplicate_keys = true;  // a duplicate tensor name would be ambiguous
  opts.max_values = 4u << 20;
  const Json root = Json::parse(header, path + ": header", opts);
  header = std::string();  // the parsed tree is all we need now
  if (!root.is_object())
    fail(ErrorCode::InvalidFile, path + ": header must be a JSON object, got " + root.type_name());

  // 3. Entries.
  for (const auto& m : root.as_object()) {
    if (m.first == "__metadata__") {
      if (m.second.is_null()) continue;  // serde reads null as "no metadata"
      for (const auto& kv : m.second.as_object(path + ": __metadata__")) {
        if (!kv.second.is_string())
          fail(ErrorCode::InvalidFile, path + ": __metadata__ value of " + quote(kv.first) +
                                           " must be a string, got " + kv.second.type_name());
        f.metadata_.emplace_back(kv.first, kv.second.as_string());
      }
      continue;
    }
    f.tensors_.push_back(parse_tensor_entry(m.first, m.second, path + ": tensor " + quote(m.first)));
  }

  // 4. Sorted by offset, the tensors must tile the data section exactly: no gap, no overlap,
  //    nothing after the last one. (Zero-size tensors sort before a tensor at the same offset.)
  std::stable_sort(f.tensors_.begin(), f.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (size_t i = 0; i < f.tensors_.size(); ++i) {
    const TensorInfo& t = f.tensors_[i];
    if (t.begin < expected) {
      const TensorInfo& prev = f.tensors_[i - 1];
      fail(ErrorCode::InvalidFile, path + ": tensor " + quote(t.name) + ": data range " +
                                       range_text(t.begin, t.end) + " overlaps tensor " + quote(prev.name) +
                                       " at " + range_text(prev.begin, prev.end));
    }
    if (t.begin > expected)
      fail(ErrorCode::InvalidFile, path + ": tensor " + quote(t.name) + ": gap of " +
                                       std::to_string(t.begin - expected) + " bytes before its data range " +
                                       range_text(t.begin, t.end));
    expected = t.end;
  }
  if (expected > f.data_size_)
    fail(ErrorCode::InvalidFile, path + ": tensor " + quote(f.tensors_.back().name) + ": data range " +
                                     range_text(f.tensors_.back().begin, expected) +
                                     " runs past the end of the data section (" + std::to_string(f.data_size_) +
                                     " bytes; is the file truncated?)");
  if (expected < f.data_size_)
    fail(ErrorCode::InvalidFile, path + ": " + std::to_string(f.data_size_ - expected) +
                                     " bytes after the last tensor's data (tensors end at byte " +
                                     std::to_string(expected) + " of a " + std::to_string(f.data_size_) +
                                     "-byte data section)");

  f.index_.reserve(f.tensors_.size());
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::check_owned(const TensorInfo& info) const {
  const TensorInfo* mine = find(info.name);
  if (!mine || mine->begin != info.begin || mine->end != info.end || mine->dtype != info.dtype)
    fail(ErrorCode::InvalidArgument, path_ + ": tensor " + quote(info.name) + " is not a tensor of this file");
}

void SafetensorsFile::pread_exact(void* dst, uint64_t bytes, uint64_t data_offset, const std::string& tensor) const {
  file_.read_at(dst, bytes, data_start_ + data_offset, path_ + ": tensor " + quote(tensor));
}

void SafetensorsFile::read_raw(const TensorInfo& info, void* dst) const {
  check_owned(info);
  pread_exact(dst, info.nbytes(), info.begin, info.name);
}

void SafetensorsFile::read_f32(const TensorInfo& info, float* dst) const {
  check_owned(info);
  const uint64_t n = info.numel();
  // Half and double data go through a buffer small enough to stay in cache while converting.
  constexpr uint64_t kChunk = uint64_t(1) << 18;
  switch (info.dtype) {
    case DType::F32:
      pread_exact(dst, info.nbytes(), info.begin, info.name);
      return;
    case DType::F16:
    case DType::BF16: {
      std::vector<uint16_t> buf(static_cast<size_t>(std::min(n, kChunk)));
      for (uint64_t done = 0; done < n;) {
        size_t count = static_cast<size_t>(std::min(n - done, kChunk));
        pread_exact(buf.data(), count * 2, info.begin + done * 2, info.name);
        if (info.dtype == DType::F16) f16_to_f32(buf.data(), dst + done, count);
        else bf16_to_f32(buf.data(), dst + done, count);
        done += count;
      }
      return;
    }
    case DType::F64: {
      std::vector<double> buf(static_cast<size_t>(std::min(n, kChunk)));
      for (uint64_t done = 0; done < n;) {
        size_t count = static_cast<size_t>(std::min(n - done, kChunk));
        pread_exact(buf.data(), count * 8, info.begin + done * 8, info.name);
        for (size_t i = 0; i < count; ++i) dst[done + i] = static_cast<float>(buf[i]);
        done += count;
      }
      return;
    }
    default:
      fail(ErrorCode::Unsupported, path_ + ": tensor " + quote(info.name) + ": dtype " + dtype_name(info.dtype) +
                                       " cannot be read as float32 (F32, F16, BF16 and F64 can)");
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

namespace {

// Builds the padded header and checks the arguments; returns each tensor's byte size.
std::string build_header(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::vector<std::pair<std::string, std::string>>& metadata,
                         std::vector<uint64_t>* sizes) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    std::unordered_set<std::string> keys;
    for (const auto& kv : metadata) {
      if (!keys.insert(kv.first).second)
        fail(ErrorCode::InvalidArgument, path + ": duplicate metadata key " + quote(kv.first));
      if (!is_valid_utf8(kv.first) || !is_valid_utf8(kv.second))
        fail(ErrorCode::InvalidArgument, path + ": metadata key " + quote(kv.first) + " or its value is not valid UTF-8");
      meta.add(kv.first, Json::from_string(kv.second));
    }
    header.add("__metadata__", std::move(meta));
  }

  std::unordered_set<std::string> names;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::string where = path + ": tensor " + quote(t.name);
    if (t.name == "__metadata__") fail(ErrorCode::InvalidArgument, where + ": this name is reserved for metadata");
    if (!is_valid_utf8(t.name)) fail(ErrorCode::InvalidArgument, where + ": name is not valid UTF-8");
    if (!names.insert(t.name).second) fail(ErrorCode::InvalidArgument, where + ": duplicate tensor name");
    Json shape = Json::array();
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) fail(ErrorCode::InvalidArgument, where + ": negative dimension in shape " + shape_text(t.shape));
      if (!checked_mul(numel, static_cast<uint64_t>(d), &numel))
        fail(ErrorCode::InvalidArgument, where + ": element count of shape " + shape_text(t.shape) + " overflows");
      shape.push(Json::from_int64(d));
    }
    uint64_t nbytes;
    if (!checked_mul(numel, dtype_size(t.dtype), &nbytes) || offset + nbytes < offset)
      fail(ErrorCode::InvalidArgument, where + ": byte size of shape " + shape_text(t.shape) + " overflows");
    if (nbytes > 0 && !t.data) fail(ErrorCode::InvalidArgument, where + ": data pointer is null");
    Json entry = Json::object();
    entry.add("dtype", Json::from_string(dtype_name(t.dtype)));
    entry.add("shape", std::move(shape));
    entry.add("data_offsets", Json::array().push(Json::from_uint64(offset)).push(Json::from_uint64(offset + nbytes)));
    header.add(t.name, std::move(entry));
    sizes->push_back(nbytes);
    offset += nbytes;
  }

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  if (text.size() > kSafetensorsMaxHeaderBytes)
    fail(ErrorCode::InvalidArgument, path + ": header would be " + std::to_string(text.size()) +
                                         " bytes, over the " + std::to_string(kSafetensorsMaxHeaderBytes) +
                                         "-byte limit of safetensors readers");
  return text;
}

// A temporary file next to the target; removed on destruction unless it was renamed.
struct TempFile {
  std::string path;
  int fd = -1;
  bool renamed = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!renamed && !path.empty()) ::unlink(path.c_str());
  }
};

uint64_t random_suffix() {
  static std::atomic<uint64_t> counter{0};
  uint64_t r = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  r ^= counter.fetch_add(1) * 0x9E3779B97F4A7C15ull;
  try {
    std::random_device rd;
    r ^= (uint64_t(rd()) << 32) ^ rd();
  } catch (...) {
    // No entropy source: the clock and counter still make the name unique in practice,
    // and O_EXCL below catches a collision.
  }
  return r;
}

// Makes the rename durable; best effort, because the new file is already in place.
void fsync_parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<uint64_t> sizes;
  const std::string header = build_header(path, tensors, metadata, &sizes);

  TempFile tmp;
  for (int attempt = 0; tmp.fd < 0; ++attempt) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%016llx", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(random_suffix()));
    std::string candidate = path + suffix;
    tmp.fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (tmp.fd >= 0) {
      tmp.path = candidate;
    } else if (errno != EEXIST || attempt >= 8) {
      io_fail(path + ": cannot create temporary file " + quote(candidate), errno);
    }
  }

  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(uint64_t(header.size()) >> (8 * i));
  write_all(tmp.fd, len_bytes, 8, path);
  write_all(tmp.fd, header.data(), header.size(), path);
  for (size_t i = 0; i < tensors.size(); ++i) write_all(tmp.fd, tensors[i].data, sizes[i], path);

  if (::fsync(tmp.fd) != 0) io_fail(path + ": fsync failed", errno);
  int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) io_fail(path + ": close failed", errno);
  if (::rename(tmp.path.c_str(), path.c_str()) != 0) io_fail(path + ": cannot replace it with the new file", errno);
  tmp.renamed = true;
  fsync_parent_dir(path);
}

}  // namespace af
