// A small fork-join pool: the calling thread plus (threads - 1) workers split a range into
// contiguous chunks. The split depends only on the range and the thread count, so results that
// reduce per chunk repeat bit for bit for a fixed thread count. A parallel_for issued from inside
// a running parallel_for runs serially on the calling thread (no nested fan-out).
#pragma once
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace af::cpu {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls fn(chunk, begin, end) for `chunks` contiguous chunks of [0, n), chunk k going to
  // thread k; chunks = min(threads, ceil(n / min_chunk)). Exceptions from fn are rethrown here.
  void parallel_for(size_t n, size_t min_chunk,
                    const std::function<void(int chunk, size_t begin, size_t end)>& fn);

  // Runs fn(t) once on each of `count` (<= threads) threads and waits for all.
  void run_on_threads(int count, const std::function<void(int t)>& fn);

  // True on a thread that is currently executing a task of some pool.
  static bool in_parallel_region();

 private:
  void worker_loop(int index);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  int job_count_ = 0;
  unsigned long generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::mutex run_mu_;  // one fork-join at a time per pool
};

}  // namespace af::cpu
