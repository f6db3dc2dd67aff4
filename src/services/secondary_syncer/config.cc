#include "services/secondary_syncer/config.h"

#include "model/zone_name.h"

namespace pdnsd {

SecondarySyncerConfig ReadSecondarySyncerConfig(ConfigReader& reader,
                                                const CommonConfig& /*common*/) {
  SecondarySyncerConfig config;
  // The original's key for the syncer's own SOA/AXFR listener. [PowerDNS] AXFRAddress, our
  // earlier spelling, is the zone-provider's key (the primary's DNS): alone it would leave the
  // listener silently on the default, so it is an error.
  const bool old_spelling = reader.Has("PowerDNS", "AXFRAddress");
  if (old_spelling && !reader.Has("AXFRPrimary", "Address")) {
    reader.Fail("PowerDNS", "AXFRAddress",
                "is the zone-provider's key (the primary's DNS); the syncer's own SOA/AXFR "
                "listener is [AXFRPrimary] Address, as in the original");
  } else if (old_spelling) {
    reader.Warn("PowerDNS", "AXFRAddress",
                "ignored: the syncer's own SOA/AXFR listener is [AXFRPrimary] Address");
  }
  config.axfr_address = ReadAddress(reader, "AXFRPrimary", "Address", "127.0.0.1:20102");
  config.axfr_timeout = reader.Duration("PowerDNS", "AXFRTimeout", config.axfr_timeout);
  config.event_delay = reader.Duration("PowerDNS", "EventDelay", config.event_delay);
  config.retry_max = reader.Duration("PowerDNS", "RetryMaxDelay", config.retry_max);
  if (!reader.String("PowerDNS", "DNSAddress", "").empty()) {
    config.local_dns = ReadAddress(reader, "PowerDNS", "DNSAddress", "");
  }
  config.api_workers =
      static_cast<int>(reader.Int("PowerDNS", "APIWorker", config.api_workers, 1, 256));
  config.zone_data_prefix = ReadSubjectPrefix(reader, "ZoneDataTopics", config.zone_data_prefix);
  config.zone_state_prefix = ReadSubjectPrefix(reader, "ZoneStateTopics", config.zone_state_prefix);
  return config;
}

}  // namespace pdnsd
