#include "services/secondary_syncer/config.h"

#include "model/zone_name.h"

namespace pdnsd {

std::string DefaultSecondaryId() { return DefaultServiceId("pdns-secondary-syncer"); }

SecondarySyncerConfig ReadSecondarySyncerConfig(ConfigReader& reader) {
  SecondarySyncerConfig config;
  config.id = reader.String("Service", "ID", "");
  if (config.id.empty()) config.id = DefaultSecondaryId();
  if (!IsValidSubjectToken(config.id)) {
    reader.Fail("Service", "ID", "must be one NATS subject token (no '.', '*', '>' or spaces)");
  }
  config.powerdns = ReadPdnsApiOptions(reader);
  config.axfr_address = ReadAddress(reader, "PowerDNS", "AXFRAddress", "127.0.0.1:20102");
  config.axfr_timeout = reader.Duration("PowerDNS", "AXFRTimeout", config.axfr_timeout);
  config.event_delay = reader.Duration("PowerDNS", "EventDelay", config.event_delay);
  config.retry_max = reader.Duration("PowerDNS", "RetryMaxDelay", config.retry_max);
  if (!reader.String("PowerDNS", "DNSAddress", "").empty()) {
    config.local_dns = ReadAddress(reader, "PowerDNS", "DNSAddress", "");
  }
  config.api_workers =
      static_cast<int>(reader.Int("PowerDNS", "APIWorker", config.api_workers, 1, 256));
  config.subjects = ReadZoneEventSubjects(reader);
  config.zone_data_prefix = reader.String("ZoneDataTopics", "Prefix", config.zone_data_prefix);
  config.zone_state_prefix = reader.String("ZoneStateTopics", "Prefix", config.zone_state_prefix);
  return config;
}

}  // namespace pdnsd
