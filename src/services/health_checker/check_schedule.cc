#include "services/health_checker/check_schedule.h"

#include "services/health_checker/signing_schedule.h"

namespace pdnsd {
namespace {

// `now` + `interval`, saturating at TimePoint::max() (as Clock::DeadlineAfter).
Clock::TimePoint After(Clock::TimePoint now, std::chrono::milliseconds interval) {
  // Compared in milliseconds: a huge interval would overflow the clock's nanoseconds.
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::TimePoint::max() - now);
  if (interval >= room) return Clock::TimePoint::max();
  return now + interval;
}

}  // namespace

CheckSchedule::CheckSchedule(const CheckIntervals& intervals, Clock::TimePoint now,
                             Clock::WallTime wall_now)
    : intervals_(intervals),
      next_periodic_(After(now, intervals.first_periodic)),
      next_refresh_(After(now, intervals.refresh)),
      next_nsec3_(After(now, intervals.nsec3)),
      next_signing_(NextSigningSync(wall_now)) {}

bool CheckSchedule::IsDue(TimedWorkflow workflow, Clock::TimePoint now,
                          Clock::WallTime wall_now) const {
  switch (workflow) {
    case TimedWorkflow::kPeriodicCheck:
      return now >= next_periodic_;
    case TimedWorkflow::kRefresh:
      return now >= next_refresh_;
    case TimedWorkflow::kNsec3Check:
      return intervals_.nsec3_enabled && now >= next_nsec3_;
    case TimedWorkflow::kSigningSync:
      return wall_now >= next_signing_;
  }
  return false;
}

void CheckSchedule::Ran(TimedWorkflow workflow, Clock::TimePoint now, Clock::WallTime wall_now) {
  switch (workflow) {
    case TimedWorkflow::kPeriodicCheck:
      next_periodic_ = After(now, intervals_.periodic);
      break;
    case TimedWorkflow::kRefresh:
      next_refresh_ = After(now, intervals_.refresh);
      break;
    case TimedWorkflow::kNsec3Check:
      next_nsec3_ = After(now, intervals_.nsec3);
      break;
    case TimedWorkflow::kSigningSync:
      next_signing_ = NextSigningSync(wall_now);
      break;
  }
}

}  // namespace pdnsd
