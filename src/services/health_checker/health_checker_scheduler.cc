// HealthChecker: the scheduler thread, which runs the timed workflows when CheckSchedule says
// they are due on the injected clock and keeps the liveness metrics current.
#include "services/health_checker/health_checker.h"

#include "services/health_checker/check_schedule.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::SchedulerLoop() {
  RunCatching(logger_, "the zone refresh",
              [this] { RunRefresh(); });  // the baseline for later refreshes
  if (config_.ensure_nsec3) RunNsec3Check();
  const CheckIntervals intervals = {
      .first_periodic = std::min(config_.periodic_interval, common_.ping_interval * 2),
      .periodic = config_.periodic_interval,
      .refresh = config_.refresh_interval,
      .nsec3 = config_.nsec3_interval,
      .nsec3_enabled = config_.ensure_nsec3,
  };
  CheckSchedule schedule(intervals, clock_->Now(), clock_->WallNow());
  const struct {
    TimedWorkflow workflow;
    const char* what;
    void (HealthChecker::*run)();
  } workflows[] = {
      {TimedWorkflow::kPeriodicCheck, "the periodic check", &HealthChecker::RunPeriodicCheck},
      {TimedWorkflow::kRefresh, "the zone refresh", &HealthChecker::RunRefresh},
      {TimedWorkflow::kNsec3Check, "the NSEC3 check", &HealthChecker::RunNsec3Check},
      {TimedWorkflow::kSigningSync, "the signing sync", &HealthChecker::RunSigningSync},
  };
  for (;;) {
    {
      MutexLock lock(mutex_);
      next_signing_sync_ = FormatRfc3339(schedule.next_signing_sync());
    }
    UpdateLivenessMetrics();
    UpdateCatalogMetrics();
    UpdateChangeMetrics();
    {
      MutexLock lock(mutex_);
      const Clock::TimePoint tick = clock_->DeadlineAfter(std::chrono::seconds(1));
      while (!stopping_ && clock_->Now() < tick) clock_->WaitUntil(wake_, lock.native(), tick);
      if (stopping_) return;
    }
    // Monotonic deadlines against the time of this tick, the calendar against the time now.
    const Clock::TimePoint now = clock_->Now();
    for (const auto& w : workflows) {
      if (!schedule.IsDue(w.workflow, now, clock_->WallNow())) continue;
      RunCatching(logger_, w.what, [this, &w] { (this->*w.run)(); });
      schedule.Ran(w.workflow, clock_->Now(), clock_->WallNow());
    }
  }
}

}  // namespace pdnsd
