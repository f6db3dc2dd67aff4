// pdns-health-checker configuration (docs/configuration.md, config/pdns-health-checker.toml).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/net.h"
#include "pdns/api_client.h"
#include "services/common/service_config.h"
#include "services/health_checker/change_tracker.h"

namespace pdnsd {

struct HealthCheckerConfig {
  HostPort status_listen{"127.0.0.1", 30001};  // [Service] URL: GET /status (plain HTTP)
  HostPort primary{"127.0.0.1",
                   53};  // [PowerDNS] AXFRAddress: the primary's DNS, whose serials are the truth
  std::chrono::milliseconds dns_timeout{5000};   // [PowerDNS] AXFRTimeout
  std::string zone_state_prefix = "zonestate.";  // [ZoneStateTopics] Prefix (PeerSubject)
  std::vector<std::string> static_secondaries;   // [Secondaries] Hosts
  // [HealthChecks]
  std::chrono::milliseconds event_check_wait{20000};    // EventCheckWaitTime
  std::chrono::milliseconds refresh_interval{60000};    // ActiveZoneSecondaryRefreshIntervall
  std::chrono::milliseconds periodic_interval{300000};  // PeriodicalCheckIntervall
  std::chrono::milliseconds nsec3_interval{3600000};    // NSEC3CheckIntervall
  bool ensure_nsec3 = true;                             // EnsureNSEC3
  double mass_deletion_share = 0.5;                     // MassDeletionShare
  std::chrono::milliseconds signing_window{3600000};    // SigningSyncWindow
  std::chrono::milliseconds signature_expiry{std::chrono::hours(24 * 7)};  // SignatureExpiryWindow
  std::chrono::milliseconds state_timeout{10000};                          // StateRequestTimeout
  int workers = 8;  // Workers: SOA queries at once
  // [ChangeStatus]: how many changes GET /changes remembers (History), and for how long (MaxAge).
  ChangeTrackerLimits changes;
};

HealthCheckerConfig ReadHealthCheckerConfig(ConfigReader& reader, const CommonConfig& common);

}  // namespace pdnsd
