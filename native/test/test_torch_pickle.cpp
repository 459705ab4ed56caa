// Tests of the torch .bin reader (native/core/torch_pickle.h, zip_reader.h) on the files that
// scripts/make_torch_bin_fixtures.py wrote into fixtures/torch_bin/: good files must load to the
// values in state_dict.expected.safetensors bit for bit; hostile and malformed ones must fail
// with the right code, a message naming the file, and without running anything.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../core/safetensors.h"
#include "../core/torch_pickle.h"
#include "../core/zip_reader.h"
#include "check.h"

namespace {

constexpr const char* kMarker = "/tmp/af_torch_pickle_pwned";  // what the evil fixtures would write

std::string fixture(const std::string& name) {
  const char* env = std::getenv("AF_FIXTURES_DIR");
  return std::string(env ? env : "fixtures") + "/torch_bin/" + name;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) out.push_back(s.substr(start, nl - start));
  out.push_back(s.substr(start));
  return out;
}

const af::TorchTensor& by_name(const std::vector<af::TorchTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return t;
  af::test::fail_at(__FILE__, __LINE__, "tensor missing: " + name);
}

// Every tensor equals the expected one: same order, dtype, shape, and the same bits.
void check_matches_expected(const std::string& file) {
  const std::string path = fixture(file);
  CHECK_MSG(exists(path), "fixture missing: " << path << " (run from the repo root)");
  const std::vector<af::TorchTensor> got = af::load_torch_state_dict(path);
  const af::SafetensorsFile want = af::SafetensorsFile::open(fixture("state_dict.expected.safetensors"));
  std::string order;
  for (const auto& kv : want.metadata())
    if (kv.first == "order") order = kv.second;
  const std::vector<std::string> names = split_lines(order);
  CHECK_MSG(got.size() == names.size(), file << ": " << got.size() << " tensors, expected " << names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const af::TorchTensor& t = got[i];
    CHECK_MSG(t.name == names[i], file << ": tensor " << i << " is " << t.name << ", expected " << names[i]);
    const af::TensorInfo* w = want.find(t.name);
    CHECK_MSG(w, "expected values missing for " << t.name);
    CHECK_MSG(t.dtype == w->dtype, file << ": " << t.name << " dtype " << af::dtype_name(t.dtype));
    CHECK_MSG(t.shape == w->shape, file << ": " << t.name << " shape differs");
    CHECK(t.numel() == w->numel());
    const size_t n = static_cast<size_t>(t.numel());
    if (t.dtype == af::DType::I64) {
      std::vector<int64_t> a(n), b(n);
      af::read_raw(t, a.data());
      want.read_raw(*w, b.data());
      CHECK_MSG(a == b, file << ": " << t.name << " values differ");
    } else {
      std::vector<float> a(n), b(n);
      af::read_f32(t, a.data());
      want.read_f32(*w, b.data());
      CHECK_MSG(n == 0 || std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0, file << ": " << t.name << " values differ");
    }
  }
}

// Loading must throw `code` with a message naming the file and containing `needle`.
void check_refused(const std::string& file, af::ErrorCode code, const std::string& needle) {
  const std::string path = fixture(file);
  CHECK_MSG(exists(path), "fixture missing: " << path);
  try {
    af::load_torch_state_dict(path);
  } catch (const af::Error& e) {
    const std::string msg = e.what();
    CHECK_MSG(e.code() == code, file << ": code " << af::error_code_name(e.code()) << ", message: " << msg);
    CHECK_MSG(msg.find(path) != std::string::npos, file << ": message does not name the file: " << msg);
    CHECK_MSG(msg.find(needle) != std::string::npos, file << ": message lacks \"" << needle << "\": " << msg);
    return;
  }
  af::test::fail_at(__FILE__, __LINE__, file + ": loaded, but should have been refused");
}

}  // namespace

AF_TEST("torch_bin: OrderedDict state dict with _metadata matches its expected values") {
  check_matches_expected("state_dict.bin");
}

AF_TEST("torch_bin: pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL), plain dict") {
  check_matches_expected("proto4.bin");
}

AF_TEST("torch_bin: ZIP64 extra fields for every size and offset") { check_matches_expected("zip64.bin"); }

AF_TEST("torch_bin: storages saved from cuda:0 read the same") { check_matches_expected("cuda_location.bin"); }

AF_TEST("torch_bin: views keep strides and offsets; shared storage; 0-d and empty tensors") {
  const auto ts = af::load_torch_state_dict(fixture("state_dict.bin"));
  const auto& up = by_name(ts, "bert.encoder.layer.0.output.adapters.a.adapter_up.weight");
  CHECK((up.shape == std::vector<int64_t>{8, 4}) && (up.strides == std::vector<int64_t>{1, 8}));
  CHECK(!up.is_contiguous() && up.dtype == af::DType::F32);
  const auto& strided = by_name(ts, "bf16.strided");
  CHECK(strided.dtype == af::DType::BF16 && strided.storage_offset == 1);
  CHECK((strided.strides == std::vector<int64_t>{6, 2}) && strided.storage_numel == 24);
  const auto& first = by_name(ts, "shared.first");
  const auto& second = by_name(ts, "shared.second");
  CHECK(first.storage_entry == second.storage_entry && first.storage_numel == 10);
  CHECK(first.storage_offset == 0 && second.storage_offset == 4 && second.is_contiguous());
  const auto& scalar = by_name(ts, "scalar");
  CHECK(scalar.shape.empty() && scalar.numel() == 1);
  float v = 0;
  af::read_f32(scalar, &v);
  CHECK(v == 2.5f);
  const auto& empty = by_name(ts, "empty");
  CHECK((empty.shape == std::vector<int64_t>{0, 4}) && empty.numel() == 0);
  af::read_f32(empty, nullptr);  // nothing to read
  CHECK(by_name(ts, "heads.a.1.bias").dtype == af::DType::F64);
  CHECK(by_name(ts, "bert.encoder.layer.0.output.adapters.a.adapter_up.bias").dtype == af::DType::F16);
  const auto& ids = by_name(ts, "embeddings.position_ids");
  CHECK(ids.dtype == af::DType::I64);
  std::vector<float> out(7);
  CHECK_THROWS_CODE(af::read_f32(ids, out.data()), af::ErrorCode::Unsupported);
}

AF_TEST("torch_bin: reads re-check a tensor the caller changed") {
  auto ts = af::load_torch_state_dict(fixture("state_dict.bin"));
  af::TorchTensor t = by_name(ts, "shared.second");  // offset 4 into 10 elements
  std::vector<float> buf(64);
  t.shape = {3, 3};
  CHECK_THROWS_CODE(af::read_f32(t, buf.data()), af::ErrorCode::InvalidFile);
  t = by_name(ts, "shared.second");
  t.shape = {int64_t(1) << 40};
  t.strides = {0};  // a stride-0 view bigger than its storage
  CHECK_THROWS_CODE(af::read_f32(t, buf.data()), af::ErrorCode::Unsupported);
  t = by_name(ts, "shared.second");
  t.storage_entry = "state_dict/data/999";
  CHECK_THROWS_CODE(af::read_f32(t, buf.data()), af::ErrorCode::InvalidFile);
  t = by_name(ts, "shared.second");
  t.archive.reset();
  CHECK_THROWS_CODE(af::read_f32(t, buf.data()), af::ErrorCode::InvalidArgument);
}

AF_TEST("torch_bin: torch.save({}) is an empty state dict") {
  CHECK(af::load_torch_state_dict(fixture("empty_dict.bin")).empty());
}

AF_TEST("torch_bin: malicious pickles are refused and nothing runs") {
  ::unlink(kMarker);
  check_refused("evil_os_system.bin", af::ErrorCode::Unsupported, "refused global \"posix.system\"");
  check_refused("evil_eval.bin", af::ErrorCode::Unsupported, "refused global \"__builtin__.eval\"");
  check_refused("evil_torch_load.bin", af::ErrorCode::Unsupported, "refused global \"torch.load\"");
  check_refused("evil_stack_global.bin", af::ErrorCode::Unsupported, "refused global \"builtins.exec\"");
  check_refused("evil_inst.bin", af::ErrorCode::Unsupported, "refused opcode INST");
  CHECK_MSG(!exists(kMarker), "an evil fixture ran: " << kMarker << " exists");
}

AF_TEST("torch_bin: malformed archives are refused") {
  check_refused("truncated.bin", af::ErrorCode::InvalidFile, "end-of-central-directory");
  check_refused("cd_outside.bin", af::ErrorCode::InvalidFile, "central directory");
  check_refused("local_outside.bin", af::ErrorCode::InvalidFile, "local header offset");
  check_refused("deflate.bin", af::ErrorCode::Unsupported, "\"state_dict/data/0\" is compressed");
  check_refused("legacy.bin", af::ErrorCode::Unsupported, "legacy torch.save format");
  CHECK_THROWS_CODE(af::load_torch_state_dict(fixture("no_such_file.bin")), af::ErrorCode::Io);
}

AF_TEST("torch_bin: storages must exist, fit their views and have the declared size") {
  check_refused("missing_storage.bin", af::ErrorCode::InvalidFile, "\"state_dict/data/1\" is missing");
  check_refused("stride_oob.bin", af::ErrorCode::InvalidFile, "addresses element 6 of a storage of 6");
  check_refused("size_mismatch.bin", af::ErrorCode::InvalidFile, "holds 24 bytes, not 8 F32 elements");
}

AF_TEST("torch_bin: only a dict of tensors is accepted; nesting is bounded") {
  check_refused("toplevel_list.bin", af::ErrorCode::Unsupported, "is a list, not a state dict");
  check_refused("deep_nesting.bin", af::ErrorCode::InvalidFile, "MARK nesting deeper than");
  // 19000 nested 1-tuples: built and dropped without recursion, then refused as not a dict.
  check_refused("deep_tuples.bin", af::ErrorCode::Unsupported, "is a tuple, not a state dict");
}

AF_TEST("zip_reader: entries, sub-range reads, and refusals") {
  const af::ZipReader z = af::ZipReader::open(fixture("state_dict.bin"));
  CHECK(z.entries().size() == 18 && z.entries().front().name == "state_dict/data.pkl");
  const af::ZipEntry* version = z.find("state_dict/version");
  CHECK(version && version->stored() && version->size == 2);
  char buf[4] = {0, 0, 0, 0};
  z.read(*version, buf);
  CHECK(buf[0] == '3' && buf[1] == '\n');
  z.read_range(*version, 1, 1, buf);
  CHECK(buf[0] == '\n');
  CHECK_THROWS_CODE(z.read_range(*version, 1, 2, buf), af::ErrorCode::InvalidArgument);
  CHECK(z.find("state_dict/nothing") == nullptr);

  const af::ZipReader d = af::ZipReader::open(fixture("deflate.bin"));
  const af::ZipEntry* packed = d.find("state_dict/data/0");
  CHECK(packed && packed->method == 8 && !packed->stored());
  std::vector<char> out(packed->size);
  CHECK_THROWS_CODE(d.read(*packed, out.data()), af::ErrorCode::Unsupported);
  af::ZipEntry foreign = *z.find("state_dict/data/0");  // same name, other archive's offsets
  foreign.data_offset += 1;
  CHECK_THROWS_CODE(z.read(foreign, out.data()), af::ErrorCode::InvalidArgument);
}
