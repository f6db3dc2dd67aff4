#include "core/clock.h"

#include <thread>

namespace pdnsd {
namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() override { return std::chrono::system_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    if (deadline == TimePoint::max()) {
      cv.wait(lock);
    } else {
      cv.wait_until(lock, deadline);
    }
  }
  void SleepUntil(TimePoint deadline) override { std::this_thread::sleep_until(deadline); }
};

}  // namespace

Clock::TimePoint Clock::DeadlineAfter(Duration timeout) {
  const TimePoint now = Now();
  if (timeout >= TimePoint::max() - now) return TimePoint::max();
  return now + timeout;
}

Clock& SystemClock() {
  static RealClock clock;  // no state: one object serves every thread
  return clock;
}

}  // namespace pdnsd
