// HealthChecker: the background refresh (docs/architecture.md, "Background refresh"): zones
// whose served serial moved, appeared or vanished without a zone event are announced to all.
#include "services/health_checker/health_checker.h"

#include "services/health_checker/announcement_plan.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::RunRefresh() {
  MutexLock check_lock(check_mutex_);
  metrics_->refresh_cycles.Increment();
  auto primary = ReadPrimary();
  if (!primary.ok()) {
    logger_->warn("background refresh: {}", primary.status().message());
    return;
  }
  std::optional<PrimaryView> previous;
  std::set<std::string> evented;
  {
    MutexLock lock(mutex_);
    previous = last_primary_;
    evented.swap(evented_since_refresh_);
    last_primary_ = *primary;
  }
  if (!previous) return;
  // Vanished zones are announced unless the primary's list shrank suspiciously.
  const Status allowed = refresh_guard_.Check(primary->served.size());
  for (const Announcement& a :
       PlanRefresh(previous->served, primary->served, primary->unknown, evented, allowed.ok())) {
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
