// WorkerPool: a fixed set of owned threads running submitted tasks in FIFO order.
// Submit() never blocks (the queue is unbounded); Stop() runs no further tasks, waits for the
// running ones and joins the threads. A task that throws is logged (stderr) and the pool goes
// on. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"

namespace pdnsd {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();  // calls Stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Returns false (and drops the task) once Stop() was called.
  bool Submit(std::function<void()> task);
  void Stop();

 private:
  void Run();

  Mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mutex_);
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace pdnsd
