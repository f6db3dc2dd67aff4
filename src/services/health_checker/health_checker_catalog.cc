// HealthChecker: catalog mode (docs/architecture.md, "Catalog mode"): the JetStream catalog
// against the primary (broadcast repairs, which the zone-provider answers with a new version)
// and the basis the secondaries are compared with. The decisions are in catalog_plan.h.
#include "services/health_checker/health_checker.h"

#include "core/net.h"
#include "dns/axfr_client.h"
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

void HealthChecker::CheckContent(const ServiceRecord& secondary, const PrimaryView& primary,
                                 const std::map<std::string, uint32_t>& state,
                                 const CatalogZones& catalog) {
  // Zones compared per secondary and periodic check: each costs one AXFR of that secondary's
  // PowerDNS and one read of the version's chunks from JetStream, none of the primary.
  constexpr size_t kContentChecksPerSecondary = 4;
  if (!catalog_ || secondary.last.dns_address.empty()) return;
  auto address = ParseHostPort(secondary.last.dns_address);
  if (!address.ok()) return;
  const std::string& id = secondary.last.id;
  std::vector<std::string> candidates;
  for (const auto& [zone, serial] : state) {
    auto entry = catalog.find(zone);
    auto served = primary.served.find(zone);
    if (entry != catalog.end() && !entry->second.deleted && entry->second.serial == serial &&
        served != primary.served.end() && served->second == serial) {
      candidates.push_back(zone);
    }
  }
  DigestSample sample;
  {
    MutexLock lock(mutex_);
    sample = PickDigestSample(candidates, content_cursor_[id], kContentChecksPerSecondary);
    content_cursor_[id] = sample.next;
  }
  for (const std::string& zone : sample.zones) {
    const uint32_t serial = state.at(zone);
    auto text = catalog_->ReadText(zone, serial);
    if (!text.ok()) {
      logger_->debug("content check of {}: catalog: {}", zone, text.status().message());
      continue;
    }
    auto transfer = TransferZone(*address, zone, config_.dns_timeout);
    if (!transfer.ok()) {
      logger_->warn("content check of {} on {}: AXFR from {}: {}", zone, id,
                    secondary.last.dns_address, transfer.status().message());
      continue;
    }
    if (transfer->serial != serial) continue;  // moved meanwhile: the next check compares it
    metrics_->content_checks.Increment();
    if (CanonicalZoneDigest(*text) == CanonicalZoneDigest(AxfrZoneData(*transfer))) continue;
    metrics_->content_mismatches.Increment();
    logger_->warn("secondary {} serves {} at serial {} with other content than the catalog", id,
                  zone, serial);
    Announce(ZoneEventType::kChange, zone, id, "content");
  }
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
