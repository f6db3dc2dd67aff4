// pdns-secondary-syncer configuration (docs/configuration.md, config/pdns-secondary-syncer.toml).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/net.h"
#include "pdns/api_client.h"
#include "services/common/service_config.h"

namespace pdnsd {

struct SecondarySyncerConfig {
  HostPort axfr_address{"127.0.0.1", 20102};      // [AXFRPrimary] Address: our SOA/AXFR endpoint
  std::chrono::milliseconds axfr_timeout{10000};  // [PowerDNS] AXFRTimeout
  std::chrono::milliseconds event_delay{0};       // [PowerDNS] EventDelay: wait before reconciling
  int api_workers = 4;                            // [PowerDNS] APIWorker
  std::string zone_data_prefix = "zonedata.";     // [ZoneDataTopics] Prefix (PeerSubject)
  std::string zone_state_prefix = "zonestate.";   // [ZoneStateTopics] Prefix (PeerSubject)
  std::chrono::milliseconds retry_max{10000};     // [PowerDNS] RetryMaxDelay: backoff ceiling
  // [PowerDNS] DNSAddress: where the local PowerDNS answers DNS. When set, a commit is first
  // looked for over DNS (far cheaper for PowerDNS than an API call).
  std::optional<HostPort> local_dns;
};

SecondarySyncerConfig ReadSecondarySyncerConfig(ConfigReader& reader, const CommonConfig& common);

}  // namespace pdnsd
