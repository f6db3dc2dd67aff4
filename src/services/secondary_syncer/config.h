// pdns-secondary-syncer configuration (docs/configuration.md, config/pdns-secondary-syncer.toml).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/net.h"
#include "dns/client_access.h"
#include "dns/tsig.h"
#include "pdns/api_client.h"
#include "services/common/service_config.h"

namespace pdnsd {

struct SecondarySyncerConfig {
  HostPort axfr_address{"127.0.0.1", 20102};      // [AXFRPrimary] Address: our SOA/AXFR endpoint
  std::chrono::milliseconds axfr_timeout{10000};  // [PowerDNS] AXFRTimeout
  std::chrono::milliseconds event_delay{0};       // [PowerDNS] EventDelay: wait before reconciling
  int api_workers = 4;                            // [PowerDNS] APIWorker
  // [PowerDNS] BatchCreateFrom: this many zones or more missing locally at once (a bootstrap)
  // are created through one catalog zone (batch_catalog.h); 0: always one by one.
  int batch_create_from = 50;
  std::string zone_data_prefix = "zonedata.";    // [ZoneDataTopics] Prefix (PeerSubject)
  std::string zone_state_prefix = "zonestate.";  // [ZoneStateTopics] Prefix (PeerSubject)
  std::chrono::milliseconds retry_max{10000};    // [PowerDNS] RetryMaxDelay: backoff ceiling
  // [PowerDNS] DNSAddress: where the local PowerDNS answers DNS. When set, a commit is first
  // looked for over DNS (far cheaper for PowerDNS than an API call).
  std::optional<HostPort> local_dns;
  // [AXFRPrimary] AllowFrom: who may query the endpoint. Default (DefaultAxfrAllowFrom): the
  // local PowerDNS's addresses.
  ClientAllowList axfr_allow;
  // [AXFRPrimary] TSIGKeyName, TSIGAlgorithm, TSIGSecret: when set, the endpoint requires the
  // key on every query and signs its answers; the syncer installs the key in its PowerDNS
  // and sets each zone's AXFR-MASTER-TSIG.
  std::optional<TsigKey> axfr_tsig;
};

// The default [AXFRPrimary] AllowFrom: where the local PowerDNS's queries come from. Loopback
// (127.0.0.1, ::1: a PowerDNS on the same host reaching a loopback endpoint), the host of
// [PowerDNS] URL when it is an IP address (the secondary's PowerDNS host), and the host of
// [AXFRPrimary] Address when it is a concrete IP (a PowerDNS on the same host connects from
// the address it connects to).
std::vector<std::string> DefaultAxfrAllowFrom(const std::string& powerdns_host,
                                              const std::string& endpoint_host);

SecondarySyncerConfig ReadSecondarySyncerConfig(ConfigReader& reader, const CommonConfig& common);

}  // namespace pdnsd
