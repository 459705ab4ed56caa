// Tests for the safetensors reader/writer (native/core/safetensors.h): round trips for every
// float dtype, exact half conversions over all bit patterns, one test per kind of malformed
// file (code and message), and the atomic-write guarantees. Files live in a fresh mkdtemp dir.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/safetensors.h"
#include "check.h"

using af::DType;
using af::ErrorCode;
using af::SafetensorsFile;
using af::TensorToWrite;

namespace {

// A fresh temporary directory, removed (with its files and empty subfolders) at scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/af-safetensors-test-XXXXXX";
    if (!::mkdtemp(tmpl)) af::test::fail_at(__FILE__, __LINE__, "mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    for (const auto& e : entries()) {
      std::string p = path + "/" + e;
      ::chmod(p.c_str(), 0755);
      if (::unlink(p.c_str()) != 0) ::rmdir(p.c_str());
    }
    ::rmdir(path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
      ::closedir(d);
    }
    return out;
  }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) af::test::fail_at(__FILE__, __LINE__, "cannot write " + path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A raw safetensors file: length prefix, the header exactly as given, then `data_bytes` zeros.
std::string raw_file(const std::string& header, size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

std::string entry(const std::string& dtype, const std::string& shape, uint64_t b, uint64_t e) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(b) + "," +
         std::to_string(e) + "]}";
}

template <class F>
std::string error_of(F&& f, ErrorCode code, const char* file, int line) {
  try {
    f();
  } catch (const af::Error& e) {
    if (e.code() != code) af::test::fail_at(file, line, std::string("wrong error code, message: ") + e.what());
    return e.what();
  }
  af::test::fail_at(file, line, "expected an af::Error");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Writes `bytes` as a file, opens it and checks the error code and that the message starts with
// the path, names `tensor` (if given) and contains `detail`.
void expect_bad_file(const TempDir& dir, const std::string& bytes, ErrorCode code, const std::string& tensor,
                     const std::string& detail, const char* file, int line) {
  std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  std::string msg = error_of([&] { SafetensorsFile::open(path); }, code, file, line);
  if (msg.rfind(path + ": ", 0) != 0) af::test::fail_at(file, line, "message does not start with the path: " + msg);
  if (!tensor.empty() && !contains(msg, "tensor \"" + tensor + "\""))
    af::test::fail_at(file, line, "message does not name tensor " + tensor + ": " + msg);
  if (!contains(msg, detail)) af::test::fail_at(file, line, "message lacks \"" + detail + "\": " + msg);
}
#define EXPECT_BAD(bytes, tensor, detail) \
  expect_bad_file(dir, bytes, ErrorCode::InvalidFile, tensor, detail, __FILE__, __LINE__)

// Reference f16 -> f32, computed arithmetically from the IEEE 754 binary16 definition.
float ref_f16(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  double v;
  if (exp == 0) v = std::ldexp(double(mant), -24);
  else if (exp == 31) v = mant ? std::nan("") : INFINITY;
  else v = std::ldexp(double(mant + 1024), exp - 25);
  return static_cast<float>(sign ? -v : v);
}

// Reference bf16 -> f32 from the bfloat16 definition (8 exponent bits, 7 mantissa bits).
float ref_bf16(uint16_t h) {
  int sign = h >> 15, exp = (h >> 7) & 0xFF, mant = h & 0x7F;
  double v;
  if (exp == 0) v = std::ldexp(double(mant), -133);
  else if (exp == 255) v = mant ? std::nan("") : INFINITY;
  else v = std::ldexp(double(mant + 128), exp - 134);
  return static_cast<float>(sign ? -v : v);
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Checks a converted value: same bits as the reference, or for NaN: NaN with the same sign and
// the payload shifted into place (so quiet/signalling is preserved).
void check_half(uint16_t h, float got, float ref, int mant_shift) {
  if (std::isnan(ref)) {
    uint32_t want = (uint32_t(h & 0x8000) << 16) | 0x7F800000u | (uint32_t(h & ((1u << (23 - mant_shift)) - 1)) << mant_shift);
    CHECK_MSG(bits(got) == want, "NaN pattern 0x" << std::hex << h << " -> 0x" << bits(got));
  } else {
    CHECK_MSG(bits(got) == bits(ref), "pattern 0x" << std::hex << h << " -> 0x" << bits(got) << ", want 0x" << bits(ref));
  }
}

}  // namespace

AF_TEST("safetensors: dtype names and sizes") {
  const DType all[] = {DType::BOOL, DType::U8,  DType::I8,   DType::F8_E5M2, DType::F8_E4M3,
                       DType::I16,  DType::U16, DType::F16,  DType::BF16,    DType::I32,
                       DType::U32,  DType::F32, DType::F64,  DType::I64,     DType::U64};
  const size_t sizes[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
  for (size_t i = 0; i < 15; ++i) {
    CHECK(af::dtype_size(all[i]) == sizes[i]);
    DType back;
    CHECK(af::dtype_from_name(af::dtype_name(all[i]), &back) && back == all[i]);
  }
  CHECK(std::strcmp(af::dtype_name(DType::BF16), "BF16") == 0);
  DType t;
  CHECK(!af::dtype_from_name("F128", &t));
  CHECK(!af::dtype_from_name("f32", &t));
  CHECK(!af::dtype_from_name("", &t));
}

AF_TEST("safetensors: f16 -> f32 is exact for all 65536 patterns") {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> out(65536);
  af::f16_to_f32(all.data(), out.data(), all.size());
  for (uint32_t i = 0; i < 65536; ++i) {
    uint16_t h = static_cast<uint16_t>(i);
    check_half(h, out[i], ref_f16(h), 13);
    CHECK(bits(af::f16_to_f32(h)) == bits(out[i]));  // scalar and array agree
#if defined(__FLT16_MAX__)
    // Also against the compiler's own half type where there is one.
    _Float16 x;
    std::memcpy(&x, &h, 2);
    if (!std::isnan(static_cast<float>(x))) CHECK(bits(static_cast<float>(x)) == bits(out[i]));
#endif
  }
  CHECK(af::f16_to_f32(0x3C00) == 1.0f);
  CHECK(af::f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(af::f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(std::isinf(af::f16_to_f32(0xFC00)) && af::f16_to_f32(0xFC00) < 0);
  CHECK(bits(af::f16_to_f32(0x8000)) == 0x80000000u);  // -0
}

AF_TEST("safetensors: bf16 -> f32 is exact for all 65536 patterns") {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> out(65536);
  af::bf16_to_f32(all.data(), out.data(), all.size());
  for (uint32_t i = 0; i < 65536; ++i) {
    uint16_t h = static_cast<uint16_t>(i);
    check_half(h, out[i], ref_bf16(h), 16);
    CHECK(bits(af::bf16_to_f32(h)) == bits(out[i]));
  }
}

AF_TEST("safetensors: round trip of every float dtype, an int dtype and metadata") {
  TempDir dir;
  std::vector<float> f32 = {1.5f, -2.25f, 0.0f, 3.0e-39f, INFINITY, -1e30f};
  std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x0001, 0x7C00, 0x7E01, 0x8000};
  std::vector<uint16_t> bf16 = {0x3F80, 0xC040, 0x0001, 0x7F80, 0x7FC1, 0x8000};
  std::vector<double> f64 = {1.0 / 3.0, -1e300, 1e-310, 2.5};
  std::vector<int64_t> i64 = {0, -1, std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
  std::vector<uint8_t> u8 = {0, 1, 255};
  std::vector<TensorToWrite> ts = {
      {"encoder.layer.0.weight", DType::F32, {2, 3}, f32.data()},
      {"half", DType::F16, {6}, f16.data()},
      {"brain", DType::BF16, {3, 2}, bf16.data()},
      {"double", DType::F64, {2, 2}, f64.data()},
      {"ids", DType::I64, {4}, i64.data()},
      {"mask", DType::U8, {3}, u8.data()},
  };
  const std::vector<std::pair<std::string, std::string>> meta = {{"format", "pt"}, {"note", "\xC3\xA9 \"q\""}};
  std::string path = dir.file("model.safetensors");
  af::write_safetensors(path, ts, meta);

  // Layout: 8-byte aligned header padded with spaces, data contiguous in the given order.
  std::string raw = read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  CHECK(n % 8 == 0);
  CHECK(raw[8] == '{');
  CHECK(raw.size() == 8 + n + 24 + 12 + 12 + 32 + 32 + 3);
  CHECK(std::memcmp(raw.data() + 8 + n, f32.data(), 24) == 0);

  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.path() == path);
  CHECK(f.metadata() == meta);
  CHECK(f.tensors().size() == ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    const af::TensorInfo& t = f.tensors()[i];  // ordered by offset = write order here
    CHECK(t.name == ts[i].name);
    CHECK(t.dtype == ts[i].dtype);
    CHECK(t.shape == ts[i].shape);
    std::vector<char> got(t.nbytes());
    f.read_raw(t, got.data());
    CHECK(std::memcmp(got.data(), ts[i].data, got.size()) == 0);
    CHECK(f.find(t.name) == &t);
  }
  CHECK(f.find("nope") == nullptr);

  std::vector<float> out(6);
  f.read_f32(*f.find("encoder.layer.0.weight"), out.data());
  CHECK(std::memcmp(out.data(), f32.data(), 24) == 0);
  f.read_f32(*f.find("half"), out.data());
  for (int i = 0; i < 6; ++i) CHECK(bits(out[i]) == bits(af::f16_to_f32(f16[i])));
  f.read_f32(*f.find("brain"), out.data());
  for (int i = 0; i < 6; ++i) CHECK(bits(out[i]) == uint32_t(bf16[i]) << 16);
  f.read_f32(*f.find("double"), out.data());
  for (int i = 0; i < 4; ++i) CHECK(out[i] == static_cast<float>(f64[i]));

  // Non-float dtypes are not converted.
  std::string msg = error_of([&] { f.read_f32(*f.find("ids"), out.data()); }, ErrorCode::Unsupported, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, path + ": tensor \"ids\": dtype I64"), msg);
  // A TensorInfo that is not this file's is refused.
  af::TensorInfo other = *f.find("half");
  other.end += 2;
  error_of([&] { f.read_raw(other, out.data()); }, ErrorCode::InvalidArgument, __FILE__, __LINE__);
  other.name = "unknown";
  error_of([&] { f.read_f32(other, out.data()); }, ErrorCode::InvalidArgument, __FILE__, __LINE__);

  // Moving keeps the file usable.
  SafetensorsFile g = std::move(f);
  g.read_f32(*g.find("half"), out.data());
  CHECK(out[0] == 1.0f);
}

AF_TEST("safetensors: zero-size tensors, scalars and an empty file") {
  TempDir dir;
  float a[2] = {1, 2}, s = 7;
  std::vector<TensorToWrite> ts = {
      {"empty_first", DType::F32, {0}, nullptr},
      {"a", DType::F32, {2}, a},
      {"empty_mid", DType::F16, {3, 0, 5}, nullptr},
      {"scalar", DType::F32, {}, &s},
      {"empty_last", DType::I64, {0}, nullptr},
  };
  std::string path = dir.file("z.safetensors");
  af::write_safetensors(path, ts);
  SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.tensors().size() == 5);
  CHECK(f.metadata().empty());
  const af::TensorInfo* mid = f.find("empty_mid");
  CHECK(mid && mid->numel() == 0 && mid->nbytes() == 0 && mid->shape == std::vector<int64_t>({3, 0, 5}));
  const af::TensorInfo* sc = f.find("scalar");
  CHECK(sc && sc->shape.empty() && sc->numel() == 1);
  float out[2] = {0, 0};
  f.read_f32(*sc, out);
  CHECK(out[0] == 7.0f);
  f.read_f32(*mid, out);  // reads nothing
  f.read_raw(*f.find("empty_last"), out);

  std::string empty = dir.file("empty.safetensors");
  af::write_safetensors(empty, {});
  CHECK(read_bytes(empty) == le64(8) + "{}      ");
  CHECK(SafetensorsFile::open(empty).tensors().empty());

  // Hand-written: zero-size tensors sharing an offset with a real one, listed out of order.
  std::string h = "{\"b\":" + entry("F32", "[1]", 4, 8) + ",\"z\":" + entry("F32", "[0]", 4, 4) +
                  ",\"a\":" + entry("F32", "[1]", 0, 4) + ",\"__metadata__\":null}";
  write_bytes(dir.file("h.safetensors"), raw_file(h, 8));
  SafetensorsFile g = SafetensorsFile::open(dir.file("h.safetensors"));
  CHECK(g.tensors().size() == 3);
  CHECK(g.tensors()[0].name == "a");  // ordered by offset
  CHECK(g.tensors()[1].name == "z");
  CHECK(g.tensors()[2].name == "b");
}

AF_TEST("safetensors: all f16 patterns through a file") {
  TempDir dir;
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::string path = dir.file("f16.safetensors");
  af::write_safetensors(path, {{"all", DType::F16, {256, 256}, all.data()}, {"bf", DType::BF16, {65536}, all.data()}});
  SafetensorsFile f = SafetensorsFile::open(path);
  std::vector<float> out(65536);
  f.read_f32(*f.find("all"), out.data());
  for (uint32_t i = 0; i < 65536; ++i) check_half(static_cast<uint16_t>(i), out[i], ref_f16(static_cast<uint16_t>(i)), 13);
  f.read_f32(*f.find("bf"), out.data());
  for (uint32_t i = 0; i < 65536; ++i) check_half(static_cast<uint16_t>(i), out[i], ref_bf16(static_cast<uint16_t>(i)), 16);
}

AF_TEST("safetensors: large tensor read in chunks") {
  TempDir dir;
  const size_t n = (size_t(1) << 20) + 12345;  // several conversion chunks plus a partial one
  std::vector<uint16_t> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = static_cast<uint16_t>(i * 2654435761u);
  std::string path = dir.file("big.safetensors");
  af::write_safetensors(path, {{"w", DType::F16, {int64_t(n)}, h.data()}, {"b", DType::BF16, {int64_t(n)}, h.data()}});
  SafetensorsFile f = SafetensorsFile::open(path);
  std::vector<float> out(n);
  f.read_f32(*f.find("w"), out.data());
  bool ok = true;
  for (size_t i = 0; i < n; ++i) ok &= bits(out[i]) == bits(af::f16_to_f32(h[i]));
  CHECK(ok);
  f.read_f32(*f.find("b"), out.data());
  for (size_t i = 0; i < n; ++i) ok &= bits(out[i]) == uint32_t(h[i]) << 16;
  CHECK(ok);
}

AF_TEST("safetensors: rejects files too short or with a bad header length") {
  TempDir dir;
  EXPECT_BAD("", "", "file is 0 bytes, too short");
  EXPECT_BAD(std::string("\x02\0\0\0\0", 5), "", "file is 5 bytes, too short");
  EXPECT_BAD(le64(100000001) + "{}", "", "header length 100000001 exceeds the limit");
  EXPECT_BAD(le64(uint64_t(1) << 60) + "{}", "", "exceeds the limit");  // no 2^60-byte allocation
  EXPECT_BAD(le64(~uint64_t(0)) + "{}", "", "exceeds the limit");
  EXPECT_BAD(le64(100) + std::string(50, ' '), "", "header length 100 runs past the end of the file (58 bytes)");
  EXPECT_BAD(le64(0), "", "header: invalid JSON at byte 0: unexpected end of input");
}

AF_TEST("safetensors: rejects a header that is not a UTF-8 JSON object") {
  TempDir dir;
  EXPECT_BAD(raw_file("{\"a\xFF\":" + entry("F32", "[0]", 0, 0) + "}", 0), "", "header is not valid UTF-8");
  EXPECT_BAD(raw_file("{\"\xED\xA0\x80\":{}}", 0), "", "header is not valid UTF-8");
  EXPECT_BAD(raw_file("{\"a\":", 0), "", "header: invalid JSON at byte 5");
  EXPECT_BAD(raw_file("{\"a\":1,}", 0), "", "invalid JSON");
  EXPECT_BAD(raw_file("{} trailing", 0), "", "invalid JSON");
  EXPECT_BAD(raw_file("[1, 2]  ", 0), "", "header must be a JSON object, got array");
  EXPECT_BAD(raw_file("\"str\"   ", 0), "", "header must be a JSON object, got string");
  EXPECT_BAD(raw_file("null", 0), "", "header must be a JSON object, got null");
  EXPECT_BAD(raw_file("", 0), "", "invalid JSON at byte 0");
  // Whitespace around the object is fine (writers pad with spaces; the reference accepts a
  // leading space too).
  write_bytes(dir.file("ok.safetensors"), raw_file(" \n{}      ", 0));
  CHECK(SafetensorsFile::open(dir.file("ok.safetensors")).tensors().empty());
}

AF_TEST("safetensors: rejects entries with missing, extra or mistyped fields") {
  TempDir dir;
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "w", "missing field \"shape\"");
  EXPECT_BAD(raw_file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "w", "missing field \"dtype\"");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "w", "missing field \"data_offsets\"");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4), "w",
             "unknown field \"extra\"");
  EXPECT_BAD(raw_file("{\"w\":\"F32\"}", 0), "w", "expected an object, got string");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "w",
             "dtype: expected a string, got number");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4), "w",
             "shape: expected an array, got string");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 4), "w",
             "data_offsets: expected an array, got object");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "w",
             "data_offsets must have 2 entries, got 1");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4), "w",
             "data_offsets must have 2 entries, got 3");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",4]}}", 4), "w",
             "data_offsets[0]: expected a non-negative integer, got string");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "",
             "duplicate key \"dtype\"");
}

AF_TEST("safetensors: rejects unknown dtypes and bad shapes") {
  TempDir dir;
  EXPECT_BAD(raw_file("{\"w\":" + entry("F128", "[1]", 0, 16) + "}", 16), "w", "unknown dtype \"F128\"");
  EXPECT_BAD(raw_file("{\"w\":" + entry("f32", "[1]", 0, 4) + "}", 4), "w", "unknown dtype \"f32\"");
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[-1]", 0, 4) + "}", 4), "w",
             "shape[0]: expected a non-negative integer, got -1");
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[2, 1.5]", 0, 4) + "}", 4), "w",
             "shape[1]: expected a non-negative integer, got 1.5");
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[1e0]", 0, 4) + "}", 4), "w", "shape[0]: expected a non-negative integer");
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[-0]", 0, 0) + "}", 0), "w", "shape[0]: expected a non-negative integer, got -0");
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[null]", 0, 4) + "}", 4), "w", "shape[0]: expected a non-negative integer, got null");
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[9223372036854775808]", 0, 0) + "}", 0), "w", "is too large");
  // Element count overflows 64 bits (even though a later 0 would make it 0, as in the reference).
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[4294967296, 4294967296, 0]", 0, 0) + "}", 0), "w",
             "element count of shape [4294967296, 4294967296]... overflows 64 bits");
  // Long shapes are cut short in messages.
  std::string ones;
  for (int i = 0; i < 1000; ++i) ones += "1,";
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[" + ones + "4294967296, 4294967296]", 0, 0) + "}", 0), "w",
             "element count of shape [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ... (1002 dims)]... overflows");
  // Element count fits, byte count does not.
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[4611686018427387904]", 0, 0) + "}", 0), "w",
             "byte size of shape [4611686018427387904] overflows 64 bits");
}

AF_TEST("safetensors: rejects offsets that disagree with the shape or each other") {
  TempDir dir;
  // numel * size != end - begin
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[2]", 0, 4) + "}", 4), "w",
             "data range [0, 4) holds 4 bytes but F32 [2] needs 8");
  // begin > end
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[1]", 8, 4) + "}", 8), "w", "data_offsets begin 8 is after end 4");
  // offsets >= 2^64
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[1]", 0, 0) + "}", 0), "w", "holds 0 bytes but F32 [1] needs 4");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[18446744073709551616,18446744073709551616]}}", 0),
             "w", "data_offsets[0]: integer 18446744073709551616 is out of the 64-bit unsigned range");
  EXPECT_BAD(raw_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999999]}}", 1),
             "w", "data_offsets[1]: integer 99999999999999999999999 is out of");
  // a gap between tensors
  EXPECT_BAD(raw_file("{\"a\":" + entry("F32", "[1]", 0, 4) + ",\"b\":" + entry("F32", "[1]", 8, 12) + "}", 12), "b",
             "gap of 4 bytes before its data range [8, 12)");
  // a gap at the start
  EXPECT_BAD(raw_file("{\"a\":" + entry("F32", "[1]", 4, 8) + "}", 8), "a", "gap of 4 bytes");
  // overlapping tensors
  EXPECT_BAD(raw_file("{\"a\":" + entry("F64", "[1]", 0, 8) + ",\"b\":" + entry("F64", "[1]", 4, 12) + "}", 12), "b",
             "data range [4, 12) overlaps tensor \"a\" at [0, 8)");
  EXPECT_BAD(raw_file("{\"a\":" + entry("F32", "[1]", 0, 4) + ",\"b\":" + entry("F32", "[1]", 0, 4) + "}", 4), "",
             "overlaps tensor");
  // data shorter than the tensors (truncated file)
  EXPECT_BAD(raw_file("{\"a\":" + entry("F32", "[1]", 0, 4) + ",\"b\":" + entry("F32", "[2]", 4, 12) + "}", 10), "b",
             "data range [4, 12) runs past the end of the data section (10 bytes");
  // trailing bytes after the last tensor
  EXPECT_BAD(raw_file("{\"a\":" + entry("F32", "[1]", 0, 4) + "}", 5), "",
             "1 bytes after the last tensor's data (tensors end at byte 4 of a 5-byte data section)");
  EXPECT_BAD(raw_file("{}", 3), "", "3 bytes after the last tensor's data");
}

AF_TEST("safetensors: rejects duplicate names and non-string metadata") {
  TempDir dir;
  EXPECT_BAD(raw_file("{\"w\":" + entry("F32", "[1]", 0, 4) + ",\"w\":" + entry("F32", "[1]", 4, 8) + "}", 8), "",
             "duplicate key \"w\"");
  EXPECT_BAD(raw_file("{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0), "", "__metadata__ value of \"n\" must be a string, got number");
  EXPECT_BAD(raw_file("{\"__metadata__\":{\"k\":null}}", 0), "", "value of \"k\" must be a string, got null");
  EXPECT_BAD(raw_file("{\"__metadata__\":[\"a\"]}", 0), "", "__metadata__: expected an object, got array");
  EXPECT_BAD(raw_file("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "", "duplicate key");
}

AF_TEST("safetensors: messages escape awkward tensor names") {
  TempDir dir;
  std::string path = dir.file("bad.safetensors");
  write_bytes(path, raw_file("{\"a\\nb\\\"c\":" + entry("F32", "[2]", 0, 4) + "}", 4));
  std::string msg = error_of([&] { SafetensorsFile::open(path); }, ErrorCode::InvalidFile, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, "tensor \"a\\x0Ab\\\"c\""), msg);
  std::string long_name(5000, 'x');
  write_bytes(path, raw_file("{\"" + long_name + "\":" + entry("F32", "[2]", 0, 4) + "}", 4));
  msg = error_of([&] { SafetensorsFile::open(path); }, ErrorCode::InvalidFile, __FILE__, __LINE__);
  CHECK_MSG(msg.size() < 500 && contains(msg, "xxx...\""), msg);
}

AF_TEST("safetensors: open reports missing files and directories as Io") {
  TempDir dir;
  std::string missing = dir.file("missing.safetensors");
  std::string msg = error_of([&] { SafetensorsFile::open(missing); }, ErrorCode::Io, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, missing + ": cannot open"), msg);
  msg = error_of([&] { SafetensorsFile::open(dir.path); }, ErrorCode::Io, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, dir.path + ": "), msg);
}

AF_TEST("safetensors: writer rejects bad arguments without touching the target") {
  TempDir dir;
  std::string path = dir.file("out.safetensors");
  float x[2] = {1, 2};
  auto bad = [&](std::vector<TensorToWrite> ts, std::vector<std::pair<std::string, std::string>> meta,
                 const std::string& detail) {
    std::string msg = error_of([&] { af::write_safetensors(path, ts, meta); }, ErrorCode::InvalidArgument, __FILE__, __LINE__);
    CHECK_MSG(msg.rfind(path + ": ", 0) == 0 && contains(msg, detail), msg);
  };
  bad({{"a", DType::F32, {2}, x}, {"a", DType::F32, {1}, x}}, {}, "tensor \"a\": duplicate tensor name");
  bad({{"__metadata__", DType::F32, {2}, x}}, {}, "reserved");
  bad({{"a", DType::F32, {-2}, x}}, {}, "tensor \"a\": negative dimension");
  bad({{"a", DType::F32, {2}, nullptr}}, {}, "tensor \"a\": data pointer is null");
  bad({{"a\xFF", DType::F32, {2}, x}}, {}, "not valid UTF-8");
  bad({{"a", DType::F32, {int64_t(1) << 62, 8}, x}}, {}, "overflows");
  bad({{"a", DType::F32, {2}, x}}, {{"k", "1"}, {"k", "2"}}, "duplicate metadata key \"k\"");
  CHECK(dir.entries().empty());  // nothing created, not even a temporary file
}

AF_TEST("safetensors: atomic write replaces the file or leaves it intact") {
  TempDir dir;
  std::string path = dir.file("model.safetensors");
  float a[2] = {1, 2}, b[3] = {3, 4, 5};
  af::write_safetensors(path, {{"a", DType::F32, {2}, a}});
  const std::string old_bytes = read_bytes(path);

  // Success replaces the content; no temporary file is left behind.
  af::write_safetensors(path, {{"b", DType::F32, {3}, b}}, {{"v", "2"}});
  CHECK(read_bytes(path) != old_bytes);
  CHECK(SafetensorsFile::open(path).find("b") != nullptr);
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
  af::write_safetensors(path, {{"a", DType::F32, {2}, a}});
  CHECK(read_bytes(path) == old_bytes);

#if defined(__linux__)
  // A failure in the middle of writing data: the kernel refuses to read from an unmapped address
  // (write(2) returns EFAULT), which happens after the temporary file exists.
  const void* unmapped = reinterpret_cast<const void*>(uintptr_t(16));
  std::string msg = error_of([&] { af::write_safetensors(path, {{"a", DType::F32, {2}, a}, {"bad", DType::F32, {1024}, unmapped}}); },
                             ErrorCode::Io, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, path + ": write failed"), msg);
  CHECK(read_bytes(path) == old_bytes);
  CHECK(dir.entries() == std::vector<std::string>{"model.safetensors"});
#endif

  // The target is a directory: the rename fails, the directory is untouched, no temp file remains.
  std::string sub = dir.file("adir");
  CHECK(::mkdir(sub.c_str(), 0755) == 0);
  msg = error_of([&] { af::write_safetensors(sub, {{"a", DType::F32, {2}, a}}); }, ErrorCode::Io, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, sub + ": cannot replace it"), msg);
  struct stat st;
  CHECK(::stat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
  auto entries = dir.entries();
  CHECK(entries.size() == 2);  // model.safetensors and adir

  // The folder does not exist.
  std::string nowhere = dir.file("no/such/dir/x.safetensors");
  msg = error_of([&] { af::write_safetensors(nowhere, {{"a", DType::F32, {2}, a}}); }, ErrorCode::Io, __FILE__, __LINE__);
  CHECK_MSG(contains(msg, nowhere + ": cannot create temporary file"), msg);

  // The folder is not writable (not testable as root, who may write anywhere).
  if (::geteuid() != 0) {
    std::string ro = dir.file("ro");
    CHECK(::mkdir(ro.c_str(), 0755) == 0);
    std::string target = ro + "/m.safetensors";
    af::write_safetensors(target, {{"a", DType::F32, {2}, a}});
    CHECK(::chmod(ro.c_str(), 0555) == 0);
    error_of([&] { af::write_safetensors(target, {{"b", DType::F32, {3}, b}}); }, ErrorCode::Io, __FILE__, __LINE__);
    CHECK(read_bytes(target) == old_bytes);
    ::chmod(ro.c_str(), 0755);
    ::unlink(target.c_str());
  }
  CHECK(read_bytes(path) == old_bytes);
}

AF_TEST("safetensors: a header of millions of JSON values is refused before it grows") {
  // One tensor whose shape lists 5M ones: a valid-looking header the cap refuses cheaply.
  std::string shape;
  shape.reserve(10u << 20);
  for (int i = 0; i < 5000000; ++i) shape += i ? ",1" : "1";
  std::string header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + shape + "],\"data_offsets\":[0,4]}}";
  char tmpl[] = "/tmp/af-st-huge-XXXXXX";
  int fd = mkstemp(tmpl);
  CHECK(fd >= 0);
  uint64_t n = header.size();
  CHECK(write(fd, &n, 8) == 8);
  CHECK(write(fd, header.data(), header.size()) == static_cast<ssize_t>(header.size()));
  float v = 1;
  CHECK(write(fd, &v, 4) == 4);
  close(fd);
  CHECK_THROWS_CODE(af::SafetensorsFile::open(tmpl), af::ErrorCode::InvalidFile);
  unlink(tmpl);
}
