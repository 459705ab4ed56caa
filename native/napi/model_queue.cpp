#include "model_queue.h"

namespace af::napi {

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  try {
    deferred_.Resolve(done_(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
  next_in_queue();
}

void PromiseWorker::OnError(const Napi::Error& e) {
  Napi::Error err = Napi::Error::New(Env(), e.Message());
  err.Set("code", Napi::String::New(Env(), code_));
  deferred_.Reject(err.Value());
  next_in_queue();
}

void PromiseWorker::next_in_queue() {
  if (queue_) queue_->finished();
}

void PromiseWorker::reject_unstarted(const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(Env(), message);
  err.Set("code", Napi::String::New(Env(), code));
  deferred_.Reject(err.Value());
  delete this;
}

Napi::Promise ModelQueue::submit(Napi::Env env, PromiseWorker::Work work, PromiseWorker::Done done) {
  PromiseWorker* w = PromiseWorker::for_queue(env, std::move(work), std::move(done), shared_from_this());
  Napi::Promise promise = w->promise();
  if (running_) {
    pending_.push_back(w);
  } else {
    running_ = true;
    w->Queue();
  }
  return promise;
}

void ModelQueue::finished() {
  if (pending_.empty()) {
    running_ = false;
    return;
  }
  PromiseWorker* next = pending_.front();
  pending_.pop_front();
  next->Queue();
}

void ModelQueue::close() {
  std::deque<PromiseWorker*> doomed;
  doomed.swap(pending_);
  for (PromiseWorker* w : doomed) w->reject_unstarted("ERR_AF_DISPOSED", "the model has been disposed");
}

}  // namespace af::napi
