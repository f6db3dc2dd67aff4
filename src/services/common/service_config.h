// The config sections every service shares: [Log], [Prometheus], [MessageBroker], [PowerDNS]
// (API part) and [ZoneEventTopics]. Keys and meaning: docs/configuration.md.
#pragma once

#include <string>

#include "bus/bus.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/net.h"
#include "pdns/api_client.h"

namespace pdnsd {

struct CommonConfig {
  LogOptions log;
  std::string prometheus_address;  // "" = no metrics endpoint
  BusOptions broker;
};

// Reads [Log], [Prometheus] and [MessageBroker]. [MessageBroker] URL is required.
CommonConfig ReadCommonConfig(ConfigReader& reader, const std::string& service_name);

// Reads [PowerDNS] URL (required), APIToken, ServerID.
PdnsApiOptions ReadPdnsApiOptions(ConfigReader& reader);

struct ZoneEventSubjects {
  std::string add = "zone.add";
  std::string change = "zone.modified";
  std::string remove = "zone.delete";
};
ZoneEventSubjects ReadZoneEventSubjects(ConfigReader& reader);

// Reads an address key ("127.0.0.1:20102", "[::1]:20102"); Go-style ":port" means every
// interface.
HostPort ReadAddress(ConfigReader& reader, const char* section, const char* key,
                     const std::string& fallback);

}  // namespace pdnsd
