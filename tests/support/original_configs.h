// The original Go project's four example config files (configs/<service>/config.toml in
// nameserver-systems/pdns-distribute), reproduced as text for tests that show our services
// read the original's keys with the original's meaning. One change: the `[Secondaries] Hosts`
// entries are quoted (the original's unquoted list is not valid TOML, for the original either).
// Tests change only addresses, ports and paths, with ReplaceOnce().
#pragma once

#include <string>

namespace pdnsd::testing {

inline const char* const kOriginalApiProxyConfig = R"toml([Service]
URL = "http://localhost:30000"
Cert = "/home/pdns-api-proxy/cert.pem"
Key = "/home/pdns-api-proxy/key.pem"
Tags = ["internal", "primary-node", "proxy"]
    [ServiceMetaData]

# very verbose output, journal may rotate often
[Log]
DEBUG = true

[Prometheus]
Address = "localhost:9502" # turn off by set empty string

[MessageBroker]
URL = "nats://localhost:4222"
Username = "" # optional
Password = "" # optional

[PowerDNS]
URL = "http://localhost:8081"

[ZoneEventTopics]
Add = "zone.add"
Mod = "zone.modified"
Del = "zone.delete"

[Secondaries]
Hosts = [
"sec01.example.org",
"sec02.example.org",
]
)toml";

inline const char* const kOriginalZoneProviderConfig = R"toml([Service]
URL = "http://localhost:30001"
Tags = ["external", "primary-node", "proxy"]
    [ServiceMetaData]

# very verbose output, journal may rotate often
[Log]
DEBUG = true

[Prometheus]
Address = "localhost:9500" # turn off by set empty string

[MessageBroker]
URL = "nats://localhost:4222"
Username = "" # optional
Password = "" # optional

[PowerDNS]
URL = "http://localhost:8081"
APIToken = "0000"
ServerID = "localhost"
AXFRTimeout = "2s"
AXFRAddress = "127.0.0.1:53"

[ZoneDataTopics]
Wildcard = "zonedata.*"

[Secondaries]
Hosts = [
"sec01.example.org",
"sec02.example.org",
]
)toml";

inline const char* const kOriginalSecondarySyncerConfig = R"toml([Service]
URL = "http://localhost:30002"
Tags = ["internal", "secondary-node", "eu-west"]
    [ServiceMetaData]

# very verbose output, journal may rotate often
[Log]
DEBUG = true

[Prometheus]
Address = "localhost:9503" # turn off by set empty string

[MessageBroker]
URL = "nats://localhost:4222"
Username = "" # optional
Password = "" # optional

[PowerDNS]
URL = "http://localhost:18081"
APIToken = "0000"
ServerID = "localhost"
EventDelay = "0s"
APIWorker = 4

[AXFRPrimary]
Address = "127.0.0.1:20102"

[ZoneEventTopics]
Add = "zone.add"
Mod = "zone.modified"
Del = "zone.delete"

[ZoneDataTopics]
Prefix = "zonedata."

[ZoneStateTopics]
Prefix = "zonestate."

[Secondaries]
Hosts = [
"sec01.example.org",
"sec02.example.org",
]
)toml";

inline const char* const kOriginalHealthCheckerConfig = R"toml([Service]
URL = "http://localhost:30001"
Tags = ["internal", "primary-node", "health", "check"]
    [ServiceMetaData]

# very verbose output, journal may rotate often
[Log]
DEBUG = true

[Prometheus]
Address = "localhost:9501" # turn off by set empty string

[MessageBroker]
URL = "nats://localhost:4222"
Username = "" # optional
Password = "" # optional

[PowerDNS]
URL = "http://localhost:8081"
APIToken = "0000"
ServerID = "localhost"

[ZoneEventTopics]
Add = "zone.add"
Mod = "zone.modified"
Del = "zone.delete"

[ZoneStateTopics]
Prefix = "zonestate."

[HealthChecks]
EventCheckWaitTime = "20s"
ActiveZoneSecondaryRefreshIntervall = "5m"
PeriodicalCheckIntervall = "15m"
NSEC3CheckIntervall = "15m"

[Secondaries]
Hosts = [
"sec01.example.org",
"sec02.example.org",
]
)toml";

// `text` with the one occurrence of `from` replaced by `to`; "" when `from` does not occur
// exactly once (so that a test notices a file that changed under it).
inline std::string ReplaceOnce(const std::string& text, const std::string& from,
                               const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) return "";
  return text.substr(0, at) + to + text.substr(at + from.size());
}

}  // namespace pdnsd::testing
