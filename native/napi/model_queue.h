// One owner per model (docs/ARCHITECTURE.md, "One owner per model"): every call on a model —
// compute, parameter transfers and layout changes alike — is a task on the model's own queue.
// Tasks run one at a time, in call order, on libuv worker threads, so no two of them ever touch
// the model together and a call always sees the model as every earlier call left it. The queue
// lives on the JS thread: submit() and the hand-over to the next task happen there.
#pragma once
#include <napi.h>

#include <deque>
#include <memory>

#include "promise_worker.h"

namespace af::napi {

class ModelQueue : public std::enable_shared_from_this<ModelQueue> {
 public:
  Napi::Promise submit(Napi::Env env, PromiseWorker::Work work, PromiseWorker::Done done);
  // After dispose(): tasks that have not started are rejected with ERR_AF_DISPOSED; the one
  // running finishes (it holds its own reference to the model).
  void close();
  // Called by the finishing task, on the JS thread, after it settled its Promise.
  void finished();
  size_t pending() const { return pending_.size(); }

 private:
  std::deque<PromiseWorker*> pending_;
  bool running_ = false;
};

}  // namespace af::napi
