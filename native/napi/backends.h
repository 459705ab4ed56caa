// The process-wide backends the addon hands to models: one CPU backend per configuration
// (threads, GEMM provider), shared by every model that asks for it, so two models do not
// oversubscribe the cores with two thread pools.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "../core/backend.h"

namespace af::napi {

struct BackendRequest {
  std::string device = "cpu";  // "cpu" (CUDA arrives with the CUDA backend)
  int threads = 0;             // 0: one per available core
  std::string gemm;            // "", "builtin" or "openblas"
};

// Parses {device, threads, gemm} from an options object (TypeErrors name `where.field`).
BackendRequest backend_request(const Napi::Object& options, const std::string& where);
std::shared_ptr<Backend> get_backend(const BackendRequest& request);
// backendInfo(): {backend, gemmProvider, isa, threads, availableCores, openblas, devices}
Napi::Value backend_info(const Napi::CallbackInfo& info);

}  // namespace af::napi
