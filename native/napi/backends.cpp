#include "backends.h"

#include <map>
#include <mutex>
#include <tuple>

#include "../cpu/cpu_backend.h"
#include "../core/errors.h"
#include "args.h"
#include "js_errors.h"

namespace af::napi {

namespace {
std::mutex g_mu;
std::map<std::tuple<int, std::string>, std::shared_ptr<cpu::CpuBackend>> g_cpu;

cpu::GemmProvider parse_provider(const std::string& s) {
  if (s == "builtin") return cpu::GemmProvider::Builtin;
  if (s == "openblas") return cpu::GemmProvider::OpenBlas;
  fail(ErrorCode::InvalidArgument, "gemm must be \"builtin\" or \"openblas\", got \"" + s + "\"");
}

std::shared_ptr<cpu::CpuBackend> cpu_backend(int threads, const std::string& gemm) {
  if (threads <= 0) threads = cpu::available_cores();
  std::lock_guard<std::mutex> lock(g_mu);
  auto key = std::make_tuple(threads, gemm);
  auto it = g_cpu.find(key);
  if (it != g_cpu.end()) return it->second;
  auto be = std::make_shared<cpu::CpuBackend>(threads);
  if (!gemm.empty()) be->set_gemm_provider(parse_provider(gemm));
  g_cpu[key] = be;
  return be;
}
}  // namespace

BackendRequest backend_request(const Napi::Object& o, const std::string& where) {
  BackendRequest r;
  r.device = string_field(o, "device", where, "cpu");
  r.threads = static_cast<int>(int_field(o, "threads", where, 0, 0, 256));
  r.gemm = string_field(o, "gemm", where, "");
  if (r.device != "cpu" && r.device != "cuda") {
    Napi::RangeError err = Napi::RangeError::New(o.Env(), where + ".device must be \"cpu\" or \"cuda\"");
    err.Set("code", Napi::String::New(o.Env(), "ERR_AF_INVALID_ARGUMENT"));
    throw err;
  }
  if (!r.gemm.empty() && r.gemm != "builtin" && r.gemm != "openblas") {
    Napi::RangeError err = Napi::RangeError::New(o.Env(), where + ".gemm must be \"builtin\" or \"openblas\"");
    err.Set("code", Napi::String::New(o.Env(), "ERR_AF_INVALID_ARGUMENT"));
    throw err;
  }
  return r;
}

std::shared_ptr<Backend> get_backend(const BackendRequest& r) {
  if (r.device == "cuda")
    fail(ErrorCode::Unsupported, "this build of adapterfusion has no CUDA backend; use device \"cpu\"");
  return cpu_backend(r.threads, r.gemm);
}

Napi::Value backend_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guard(env, [&]() -> Napi::Value {
    Napi::Object opts = options_arg(info[0], "options");
    BackendRequest r = backend_request(opts, "options");
    auto be = std::static_pointer_cast<cpu::CpuBackend>(get_backend(r));
    Napi::Object out = Napi::Object::New(env);
    out.Set("backend", be->name());
    out.Set("gemmProvider", cpu::provider_name(be->gemm_config().provider));
    out.Set("isa", cpu::isa_name(be->gemm_config().isa));
    out.Set("threads", be->threads());
    out.Set("availableCores", cpu::available_cores());
    out.Set("openblas", cpu::openblas_compiled());
    Napi::Array devices = Napi::Array::New(env);
    devices.Set(0u, Napi::String::New(env, "cpu"));
    out.Set("devices", devices);
    return out;
  });
}

}  // namespace af::napi
