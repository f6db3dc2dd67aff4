// Cluster: a whole pdns-distribute installation on loopback for integration tests.
//
// Real processes: one nats-server, a PowerDNS primary and N PowerDNS secondaries (sqlite3).
// The services (api-proxy, zone-provider, one secondary-syncer per secondary, optionally the
// health-checker) get their TOML from one template (services/common/config_template.h) and
// run either in-process, built from that text through the service's own ServiceDefinition,
// LoadServiceConfig and ServiceRunner exactly as its binary builds it, each with its own bus
// connection and metrics registry (the default: what tests use), or as the real pdns-*
// binaries reading the same text from a file (ClusterOptions::service_binaries: what the
// benchmark uses, so that each service's CPU and memory can be measured).
// Everything is stopped by the destructor, also when a test fails.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "discovery/heartbeat.h"
#include "services/api_proxy/api_proxy.h"
#include "services/common/config_template.h"
#include "services/common/service_main.h"
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
  // Set: the primary on PostgreSQL (gpgsql, support/postgres.h) instead of sqlite3.
  std::optional<PgsqlDatabase> primary_gpgsql;
  std::chrono::milliseconds axfr_timeout{10000};
  int proxy_write_concurrency = 0;  // the api-proxy's [PowerDNS] WriteConcurrency
  // The syncers' [PowerDNS] RetryMaxDelay; 0: the product's default (not written).
  std::chrono::milliseconds syncer_retry_max{2000};
  // Further keys of every syncer's config (e.g. [AXFRPrimary] TSIGKeyName), rendered last.
  std::vector<ConfigKey> syncer_config;
  // nats-server with JetStream (its store in the server's temporary directory): the services'
  // [JetStream] Mode "auto" then distributes zone versions through it.
  bool jetstream = false;
  // 3: the broker is a NatsCluster of three nodes (JetStream on each) instead of one
  // nats-server; every service gets the nodes' URL list and [JetStream] Replicas = 3.
  int nats_nodes = 1;
  // The broker as shipped (tests/support/shipped_broker.h): config/nats-server.conf with TLS (a
  // CA made in state_dir) and its users; each service runs as its role, each syncer as
  // "syncer-<ID>". Only with nats_nodes == 1. Off: a plain broker without users (faster).
  bool shipped_broker = false;
  // Liveness and self-healing: every syncer sends heartbeats; a health-checker runs when set.
  std::chrono::milliseconds ping_interval{200};
  bool health_checker = false;
  // Its intervals, workers and NSEC3 switch, rendered into its [HealthChecks] and [Service]
  // Workers; addresses are filled in by Start().
  HealthCheckerConfig checker;
  // Non-empty: the directory of the pdns-* binaries, and the services run as processes (their
  // config files and logs in Cluster::state_dir). Empty: in-process services.
  std::string service_binaries;
};

// A service process of a Cluster in process mode.
struct ServiceProcess {
  std::string name;    // "api-proxy", "zone-provider", "syncer0", ..., "health-checker"
  std::string binary;  // "pdns-api-proxy", ...
  std::string id;      // its [Service] ID, as in its heartbeat subject
  std::string config_path;
  ChildProcess process;
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
  // The broker URL syncer `index` is started with from now on (default: nats.url()), e.g. a
  // TcpForwarder's in front of nats (tests/support/tcp_forwarder.h).
  void SetSyncerBrokerUrl(int index, std::string url);
  // Process mode: the service process named `name` ("api-proxy", "zone-provider", "syncer0",
  // ..., "health-checker"), nullptr when there is none; a test may Signal() or Kill() it.
  ServiceProcess* FindServiceProcess(const std::string& name);
  // Process mode: starts a stopped or killed service process again with its config file and
  // waits for its first heartbeat.
  Status RestartServiceProcess(const std::string& name);
  // Adds a secondary: a new PowerDNS and its syncer (index = secondaries.size() - 1).
  Status AddSecondary();
  Status StartHealthChecker();
  void StopHealthChecker();

  // A request to the api-proxy over HTTPS with the primary's API key.
  HttpResponse Proxy(const std::string& method, const std::string& path,
                     const std::string& body = "") const;
  // "/api/v1/servers/localhost/zones" + "/" + id of `zone` when given.
  static std::string ZonesPath(const std::string& zone = "");

  // The body of POST .../zones for `zone` of `kind`: SOA serial `serial`, NS ns1.example.net.,
  // SOA-EDIT-API INCREASE so that PATCHes bump the serial, plus `extra_rrsets` (a JSON array
  // text); a member of `catalog` when that is given.
  static std::string ZoneBody(const std::string& zone, const std::string& kind, uint32_t serial = 1,
                              const std::string& extra_rrsets = "[]", bool dnssec = false,
                              const std::string& catalog = "");
  // The body of a PATCH that replaces the A rrset `name` with `ip` (TTL 60).
  static std::string ARecordPatch(const std::string& name, const std::string& ip);

  // Creates a zone through the proxy: ZoneBody(zone, "Native", ...).
  HttpResponse CreateZone(const std::string& zone, uint32_t serial = 1,
                          const std::string& extra_rrsets = "[]", bool dnssec = false);
  // PATCHes one A rrset through the proxy.
  HttpResponse SetARecord(const std::string& zone, const std::string& name, const std::string& ip);

  // The serial secondary `index` (or the primary: index -1) serves for `zone` by DNS; 0 when
  // it does not answer authoritatively.
  uint32_t ServedSerial(int index, const std::string& zone) const;
  // The serial the primary serves (SOA-EDIT-API bumps the requested one at creation).
  uint32_t PrimarySerial(const std::string& zone) const { return ServedSerial(-1, zone); }
  // Waits until every secondary serves `zone` with `serial` (DNS). Timeout says what it saw.
  Status WaitAllServe(const std::string& zone, uint32_t serial,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until no secondary's API lists `zone` and none answers it authoritatively.
  Status WaitAllAbsent(const std::string& zone,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool SecondaryHasZone(int index, const std::string& zone) const;

  const std::string& host() const { return options_.host; }
  std::string proxy_url() const;
  HostPort proxy_address() const;
  // The health-checker's GET /status document ("" when it does not run).
  std::string CheckerStatus() const;
  // "http://host:port" of the health-checker's status listener ([Service] URL); "" when it
  // does not run.
  std::string CheckerUrl() const;
  // Process mode: the service processes running now (empty in in-process mode).
  std::vector<const ServiceProcess*> RunningServices() const;
  // "http://host:port/metrics" of a service process, from its [Prometheus] Address.
  static std::string MetricsUrl(const ServiceProcess& service);

  NatsServer nats;           // the broker when nats_nodes == 1
  NatsCluster nats_cluster;  // the broker when nats_nodes > 1
  // [MessageBroker] URL of the services: nats.url() or nats_cluster.urls().
  std::string nats_urls() const;
  PdnsServer primary;
  std::vector<std::unique_ptr<PdnsServer>> secondaries;

  std::shared_ptr<prometheus::Registry> proxy_registry;
  std::shared_ptr<prometheus::Registry> provider_registry;
  std::vector<std::shared_ptr<prometheus::Registry>> syncer_registries;
  std::unique_ptr<Bus> proxy_bus;
  std::unique_ptr<Bus> provider_bus;
  std::vector<std::unique_ptr<Bus>> syncer_buses;
  // In-process mode: the services (a test may stop and reset one; its runner never touches it).
  std::unique_ptr<ApiProxy> proxy;
  std::unique_ptr<ZoneProvider> provider;
  std::vector<std::unique_ptr<SecondarySyncer>> syncers;
  std::shared_ptr<prometheus::Registry> checker_registry;
  std::unique_ptr<Bus> checker_bus;
  std::unique_ptr<HealthChecker> checker;

  TempDir state_dir{"pdnsd-cluster"};

 private:
  bool process_mode() const { return !options_.service_binaries.empty(); }
  Status StartSecondaryPdns();
  // The port of a service's own listener: a free one in process mode (the config must name
  // it), 0 in-process (the service takes any; the test asks it).
  uint16_t ListenPort() const;
  // The template parameters every service of the cluster shares: broker, ping interval,
  // AXFR timeout, a metrics endpoint in process mode.
  ServiceConfigParameters CommonParameters(const std::string& id) const;
  Status StartBroker();               // the single nats-server (nats_nodes == 1)
  std::string broker_ca_dir() const;  // shipped_broker: the CA's directory; else ""

  // Process mode: writes the config of `service` and starts it; returns once its first
  // heartbeat arrived (its subscriptions are then registered at the broker).
  Status StartServiceProcess(ServiceProcess& service, const std::string& config);

  // Process mode.
  std::unique_ptr<Bus> watch_bus_;  // sees every heartbeat: a started service is ready
  std::unique_ptr<Subscription> heartbeat_subscription_;
  mutable std::mutex heartbeats_mutex_;
  std::map<std::string, std::string> boot_ids_;  // GUARDED_BY(heartbeats_mutex_); by subject
  std::unique_ptr<ServiceProcess> proxy_process_;
  std::unique_ptr<ServiceProcess> provider_process_;
  std::vector<std::unique_ptr<ServiceProcess>> syncer_processes_;
  std::unique_ptr<ServiceProcess> checker_process_;
  // In-process mode: what runs around each service as in its binary (claim, heartbeats).
  std::unique_ptr<ServiceRunner> proxy_runner_;
  std::unique_ptr<ServiceRunner> provider_runner_;
  std::vector<std::unique_ptr<ServiceRunner>> syncer_runners_;
  std::unique_ptr<ServiceRunner> checker_runner_;
  uint16_t proxy_port_ = 0;
  uint16_t checker_status_port_ = 0;

  ClusterOptions options_;
  std::vector<uint16_t> axfr_ports_;  // kept across syncer restarts
  std::map<int, std::string> syncer_broker_urls_;
};

// A request to an api-proxy at `proxy` over HTTPS (certificate not verified) with `api_key`
// as X-API-Key and `body` as JSON.
HttpResponse ProxyRequest(const HostPort& proxy, const std::string& api_key,
                          const std::string& method, const std::string& path,
                          const std::string& body = "");

// A service built and started from its config text `config` exactly as its binary does
// (ConfigReader, LoadServiceConfig, definition's builder, ServiceRunner), except that it gets
// its own bus connection named `name` (reconnecting every 100 ms), a fresh metrics registry,
// a test logger named `name`, and heartbeats reporting a fixed load of 0.5.
struct InProcessService {
  std::unique_ptr<Bus> bus;
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<Service> service;
  std::unique_ptr<ServiceRunner> runner;  // stop it before the service; destroy it before bus
};
StatusOr<InProcessService> StartInProcessService(const ServiceDefinition& definition,
                                                 const std::string& config,
                                                 const std::string& name);

// BusOptions for a client of `nats` (no credentials).
BusOptions TestBusOptions(const NatsServer& nats, const std::string& name);

// What an in-process service built by a test gets (services/common/service_main.h): `bus`, a
// fresh registry, a logger named `name`, the system clock, and the default common config with
// [PowerDNS] pointing at `powerdns`'s API and [Service] ID `id` (default: `name`).
ServiceEnvironment TestServiceEnvironment(const std::string& name, Bus* bus,
                                          const PdnsServer& powerdns, const std::string& id = "");

}  // namespace pdnsd::testing
