// A fixed set of threads for the expensive part of requests (RSA private operations), with a
// bounded queue: when it is full, Submit says no and the caller answers 503 instead of letting
// latency grow without bound. I/O threads stay free for cheap requests (cache hits, health).
//
// Thread-safety: Submit from any thread; Stop once, from a thread that is not a worker.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace instaccess::ipc {

class WorkPool {
 public:
  WorkPool(unsigned threads, std::size_t max_queue);
  ~WorkPool();  // Stop()
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when max_queue jobs are already waiting (or the pool is stopping).
  bool Submit(std::function<void()> job);
  // Runs the jobs already queued, then joins the threads.
  void Stop();
  std::size_t queued() const;

 private:
  void Run();

  const std::size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // Guarded by mu_.
  bool stopping_ = false;                   // Guarded by mu_.
  std::vector<std::thread> threads_;
};

}  // namespace instaccess::ipc
