#include "services/zone_provider/config.h"

#include "services/common/service_config.h"

namespace pdnsd {

ZoneProviderConfig ReadZoneProviderConfig(ConfigReader& reader, const CommonConfig& common) {
  ZoneProviderConfig config;
  config.primary = ReadPrimaryDnsAddress(reader, common.powerdns);
  config.axfr_timeout = reader.Duration("PowerDNS", "AXFRTimeout", config.axfr_timeout);
  config.subject = reader.String("ZoneDataTopics", "Wildcard", config.subject);
  config.workers = static_cast<int>(reader.Int("Service", "Workers", config.workers, 1, 256));
  return config;
}

}  // namespace pdnsd
