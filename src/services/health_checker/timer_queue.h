// TimerQueue: one owned thread that runs each scheduled task at its due time (steady_clock).
//
// Pending tasks live in one ordered multimap, so many thousands may wait at once without a
// thread each. Tasks run one at a time in due order; tasks with equal due times run in the
// order they were scheduled. A task due in the past runs as soon as the thread is free. A task
// that throws is logged (stderr) and the queue goes on. Tasks should be short: a long task
// delays every task behind it.
// Stop() drops every pending task, waits for a running one and joins the thread. Thread-safe;
// a task may call Schedule() and Stop() itself, but must not destroy its TimerQueue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace pdnsd {

class TimerQueue {
 public:
  using Clock = std::chrono::steady_clock;

  TimerQueue();
  ~TimerQueue();  // calls Stop()
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Returns false (and drops the task) once Stop() was called.
  bool Schedule(Clock::time_point due, std::function<void()> task);
  bool ScheduleAfter(std::chrono::milliseconds delay, std::function<void()> task);
  // Tasks scheduled and not yet started.
  size_t pending() const;
  void Stop();

 private:
  void Run();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                                          // GUARDED_BY(mutex_)
  std::mutex join_mutex_;  // serialises concurrent Stop() calls around join()
  std::thread thread_;
};

}  // namespace pdnsd
