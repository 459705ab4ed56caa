// Runs a heavy native call off the JS thread and settles a Promise with its result: the
// baton pattern of sharp/better-sqlite3. `work` runs on a libuv worker thread and must not
// touch JS values; `done` runs on the JS thread and builds the resolved value. A worker made
// for a model runs through that model's ModelQueue (model_queue.h) instead of at once.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <new>
#include <string>

#include "../core/errors.h"

namespace af::napi {

class ModelQueue;

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Done = std::function<Napi::Value(Napi::Env)>;

  // Starts at once (calls that belong to no model: load, create, file readers).
  static Napi::Promise start(Napi::Env env, Work work, Done done) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(done), nullptr);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }
  // Made for `queue`, which starts it in turn (ModelQueue::submit).
  static PromiseWorker* for_queue(Napi::Env env, Work work, Done done, std::shared_ptr<ModelQueue> queue) {
    return new PromiseWorker(env, std::move(work), std::move(done), std::move(queue));
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  // Settles a worker that never started with an error, and frees it.
  void reject_unstarted(const char* code, const std::string& message);

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const Error& e) {
      code_ = error_code_name(e.code());
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_AF_OUT_OF_MEMORY";
      SetError("out of memory");
    } catch (const std::exception& e) {
      code_ = "ERR_AF_INTERNAL";
      SetError(e.what());
    }
  }
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  PromiseWorker(Napi::Env env, Work work, Done done, std::shared_ptr<ModelQueue> queue)
      : Napi::AsyncWorker(env, "adapterfusion"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)),
        queue_(std::move(queue)) {}
  void next_in_queue();

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::shared_ptr<ModelQueue> queue_;
  std::string code_ = "ERR_AF_INTERNAL";
};

}  // namespace af::napi
