// HealthChecker: the periodic check (docs/architecture.md, "Periodic check"): every active
// secondary's zone-state map against what the primary serves, with the mass-deletion guard,
// and the RRSIG-expiry check of the zones a secondary serves.
#include "services/health_checker/health_checker.h"

#include "core/net.h"
#include "core/parallel_for.h"
#include "dns/soa_query.h"
#include "services/health_checker/announcement_plan.h"
#include "services/health_checker/check_rules.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::CheckSecondary(const ServiceRecord& secondary, const PrimaryView& primary,
                                   bool allow_stray, const CatalogZones* catalog) {
  const std::string& id = secondary.last.id;
  SecondaryReport report;
  report.last_check = FormatRfc3339(clock_->WallNow());
  auto state = SecondaryState(id, std::nullopt);
  if (!state.ok()) {
    {
      // The counts of the last state map it did answer stay, with their time.
      MutexLock lock(mutex_);
      if (auto it = reports_.find(id); it != reports_.end()) report = it->second;
    }
    report.last_check = FormatRfc3339(clock_->WallNow());
    report.error = state.status().message();
    logger_->warn("secondary {} skipped this cycle: {}", id, report.error);
  } else {
    report.zones_read_at = clock_->WallNow();
    const SecondaryRepair repair =
        PlanSecondaryRepair(primary.served, primary.unknown, *state, allow_stray);
    for (const Announcement& a : repair.announcements) Announce(a.type, a.zone, id, "interval");
    CheckSignatures(secondary, primary, *state);
    if (catalog != nullptr) CheckContent(secondary, primary, *state, *catalog);
    report.zones = SecondaryZoneCounts::FromDiff(repair.diff);
  }
  MutexLock lock(mutex_);
  reports_[id] = report;
}

void HealthChecker::CheckSignatures(const ServiceRecord& secondary, const PrimaryView& primary,
                                    const std::map<std::string, uint32_t>& state) {
  if (secondary.last.dns_address.empty()) return;
  auto address = ParseHostPort(secondary.last.dns_address);
  if (!address.ok()) return;
  std::vector<std::string> zones;
  for (const std::string& zone : primary.dnssec) {
    if (state.count(zone) != 0) zones.push_back(zone);
  }
  const auto now = clock_->WallNow();
  std::vector<char> expiring(zones.size(), 0);
  ParallelFor(zones.size(), config_.workers, [&](size_t i) {
    auto soa = QuerySoa(*address, zones[i], config_.dns_timeout, /*dnssec=*/true);
    expiring[i] =
        soa.ok() && SignatureExpiresSoon(soa->rrsig_expiration, now, config_.signature_expiry);
  });
  for (size_t i = 0; i < zones.size(); ++i) {
    if (!expiring[i]) continue;
    metrics_->expiring_signatures.Increment();
    Announce(ZoneEventType::kChange, zones[i], secondary.last.id, "signing");
  }
}

void HealthChecker::RunPeriodicCheck() {
  MutexLock check_lock(check_mutex_);
  metrics_->interval_cycles.Increment();
  auto primary = ReadPrimary();
  const Status allowed =
      guard_.Check(primary.ok() ? std::optional<size_t>(primary->served.size()) : std::nullopt);
  {
    MutexLock lock(mutex_);
    alert_ = allowed.ok() ? "" : allowed.message();
  }
  if (!primary.ok()) {
    // The cause first: the guard's alert below only says that the primary did not answer.
    logger_->error("periodic check: cannot read the primary: {}", primary.status().message());
  }
  if (!allowed.ok()) {
    metrics_->mass_deletion_alerts.Increment();
    logger_->error("ALERT: no stray zone is announced this cycle: {}", allowed.message());
  }
  if (!primary.ok()) return;
  const std::optional<CatalogZones> catalog = UsableCatalog();
  if (catalog) RepairCatalog(*primary, *catalog, allowed.ok());
  const PrimaryView compared = ComparisonView(*primary, catalog);
  const auto secondaries = ActiveSecondaries();
  for (const ServiceRecord& secondary : secondaries) {
    if (secondary.static_host && !secondary.ever_heard) {
      logger_->warn("listed secondary {} ({}) has never sent a heartbeat", secondary.last.id,
                    secondary.last.host);
    }
    CheckSecondary(secondary, compared, allowed.ok(), catalog ? &*catalog : nullptr);
  }
}

}  // namespace pdnsd
