// HealthChecker: the scheduler thread, which runs the periodic workflows when they are due on
// the injected clock and keeps the liveness metrics current.
#include "services/health_checker/health_checker.h"

#include "services/health_checker/health_checker_internal.h"
#include "services/health_checker/signing_schedule.h"

namespace pdnsd {

void HealthChecker::SchedulerLoop() {
  RunCatching(logger_, "the zone refresh",
              [this] { RunRefresh(); });  // the baseline for later refreshes
  if (config_.ensure_nsec3) RunNsec3Check();
  auto next_periodic =
      clock_->DeadlineAfter(std::min(config_.periodic_interval, common_.ping_interval * 2));
  auto next_refresh = clock_->DeadlineAfter(config_.refresh_interval);
  auto next_nsec3 = clock_->DeadlineAfter(config_.nsec3_interval);
  auto next_signing = NextSigningSync(clock_->WallNow());
  for (;;) {
    {
      MutexLock lock(mutex_);
      next_signing_sync_ = FormatRfc3339(next_signing);
    }
    UpdateLivenessMetrics();
    {
      MutexLock lock(mutex_);
      const Clock::TimePoint tick = clock_->DeadlineAfter(std::chrono::seconds(1));
      while (!stopping_ && clock_->Now() < tick) clock_->WaitUntil(wake_, lock.native(), tick);
      if (stopping_) return;
    }
    const auto now = clock_->Now();
    if (now >= next_periodic) {
      RunCatching(logger_, "the periodic check", [this] { RunPeriodicCheck(); });
      next_periodic = clock_->DeadlineAfter(config_.periodic_interval);
    }
    if (now >= next_refresh) {
      RunCatching(logger_, "the zone refresh", [this] { RunRefresh(); });
      next_refresh = clock_->DeadlineAfter(config_.refresh_interval);
    }
    if (config_.ensure_nsec3 && now >= next_nsec3) {
      RunCatching(logger_, "the NSEC3 check", [this] { RunNsec3Check(); });
      next_nsec3 = clock_->DeadlineAfter(config_.nsec3_interval);
    }
    if (clock_->WallNow() >= next_signing) {
      RunCatching(logger_, "the signing sync", [this] { RunSigningSync(); });
      next_signing = NextSigningSync(clock_->WallNow());
    }
  }
}

}  // namespace pdnsd
