// Cluster: a whole pdns-distribute installation on loopback for integration tests.
//
// Real processes: one nats-server, a PowerDNS primary and N PowerDNS secondaries (sqlite3).
// In-process services built exactly as the mains build them: api-proxy, zone-provider and one
// secondary-syncer per secondary, each with its own bus connection and metrics registry.
// Everything is stopped by the destructor, also when a test fails.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "discovery/heartbeat.h"
#include "services/api_proxy/api_proxy.h"
#include "services/health_checker/health_checker.h"
#include "services/secondary_syncer/secondary_syncer.h"
#include "services/zone_provider/zone_provider.h"
#include "support/processes.h"

namespace prometheus {
class Registry;
}

namespace pdnsd::testing {

struct ClusterOptions {
  int secondaries = 2;
  std::string host = "127.0.0.1";             // every address of the cluster; "::1" for IPv6
  std::vector<std::string> primary_config;    // extra pdns.conf lines for the primary
  std::vector<std::string> secondary_config;  // ... and for each secondary
  std::chrono::milliseconds axfr_timeout{10000};
  // Liveness and self-healing: every syncer sends heartbeats; a health-checker runs when set.
  std::chrono::milliseconds ping_interval{200};
  bool health_checker = false;
  HealthCheckerConfig checker;  // its intervals; addresses are filled in by Start()
};

class Cluster {
 public:
  Cluster() = default;
  ~Cluster();

  Status Start(const ClusterOptions& options = {});

  // Stops syncer `index` (its heartbeats end too) / starts it again as a new process would
  // (new boot id, same ID and AXFR endpoint port).
  void StopSyncer(int index);
  Status StartSyncer(int index);
  // Adds a secondary: a new PowerDNS and its syncer (index = secondaries.size() - 1).
  Status AddSecondary();
  Status StartHealthChecker();
  void StopHealthChecker();

  // A request to the api-proxy over HTTPS with the primary's API key.
  HttpResponse Proxy(const std::string& method, const std::string& path,
                     const std::string& body = "") const;
  // "/api/v1/servers/localhost/zones" + "/" + id of `zone` when given.
  static std::string ZonesPath(const std::string& zone = "");

  // Creates a zone through the proxy: SOA serial `serial`, NS ns1.example.net., SOA-EDIT-API
  // INCREASE so that PATCHes bump the serial, plus `extra_rrsets` (a JSON array text).
  HttpResponse CreateZone(const std::string& zone, uint32_t serial = 1,
                          const std::string& extra_rrsets = "[]", bool dnssec = false);
  // PATCHes one A rrset through the proxy.
  HttpResponse SetARecord(const std::string& zone, const std::string& name, const std::string& ip);

  // The serial secondary `index` (or the primary: index -1) serves for `zone` by DNS; 0 when
  // it does not answer authoritatively.
  uint32_t ServedSerial(int index, const std::string& zone) const;
  // The serial the primary serves (SOA-EDIT-API bumps the requested one at creation).
  uint32_t PrimarySerial(const std::string& zone) const { return ServedSerial(-1, zone); }
  // Waits until every secondary serves `zone` with `serial` (DNS). Returns what it saw.
  ::testing::AssertionResult WaitAllServe(
      const std::string& zone, uint32_t serial,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until no secondary's API lists `zone` and none answers it authoritatively.
  ::testing::AssertionResult WaitAllAbsent(
      const std::string& zone, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool SecondaryHasZone(int index, const std::string& zone) const;

  const std::string& host() const { return options_.host; }
  std::string proxy_url() const;

  NatsServer nats;
  PdnsServer primary;
  std::vector<std::unique_ptr<PdnsServer>> secondaries;

  std::shared_ptr<prometheus::Registry> proxy_registry;
  std::shared_ptr<prometheus::Registry> provider_registry;
  std::vector<std::shared_ptr<prometheus::Registry>> syncer_registries;
  std::unique_ptr<Bus> proxy_bus;
  std::unique_ptr<Bus> provider_bus;
  std::vector<std::unique_ptr<Bus>> syncer_buses;
  std::unique_ptr<ApiProxy> proxy;
  std::unique_ptr<ZoneProvider> provider;
  std::vector<std::unique_ptr<SecondarySyncer>> syncers;
  std::vector<std::unique_ptr<HeartbeatSender>> heartbeats;  // one per syncer
  std::shared_ptr<prometheus::Registry> checker_registry;
  std::unique_ptr<Bus> checker_bus;
  std::unique_ptr<HealthChecker> checker;

  TempDir state_dir{"pdnsd-cluster"};

 private:
  Status StartSecondaryPdns();
  HostPort SyncerAxfrAddress(int index);

  ClusterOptions options_;
  std::vector<uint16_t> axfr_ports_;  // kept across syncer restarts
};

// BusOptions for a client of `nats` (no credentials).
BusOptions TestBusOptions(const NatsServer& nats, const std::string& name);

}  // namespace pdnsd::testing
