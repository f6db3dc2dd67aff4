#include "services/zone_provider/config.h"

#include "services/common/service_config.h"

namespace pdnsd {

ZoneProviderConfig ReadZoneProviderConfig(ConfigReader& reader, const CommonConfig& common) {
  ZoneProviderConfig config;
  config.primary = ReadPrimaryDnsAddress(reader, common.powerdns);
  config.axfr_timeout = reader.Duration("PowerDNS", "AXFRTimeout", config.axfr_timeout);
  config.subject = reader.String("ZoneDataTopics", "Wildcard", config.subject);
  config.workers = static_cast<int>(reader.Int("Service", "Workers", config.workers, 1, 256));
  CatalogPublisherOptions& catalog = config.catalog;
  catalog.workers =
      static_cast<int>(reader.Int("JetStream", "PublishWorkers", catalog.workers, 1, 256));
  catalog.sweep_interval = reader.Duration("JetStream", "SweepInterval", catalog.sweep_interval);
  if (catalog.sweep_interval.count() < 0) {
    reader.Fail("JetStream", "SweepInterval", "must not be negative");
  }
  catalog.mass_deletion_share =
      static_cast<double>(reader.Int("JetStream", "MassDeletionPercent", 50, 0, 100)) / 100.0;
  return config;
}

}  // namespace pdnsd
