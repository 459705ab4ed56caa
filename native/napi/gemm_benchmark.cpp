// gemmBenchmark(M, N, K, repeats, {threads, gemm}): times C = A B^T (the linear-layer
// forward layout) on a backend, for bench/ to measure the machine's fp32 GEMM rate in the
// same run as the model timings.
#include "gemm_benchmark.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "../core/device_buffer.h"
#include "args.h"
#include "backends.h"
#include "promise_worker.h"

namespace af::napi {

Napi::Value gemm_benchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int M = static_cast<int>(int_arg(info[0], "M", 1, 1 << 15));
  const int N = static_cast<int>(int_arg(info[1], "N", 1, 1 << 15));
  const int K = static_cast<int>(int_arg(info[2], "K", 1, 1 << 15));
  const int repeats = static_cast<int>(int_arg(info[3], "repeats", 1, 1000));
  BackendRequest request = backend_request(options_arg(info[4], "options"), "options");
  auto times = std::make_shared<std::vector<double>>();
  return PromiseWorker::start(
      env,
      [=] {
        auto be = get_backend(request);
        DeviceBuffer<float> a(*be, size_t(M) * K), b(*be, size_t(N) * K), c(*be, size_t(M) * N);
        std::vector<float> host(std::max(size_t(M), size_t(N)) * K);
        for (size_t i = 0; i < host.size(); ++i) host[i] = float((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
        be->copy_to_device(a.get(), host.data(), size_t(M) * K * sizeof(float));
        be->copy_to_device(b.get(), host.data(), size_t(N) * K * sizeof(float));
        for (int r = 0; r <= repeats; ++r) {
          auto t0 = std::chrono::steady_clock::now();
          be->gemm(false, true, M, N, K, 1.0f, a.get(), K, b.get(), K, 0.0f, c.get(), N);
          be->synchronize();
          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (r) times->push_back(s);  // the first run warms caches and pack buffers
        }
      },
      [=](Napi::Env env) -> Napi::Value {
        std::vector<double> sorted = *times;
        std::sort(sorted.begin(), sorted.end());
        Napi::Object out = Napi::Object::New(env);
        out.Set("best", sorted.front());
        out.Set("median", sorted[sorted.size() / 2]);
        return out;
      });
}

}  // namespace af::napi
