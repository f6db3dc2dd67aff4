#include "core/reconcile_queue.h"

#include <algorithm>

namespace pdnsd {

std::chrono::milliseconds RetryBackoff(int attempt, std::chrono::milliseconds max) {
  return std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(100) * (1 << std::clamp(attempt - 1, 0, 16)), max);
}

void ReconcileQueue::Mark(const std::string& zone, std::chrono::milliseconds delay) {
  const Clock::TimePoint due = clock_.DeadlineAfter(delay);
  {
    MutexLock lock(mutex_);
    auto it = due_.find(zone);
    if (it != due_.end()) {
      if (it->second <= due) return;
      order_.erase({it->second, zone});
      it->second = due;
    } else {
      due_.emplace(zone, due);
    }
    order_.emplace(due, zone);
  }
  cv_.notify_one();
}

std::optional<std::string> ReconcileQueue::Take() {
  MutexLock lock(mutex_);
  for (;;) {
    if (closed_) return std::nullopt;
    const Clock::TimePoint now = clock_.Now();
    std::optional<Clock::TimePoint> next_due;
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (held_.count(it->second) != 0) continue;
      if (it->first > now) {
        next_due = it->first;
        break;
      }
      std::string zone = it->second;
      order_.erase(it);
      due_.erase(zone);
      held_.insert(zone);
      return zone;
    }
    clock_.WaitUntil(cv_, lock.native(), next_due.value_or(Clock::TimePoint::max()));
  }
}

void ReconcileQueue::Done(const std::string& zone) {
  {
    MutexLock lock(mutex_);
    held_.erase(zone);
  }
  // A held zone may have been marked meanwhile: let every waiter look again.
  cv_.notify_all();
}

void ReconcileQueue::Close() {
  {
    MutexLock lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool ReconcileQueue::marked(const std::string& zone) const {
  MutexLock lock(mutex_);
  return due_.count(zone) != 0;
}

size_t ReconcileQueue::pending() const {
  MutexLock lock(mutex_);
  return due_.size();
}

size_t ReconcileQueue::in_progress() const {
  MutexLock lock(mutex_);
  return held_.size();
}

}  // namespace pdnsd
