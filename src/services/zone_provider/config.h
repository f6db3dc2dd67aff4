// pdns-zone-provider configuration (docs/configuration.md, config/pdns-zone-provider.toml).
#pragma once

#include <chrono>
#include <string>

#include "core/config.h"
#include "core/net.h"
#include "services/common/service_config.h"
#include "services/zone_provider/catalog_publisher.h"

namespace pdnsd {

struct ZoneProviderConfig {
  HostPort primary{"127.0.0.1", 53};  // [PowerDNS] AXFRAddress: the primary's DNS (AXFR from it)
  std::chrono::milliseconds axfr_timeout{10000};  // [PowerDNS] AXFRTimeout
  std::string subject = "zonedata.*";             // [ZoneDataTopics] Wildcard
  std::string queue_group = "worker";             // as the original: instances share the load
  int workers = 8;                                // [Service] Workers: requests served at once
  // [JetStream] PublishWorkers, SweepInterval, MassDeletionPercent (primary and AXFR timeout
  // are set from the keys above).
  CatalogPublisherOptions catalog;
};

ZoneProviderConfig ReadZoneProviderConfig(ConfigReader& reader, const CommonConfig& common);

}  // namespace pdnsd
