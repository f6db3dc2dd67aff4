#include "support/simulated_clock.h"

#include <thread>

namespace pdnsd::testing {
namespace {

// How often a waiter re-checks in real time (see WaitUntil in the header).
constexpr std::chrono::milliseconds kRealRecheck{5};

}  // namespace

SimulatedClock::SimulatedClock(WallTime start)
    : now_(TimePoint(std::chrono::hours(24 * 365))), wall_now_(start) {}

Clock::TimePoint SimulatedClock::Now() {
  std::lock_guard lock(mutex_);
  return now_;
}

Clock::WallTime SimulatedClock::WallNow() {
  std::lock_guard lock(mutex_);
  return wall_now_;
}

void SimulatedClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                               TimePoint deadline) {
  std::multiset<std::condition_variable*>::iterator entry;
  {
    std::lock_guard clock_lock(mutex_);
    if (now_ >= deadline) return;
    entry = waiting_.insert(&cv);
  }
  // The caller's mutex is released while waiting; the clock's mutex is never held across it
  // (the order is always caller's mutex, then the clock's).
  cv.wait_for(lock, kRealRecheck);
  std::lock_guard clock_lock(mutex_);
  waiting_.erase(entry);
}

void SimulatedClock::SleepUntil(TimePoint deadline) {
  std::unique_lock lock(mutex_);
  ++sleepers_;
  while (now_ < deadline) advanced_.wait(lock);
  --sleepers_;
}

void SimulatedClock::Advance(Duration duration) {
  std::lock_guard lock(mutex_);
  now_ += duration;
  wall_now_ += std::chrono::duration_cast<WallTime::duration>(duration);
  // Under the clock's mutex: a waiter erases its entry (and may destroy its cv) only after
  // taking this mutex, so every cv listed here is alive.
  for (std::condition_variable* cv : waiting_) cv->notify_all();
  advanced_.notify_all();
}

size_t SimulatedClock::waiters() {
  std::lock_guard lock(mutex_);
  return waiting_.size() + sleepers_;
}

bool SimulatedClock::AwaitWaiters(size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (waiters() < count) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace pdnsd::testing
