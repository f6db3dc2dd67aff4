// HealthChecker: DNSSEC upkeep: the NSEC3 check (DNSSEC zones get NSEC3PARAM "1 0 0 -") and
// the weekly signing sync (a change event per DNSSEC zone, spread over a window).
#include "services/health_checker/health_checker.h"

#include "services/health_checker/check_rules.h"
#include "services/health_checker/health_checker_internal.h"
#include "services/health_checker/signing_schedule.h"

namespace pdnsd {

void HealthChecker::RunNsec3Check() {
  metrics_->nsec3_cycles.Increment();
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) {
    logger_->warn("NSEC3 check: {}", zones.status().message());
    return;
  }
  for (const PdnsZone& listed : *zones) {
    if (!listed.dnssec) continue;
    auto zone = powerdns_.GetZone(listed.name);
    if (!zone.ok()) {
      logger_->warn("NSEC3 check of {}: {}", listed.name, zone.status().message());
      continue;
    }
    if (!NeedsNsec3Param(zone->nsec3param, zone->nsec3narrow)) continue;
    logger_->info("{}: NSEC3PARAM \"{}\" -> \"{}\"", zone->name, zone->nsec3param,
                  kWantedNsec3Param);
    if (Status s = powerdns_.SetNsec3Param(zone->name, kWantedNsec3Param); !s.ok()) {
      logger_->warn("{}: cannot set NSEC3PARAM: {}", zone->name, s.message());
      continue;
    }
    Announce(ZoneEventType::kChange, zone->name, "", "nsec3");
  }
}

void HealthChecker::RunSigningSync() {
  metrics_->signing_cycles.Increment();
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) {
    logger_->warn("signing sync: {}", zones.status().message());
    return;
  }
  std::vector<std::string> signed_zones;
  for (const PdnsZone& zone : *zones) {
    if (zone.dnssec) signed_zones.push_back(zone.name);
  }
  logger_->info("signing sync: {} DNSSEC zones over {} s", signed_zones.size(),
                config_.signing_window.count() / 1000);
  for (size_t i = 0; i < signed_zones.size(); ++i) {
    timers_->ScheduleAfter(SpreadOffset(i, signed_zones.size(), config_.signing_window),
                           [this, zone = signed_zones[i]] {
                             Announce(ZoneEventType::kChange, zone, "", "signing sync");
                           });
  }
}

}  // namespace pdnsd
