#include "services/health_checker/timer_queue.h"

#include <utility>

#include "core/logging.h"

namespace pdnsd {

TimerQueue::TimerQueue(Clock& clock) : clock_(clock), thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() { Stop(); }

bool TimerQueue::Schedule(Clock::TimePoint due, std::function<void()> task) {
  bool earliest = false;
  {
    MutexLock lock(mutex_);
    if (stopping_) return false;
    // multimap::emplace inserts after existing equal keys: FIFO among equal due times.
    auto it = tasks_.emplace(due, std::move(task));
    earliest = it == tasks_.begin();
  }
  // Only a new earliest task changes what the thread waits for.
  if (earliest) cv_.notify_one();
  return true;
}

bool TimerQueue::ScheduleAfter(std::chrono::milliseconds delay, std::function<void()> task) {
  return Schedule(clock_.DeadlineAfter(delay), std::move(task));
}

size_t TimerQueue::pending() const {
  MutexLock lock(mutex_);
  return tasks_.size();
}

void TimerQueue::Stop() {
  std::multimap<Clock::TimePoint, std::function<void()>> dropped;
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    dropped.swap(tasks_);
  }
  cv_.notify_all();
  dropped.clear();  // outside the lock: a task's captures may call back into this queue
  if (std::this_thread::get_id() == thread_.get_id()) return;  // Stop() from inside a task
  MutexLock join_lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

void TimerQueue::Run() {
  MutexLock lock(mutex_);
  for (;;) {
    if (stopping_) return;
    if (tasks_.empty()) {
      clock_.WaitUntil(cv_, lock.native(), Clock::TimePoint::max());
      continue;
    }
    auto first = tasks_.begin();
    // A copy: the wait reads its deadline after re-locking, when Stop() may have freed the node.
    const Clock::TimePoint due = first->first;
    if (due > clock_.Now()) {
      clock_.WaitUntil(cv_, lock.native(), due);
      continue;  // re-check: woken early, by a new earlier task, or by Stop()
    }
    std::function<void()> task = std::move(first->second);
    tasks_.erase(first);
    lock.Unlock();
    RunCatching(nullptr, "a TimerQueue task", task);
    task = nullptr;  // destroy captures outside the lock
    lock.Lock();
  }
}

}  // namespace pdnsd
