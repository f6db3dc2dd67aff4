// SimulatedClock: a Clock (core/clock.h) whose time moves only when the test says so, in the
// spirit of Envoy's SimulatedTimeSystem. Unit tests of code that waits for deadlines
// (ReconcileQueue, TimerQueue, the health-checker's scheduler, the syncer's waits) advance it
// instead of sleeping:
//
//   SimulatedClock clock;
//   TimerQueue timers(clock);
//   timers.ScheduleAfter(10s, [&] { ran = true; });
//   clock.Advance(10s);                 // wakes the timer thread; the task runs
//   ASSERT_TRUE(WaitFor([&] { return ran.load(); }));
//
// Time starts at an arbitrary steady time point and at wall time `start` and never moves
// backwards. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>

#include "core/clock.h"

namespace pdnsd::testing {

class SimulatedClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z, a Thursday.
  static constexpr std::chrono::seconds kDefaultStart{1767225600};

  explicit SimulatedClock(WallTime start = WallTime(kDefaultStart));

  TimePoint Now() override;
  WallTime WallNow() override;
  // A notification of `cv` ends the wait as on the real clock; so does Advance() past
  // `deadline`. The thread also wakes every few real milliseconds (a spurious wake-up, which
  // callers handle): that covers an Advance() between the caller's check and its wait.
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override;
  void SleepUntil(TimePoint deadline) override;

  // Moves both clocks forward by `duration` and wakes every waiter.
  void Advance(Duration duration);

  // Threads inside WaitUntil() or SleepUntil() right now.
  size_t waiters();
  // Waits (in real time, up to `timeout`) until at least `count` threads wait on this clock:
  // then Advance() is seen by all of them.
  bool AwaitWaiters(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::mutex mutex_;
  std::condition_variable advanced_;                 // SleepUntil waits on it
  TimePoint now_;                                    // guarded by mutex_
  WallTime wall_now_;                                // guarded by mutex_
  std::multiset<std::condition_variable*> waiting_;  // guarded by mutex_; WaitUntil's cvs
  size_t sleepers_ = 0;                              // guarded by mutex_
};

}  // namespace pdnsd::testing
