// RenderServiceConfig: the one source of service TOML for a deployment described by a few
// parameters (broker, PowerDNS, addresses, intervals). The test harness (tests/support/cluster.h),
// the integration tests, bench/ and scripts/demo (through the pdns-distribute-config binary,
// src/cmd/pdns_distribute_config.cc) all render their service configs here, so that a key
// renamed or added is changed once. Every key left out keeps its default
// (docs/configuration.md); the annotated examples for operators are config/*.toml.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pdnsd {

// One key of a rendered config: `value` is TOML text ("\"2s\"", "1", "true"; see TomlString,
// TomlDuration).
struct ConfigKey {
  std::string section;
  std::string key;
  std::string value;
};

// What a service's config is rendered from; "" / 0 leave a key out.
struct ServiceConfigParameters {
  std::string id;  // [Service] ID
  // The service's own listener, host:port ("[::1]:0" for IPv6; port 0: any free one): the
  // api-proxy's https:// [Service] URL, the health-checker's http:// [Service] URL (its status
  // page), the secondary-syncer's [AXFRPrimary] Address. Unused by the zone-provider.
  std::string listen;
  std::string state_dir;  // the api-proxy's [Service] StateDir
  std::string nats_url;   // [MessageBroker] URL
  std::string nats_username;
  std::string nats_password;
  std::string powerdns_url;      // [PowerDNS] URL: the service's PowerDNS API
  std::string powerdns_api_key;  // [PowerDNS] APIToken
  // The DNS address of the service's PowerDNS, host:port: the primary's for the zone-provider
  // and the health-checker ([PowerDNS] AXFRAddress), the local secondary's for a syncer
  // ([PowerDNS] DNSAddress).
  std::string powerdns_dns;
  std::string metrics;  // [Prometheus] Address, rendered always: "" = no metrics endpoint
  std::chrono::milliseconds ping_interval{0};  // [ServiceDiscovery] HealthPingIntervall
  std::chrono::milliseconds axfr_timeout{0};   // [PowerDNS] AXFRTimeout
  bool debug = false;                          // [Log] DEBUG
  // Further keys, in order: a key already rendered is replaced, others are appended to their
  // section (the section is added when absent).
  std::vector<ConfigKey> extra;
};

// The TOML text of `service`'s config ("pdns-api-proxy", "pdns-zone-provider",
// "pdns-secondary-syncer", "pdns-health-checker"). InvalidArgument for another name.
StatusOr<std::string> RenderServiceConfig(std::string_view service,
                                          const ServiceConfigParameters& parameters);

// `text` as a TOML basic string, quoted and escaped.
std::string TomlString(std::string_view text);
// `duration` as a quoted Go-style duration, "200ms" (what ConfigReader::Duration reads).
std::string TomlDuration(std::chrono::milliseconds duration);

}  // namespace pdnsd
