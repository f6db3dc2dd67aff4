// Clock: the one source of time and of timed waits, in the spirit of LevelDB's Env (NowMicros,
// SleepForMicroseconds) and Envoy's TimeSource. Code that reads the time or waits for a
// deadline takes a Clock& (services get it from ServiceEnvironment); production passes
// SystemClock(), tests a SimulatedClock (tests/support/simulated_clock.h) that they advance
// instead of sleeping.
//
// Waits are condition-variable waits against a deadline on this clock, so that a simulated
// clock can end them when the test moves time past the deadline. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace pdnsd {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;

  // Monotonic time: deadlines, intervals, ages.
  virtual TimePoint Now() = 0;
  // Calendar time: timestamps people read, schedules tied to the calendar.
  virtual WallTime WallNow() = 0;

  // Blocks on `cv`, whose mutex `lock` holds, until `cv` is notified or Now() reaches
  // `deadline` (TimePoint::max(): no deadline). May return early: call it in a loop that
  // re-checks both the condition and the deadline, as with std::condition_variable.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
  // Blocks until Now() reaches `deadline`. Nothing ends it early: only for short pauses of a
  // thread that has no stop signal to watch; loops that must stop promptly use WaitUntil.
  virtual void SleepUntil(TimePoint deadline) = 0;

  void SleepFor(Duration duration) { SleepUntil(DeadlineAfter(duration)); }
  // Now() + `timeout`, saturating at TimePoint::max().
  TimePoint DeadlineAfter(Duration timeout);
};

// The machine's clocks (steady_clock and system_clock). Stateless; the same object for every
// caller.
Clock& SystemClock();

}  // namespace pdnsd
