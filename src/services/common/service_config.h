// The config sections every service shares: [Log], [Prometheus], [MessageBroker], [PowerDNS]
// (API part) and [ZoneEventTopics]. Keys and meaning: docs/configuration.md.
#pragma once

#include <chrono>
#include <string>
#include <vector>

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
  // Liveness (DESIGN section 5): who this instance is and how often it says so.
  std::string id;                                  // [Service] ID; default see DefaultServiceId()
  std::vector<std::string> tags;                   // [Service] Tags
  std::chrono::milliseconds ping_interval{10000};  // [ServiceDiscovery] HealthPingIntervall
  std::string heartbeat_prefix = "heartbeat";      // [ServiceDiscovery] Subject
  std::string advertised_dns;  // [PowerDNS] DNSAddress (syncers): sent in heartbeats
};

// A syncer's ID is the SHA-256 hex of the hostname, as the original's; other services are
// "<service>-<first 12 hex digits of that>", so services sharing a host stay apart.
std::string DefaultServiceId(const std::string& service_name);

// Reads [Log], [Prometheus], [MessageBroker], [Service] ID/Tags and [ServiceDiscovery].
// [MessageBroker] URL is required; [Service] ID must be one NATS subject token.
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
