// HealthChecker: catalog mode (docs/architecture.md, "Catalog mode"): the JetStream catalog
// against the primary (broadcast repairs, which the zone-provider answers with a new version)
// and the basis the secondaries are compared with. The decisions are in catalog_plan.h.
#include "services/health_checker/health_checker.h"

#include "services/health_checker/catalog_plan.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

std::optional<CatalogZones> HealthChecker::UsableCatalog() {
  if (!catalog_) return std::nullopt;
  CatalogMirror::Snapshot snapshot = catalog_->Read();
  if (!snapshot.bound || !snapshot.caught_up) return std::nullopt;
  return std::move(snapshot.zones);
}

HealthChecker::PrimaryView HealthChecker::ComparisonView(
    const PrimaryView& primary, const std::optional<CatalogZones>& catalog) {
  if (!catalog) return primary;
  ComparisonBasis basis = SecondaryComparisonBasis(primary.served, primary.unknown, *catalog);
  PrimaryView view = primary;
  view.served = std::move(basis.serials);
  view.unknown = std::move(basis.unknown);
  return view;
}

void HealthChecker::RepairCatalog(const PrimaryView& primary, const CatalogZones& catalog,
                                  bool allow_delete) {
  const CatalogRepair repair =
      PlanCatalogRepair(primary.served, primary.unknown, catalog, allow_delete);
  const auto now = clock_->Now();
  for (const Announcement& a : repair.announcements) {
    Announce(a.type, a.zone, "", "catalog");
  }
  metrics_->catalog_differences.Set(static_cast<double>(repair.differing.size()));
  MutexLock lock(mutex_);
  // Entries older than the gap no longer hold anything back.
  for (auto it = catalog_repaired_at_.begin(); it != catalog_repaired_at_.end();) {
    it = CatalogRepairDue(it->second, now, config_.periodic_interval)
             ? catalog_repaired_at_.erase(it)
             : std::next(it);
  }
  for (const Announcement& a : repair.announcements) catalog_repaired_at_[a.zone] = now;
  catalog_differing_ = repair.differing;
  catalog_compared_at_ = clock_->WallNow();
}

void HealthChecker::CheckCatalogEntry(const std::string& zone,
                                      std::optional<uint32_t> primary_serial) {
  if (!catalog_) return;
  const CatalogMirror::Lookup entry = catalog_->Find(zone);
  if (!entry.usable) return;
  const std::optional<ZoneEventType> type =
      CatalogEventCheckAnnouncement(primary_serial, entry.zone);
  if (!type) return;
  const auto now = clock_->Now();
  {
    MutexLock lock(mutex_);
    auto last = catalog_repaired_at_.find(zone);
    if (!CatalogRepairDue(
            last == catalog_repaired_at_.end() ? std::nullopt : std::optional(last->second), now,
            config_.periodic_interval)) {
      return;
    }
    catalog_repaired_at_[zone] = now;
  }
  Announce(*type, zone, "", "catalog");
}

void HealthChecker::UpdateCatalogMetrics() {
  if (!catalog_) return;
  const CatalogMirror::Snapshot snapshot = catalog_->Read();
  size_t versions = 0, tombstones = 0;
  for (const auto& [zone, entry] : snapshot.zones) ++(entry.deleted ? tombstones : versions);
  metrics_->catalog_bound.Set(snapshot.bound && snapshot.caught_up ? 1 : 0);
  metrics_->catalog_zones.Set(static_cast<double>(versions));
  metrics_->catalog_tombstones.Set(static_cast<double>(tombstones));
  metrics_->catalog_revision.Set(static_cast<double>(snapshot.revision));
}

}  // namespace pdnsd
