// HealthChecker: the background refresh (docs/architecture.md, "Background refresh"): zones
// whose served serial moved, appeared or vanished since it was last compared (by the previous
// refresh or the zone's event check) are announced to all.
#include "services/health_checker/health_checker.h"

#include "services/health_checker/announcement_plan.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::RunRefresh() {
  MutexLock check_lock(check_mutex_);
  metrics_->refresh_cycles.Increment();
  // Taken before the primary is read: an event check that runs meanwhile compares a serial at
  // least as new as this read, and counts for the next refresh.
  CheckedSerials checked;
  std::set<std::string> pending;
  {
    MutexLock lock(mutex_);
    checked.swap(checked_since_refresh_);
    pending = event_checks_pending_;
    pending.insert(event_checks_running_.begin(), event_checks_running_.end());
  }
  auto primary = ReadPrimary();
  if (!primary.ok()) {
    logger_->warn("background refresh: {}", primary.status().message());
    // What the event checks compared still counts at the next refresh.
    MutexLock lock(mutex_);
    checked_since_refresh_.merge(checked);
    return;
  }
  std::optional<PrimaryView> previous;
  {
    MutexLock lock(mutex_);
    previous = last_primary_;
    last_primary_ = *primary;
  }
  if (!previous) return;
  // Vanished zones are announced unless the primary's list shrank suspiciously.
  const Status allowed = refresh_guard_.Check(primary->served.size());
  for (const Announcement& a : PlanRefresh(previous->served, primary->served, primary->unknown,
                                           pending, checked, allowed.ok())) {
    Announce(a.type, a.zone, "", "refresh");
  }
  if (!allowed.ok()) {
    logger_->error("ALERT: background refresh announces no deletion: {}", allowed.message());
    metrics_->mass_deletion_alerts.Increment();
    MutexLock lock(mutex_);
    alert_ = allowed.message();
  }
}

}  // namespace pdnsd
