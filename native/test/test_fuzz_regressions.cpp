// Replays every saved fuzzer finding (fixtures/fuzz-regressions/<target>/*, see
// docs/HARDENING.md) through the same calls as its fuzz target (native/fuzz/feed.h): each
// input must now end normally or in af::Error, never in another exception or a crash.
#include <dirent.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../core/errors.h"
#include "../fuzz/feed.h"
#include "check.h"
#include "golden.h"

namespace {

std::string regressions_dir(const std::string& target) {
  return af::test::fixtures_dir() + "/fuzz-regressions/" + target;
}

// The files of a target's folder, sorted; none if the folder does not exist.
std::vector<std::string> files_of(const std::string& target) {
  std::vector<std::string> out;
  const std::string dir = regressions_dir(target);
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Runs `feed` on every file of the target; fails on anything but success or af::Error.
template <typename Feed>
void replay(const std::string& target, Feed feed) {
  for (const std::string& path : files_of(target)) {
    try {
      feed(path);
    } catch (const af::Error&) {
    } catch (const std::exception& e) {
      af::test::fail_at(__FILE__, __LINE__, path + ": unexpected exception: " + e.what());
    }
  }
}

}  // namespace

AF_TEST("fuzz regressions: the folder exists") {
  DIR* d = ::opendir((af::test::fixtures_dir() + "/fuzz-regressions").c_str());
  CHECK_MSG(d != nullptr, "no " << af::test::fixtures_dir() << "/fuzz-regressions (set AF_FIXTURES_DIR?)");
  ::closedir(d);
}

AF_TEST("fuzz regressions: safetensors") { replay("safetensors", [](const std::string& p) { af::fuzz::feed_safetensors(p); }); }
AF_TEST("fuzz regressions: zip") { replay("zip", [](const std::string& p) { af::fuzz::feed_zip(p); }); }
AF_TEST("fuzz regressions: torch_bin") { replay("torch_bin", [](const std::string& p) { af::fuzz::feed_torch_bin(p); }); }
AF_TEST("fuzz regressions: torch_pickle") {
  replay("torch_pickle", [](const std::string& p) { af::fuzz::feed_torch_pickle(read_bytes(p)); });
}
AF_TEST("fuzz regressions: json") { replay("json", [](const std::string& p) { af::fuzz::feed_json(read_bytes(p)); }); }
AF_TEST("fuzz regressions: config") { replay("config", [](const std::string& p) { af::fuzz::feed_config(read_bytes(p)); }); }

// The first finding (config/adapter_tiny_reduction_factor.json), checked directly so the
// plain build (no UBSan) sees the fix too: a factor this small was an int overflow.
AF_TEST("fuzz regressions: a tiny reduction_factor is InvalidArgument, not an int overflow") {
  const af::Json j = af::Json::parse(R"({"reduction_factor": {"default": 1e-300, "1": 2}})", "test");
  const af::AdapterConfig c = af::AdapterConfig::from_json(j, "adapter");
  CHECK(c.bottleneck(1, 768) == 384);
  CHECK_THROWS_CODE(c.bottleneck(0, 768), af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(af::AdapterConfig::from_json(af::Json::parse(R"({"leave_out": [4294967296]})", "t"), "adapter"),
                    af::ErrorCode::InvalidArgument);
  CHECK_THROWS_CODE(af::AdapterConfig::from_json(af::Json::parse(R"({"reduction_factor": {"default": 2, "99999999999": 2}})", "t"), "adapter"),
                    af::ErrorCode::InvalidArgument);
}
