// TimerQueue: one owned thread that runs each scheduled task at its due time on a Clock
// (core/clock.h): SystemClock() in production, a SimulatedClock in tests.
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
#include <thread>

#include "core/clock.h"
#include "core/thread_annotations.h"

namespace pdnsd {

class TimerQueue {
 public:
  // REQUIRES: `clock` outlives the queue.
  explicit TimerQueue(Clock& clock);
  ~TimerQueue();  // calls Stop()
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Returns false (and drops the task) once Stop() was called. `due` is on the queue's clock.
  bool Schedule(Clock::TimePoint due, std::function<void()> task) EXCLUDES(mutex_);
  bool ScheduleAfter(std::chrono::milliseconds delay, std::function<void()> task) EXCLUDES(mutex_);
  // Tasks scheduled and not yet started.
  size_t pending() const EXCLUDES(mutex_);
  void Stop() EXCLUDES(mutex_, join_mutex_);

 private:
  void Run() EXCLUDES(mutex_);

  Clock& clock_;
  mutable Mutex mutex_;
  std::condition_variable cv_;  // waits on mutex_
  std::multimap<Clock::TimePoint, std::function<void()>> tasks_ GUARDED_BY(mutex_);
  bool stopping_ GUARDED_BY(mutex_) = false;
  Mutex join_mutex_;  // serialises concurrent Stop() calls around join()
  std::thread thread_;
};

}  // namespace pdnsd
