// CheckSchedule: when each of the health-checker's timed workflows is due (docs/architecture.md,
// "The health-checker"), as plain state without a clock: the scheduler thread passes in the
// times it reads from its Clock, asks IsDue() and reports Ran(). Tests drive it with any times,
// a week of them in microseconds.
//
// The periodic check first runs `first_periodic` after the start (soon, so that secondaries
// seen at start are checked early), then every `periodic` after the previous run ended; the
// refresh and the NSEC3 check (when enabled) every `refresh` / `nsec3` after the previous run
// ended; the signing sync at every Thursday 01:00 UTC (signing_schedule.h) on the wall clock.
// Not thread-safe: owned by the scheduler thread.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace pdnsd {

enum class TimedWorkflow { kPeriodicCheck, kRefresh, kNsec3Check, kSigningSync };

struct CheckIntervals {
  std::chrono::milliseconds first_periodic;
  std::chrono::milliseconds periodic;
  std::chrono::milliseconds refresh;
  std::chrono::milliseconds nsec3;
  bool nsec3_enabled = true;
};

class CheckSchedule {
 public:
  // The scheduler started at `now` (monotonic) / `wall_now` (calendar).
  CheckSchedule(const CheckIntervals& intervals, Clock::TimePoint now, Clock::WallTime wall_now);

  // Whether `workflow` is due: the periodic, refresh and NSEC3 checks by `now`, the signing
  // sync by `wall_now`. A disabled NSEC3 check is never due.
  bool IsDue(TimedWorkflow workflow, Clock::TimePoint now, Clock::WallTime wall_now) const;
  // `workflow` finished at `now` / `wall_now`: it is next due one interval later (the signing
  // sync: at the next Thursday 01:00 UTC strictly after `wall_now`).
  void Ran(TimedWorkflow workflow, Clock::TimePoint now, Clock::WallTime wall_now);

  Clock::WallTime next_signing_sync() const { return next_signing_; }

 private:
  CheckIntervals intervals_;
  Clock::TimePoint next_periodic_;
  Clock::TimePoint next_refresh_;
  Clock::TimePoint next_nsec3_;
  Clock::WallTime next_signing_;
};

}  // namespace pdnsd
