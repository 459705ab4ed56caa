#include "thread_pool.h"

#include <algorithm>
#include <exception>

namespace af::cpu {

namespace {
thread_local bool t_in_region = false;

struct RegionGuard {
  bool previous;
  RegionGuard() : previous(t_in_region) { t_in_region = true; }
  ~RegionGuard() { t_in_region = previous; }
};
}  // namespace

bool ThreadPool::in_parallel_region() { return t_in_region; }

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::worker_loop(int index) {
  unsigned long seen = 0;
  for (;;) {
    const std::function<void(int)>* job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      if (index >= job_count_) continue;
    }
    {
      RegionGuard guard;
      (*job)(index);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::run_on_threads(int count, const std::function<void(int t)>& fn) {
  count = std::max(1, std::min(count, threads_));
  if (count == 1 || in_parallel_region()) {
    RegionGuard guard;
    for (int t = 0; t < count; ++t) fn(t);
    return;
  }
  std::lock_guard<std::mutex> serial(run_mu_);
  std::vector<std::exception_ptr> errs(count);
  std::function<void(int)> job = [&](int t) {
    try {
      fn(t);
    } catch (...) {
      errs[t] = std::current_exception();
    }
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &job;
    job_count_ = count;
    pending_ = count - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  {
    RegionGuard guard;
    job(0);
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
  }
  for (auto& e : errs)
    if (e) std::rethrow_exception(e);
}

void ThreadPool::parallel_for(size_t n, size_t min_chunk,
                              const std::function<void(int, size_t, size_t)>& fn) {
  if (n == 0) return;
  min_chunk = std::max<size_t>(1, min_chunk);
  size_t by_size = (n + min_chunk - 1) / min_chunk;
  int chunks = static_cast<int>(std::min<size_t>(threads_, by_size));
  if (in_parallel_region()) chunks = 1;
  if (chunks <= 1) {
    fn(0, 0, n);
    return;
  }
  run_on_threads(chunks, [&](int t) {
    size_t begin = n * t / chunks, end = n * (t + 1) / chunks;
    if (begin < end) fn(t, begin, end);
  });
}

}  // namespace af::cpu
