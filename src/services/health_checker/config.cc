#include "services/health_checker/config.h"

namespace pdnsd {

HealthCheckerConfig ReadHealthCheckerConfig(ConfigReader& reader, const CommonConfig& common) {
  HealthCheckerConfig config;
  const std::string url = reader.String("Service", "URL", "http://127.0.0.1:30001");
  auto parsed = ParseHttpUrl(url);
  if (!parsed.ok()) {
    reader.Fail("Service", "URL", parsed.status().message());
  } else {
    if (parsed->scheme != "http")
      reader.Fail("Service", "URL", "the status page is served over http://");
    config.status_listen = parsed->host_port;
  }
  config.primary = ReadPrimaryDnsAddress(reader, common.powerdns);
  config.dns_timeout = reader.Duration("PowerDNS", "AXFRTimeout", config.dns_timeout);
  config.zone_state_prefix = ReadSubjectPrefix(reader, "ZoneStateTopics", config.zone_state_prefix);
  config.static_secondaries = reader.StringList("Secondaries", "Hosts");
  config.event_check_wait =
      reader.Duration("HealthChecks", "EventCheckWaitTime", config.event_check_wait);
  config.refresh_interval = reader.Duration("HealthChecks", "ActiveZoneSecondaryRefreshIntervall",
                                            config.refresh_interval);
  config.periodic_interval =
      reader.Duration("HealthChecks", "PeriodicalCheckIntervall", config.periodic_interval);
  config.nsec3_interval =
      reader.Duration("HealthChecks", "NSEC3CheckIntervall", config.nsec3_interval);
  config.ensure_nsec3 = reader.Bool("HealthChecks", "EnsureNSEC3", config.ensure_nsec3);
  const int64_t share_percent =
      reader.Int("HealthChecks", "MassDeletionPercent",
                 static_cast<int64_t>(config.mass_deletion_share * 100), 1, 100);
  config.mass_deletion_share = static_cast<double>(share_percent) / 100.0;
  config.signing_window =
      reader.Duration("HealthChecks", "SigningSyncWindow", config.signing_window);
  config.signature_expiry =
      reader.Duration("HealthChecks", "SignatureExpiryWindow", config.signature_expiry);
  config.state_timeout =
      reader.Duration("HealthChecks", "StateRequestTimeout", config.state_timeout);
  config.workers = static_cast<int>(reader.Int("Service", "Workers", config.workers, 1, 256));
  config.changes.max_changes = static_cast<size_t>(reader.Int(
      "ChangeStatus", "History", static_cast<int64_t>(config.changes.max_changes), 1, 10000000));
  const auto max_age = reader.Duration(
      "ChangeStatus", "MaxAge",
      std::chrono::duration_cast<std::chrono::milliseconds>(config.changes.max_age));
  if (max_age < std::chrono::seconds(1)) {
    reader.Fail("ChangeStatus", "MaxAge", "must be at least 1s");
  } else {
    config.changes.max_age = std::chrono::duration_cast<std::chrono::seconds>(max_age);
  }
  for (const auto& [name, value] :
       {std::pair{"PeriodicalCheckIntervall", config.periodic_interval},
        std::pair{"ActiveZoneSecondaryRefreshIntervall", config.refresh_interval},
        std::pair{"NSEC3CheckIntervall", config.nsec3_interval}}) {
    if (value.count() <= 0) reader.Fail("HealthChecks", name, "must be a positive duration");
  }
  if (config.state_timeout.count() <= 0) {
    reader.Fail("HealthChecks", "StateRequestTimeout", "must be a positive duration");
  }
  return config;
}

}  // namespace pdnsd
