#include "support/cluster.h"

#include <prometheus/registry.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "dns/soa_query.h"
#include "model/zone_name.h"

namespace pdnsd::testing {

ServiceEnvironment TestServiceEnvironment(const std::string& name, Bus* bus,
                                          const PdnsServer& powerdns, const std::string& id) {
  ServiceEnvironment environment;
  environment.logger = MakeTestLogger(name);
  environment.registry = std::make_shared<prometheus::Registry>();
  environment.bus = bus;
  environment.common.id = id.empty() ? name : id;
  environment.common.powerdns.url = *ParseHttpUrl(powerdns.api_url());
  environment.common.powerdns.api_key = powerdns.api_key();
  return environment;
}

BusOptions TestBusOptions(const NatsServer& nats, const std::string& name) {
  BusOptions options;
  options.url = nats.url();
  options.name = name;
  options.reconnect_wait = std::chrono::milliseconds(100);
  return options;
}

Cluster::~Cluster() {
  StopHealthChecker();
  for (auto& sender : heartbeats) {
    if (sender) sender->Stop();
  }
  for (auto& syncer : syncers) {
    if (syncer) syncer->Stop();
  }
  if (provider) provider->Stop();
  if (proxy) proxy->Stop();
  syncers.clear();
  provider.reset();
  proxy.reset();
  syncer_buses.clear();
  provider_bus.reset();
  proxy_bus.reset();
  for (auto& syncer : syncer_processes_) {
    if (syncer) syncer->process.Stop();
  }
  for (auto* service : {provider_process_.get(), proxy_process_.get()}) {
    if (service) service->process.Stop();
  }
  heartbeat_subscription_.reset();
  watch_bus_.reset();
}

Status Cluster::Start(const ClusterOptions& options) {
  options_ = options;
  if (Status s = nats.Start(NatsOptions().WithHost(options.host)); !s.ok()) return s;
  PdnsOptions primary_options = PdnsOptions().WithName("primary").Primary().WithHost(options.host);
  for (const auto& line : options.primary_config) primary_options.WithConfig(line);
  if (Status s = primary.Start(primary_options); !s.ok()) return s;
  for (int i = 0; i < options.secondaries; ++i) {
    if (Status s = StartSecondaryPdns(); !s.ok()) return s;
  }
  if (process_mode()) {
    auto bus = Bus::Connect(TestBusOptions(nats, "cluster-watch"), MakeTestLogger("cluster"));
    if (!bus.ok()) return bus.status();
    watch_bus_ = std::move(*bus);
    auto subscription = watch_bus_->Subscribe("heartbeat.>", "", [this](const BusMessage& m) {
      auto heartbeat = DecodeHeartbeat(m.data);
      if (!heartbeat.ok()) return;
      std::lock_guard lock(heartbeats_mutex_);
      boot_ids_[m.subject] = heartbeat->boot_id;
    });
    if (!subscription.ok()) return subscription.status();
    heartbeat_subscription_ = std::move(*subscription);
    if (Status s = watch_bus_->Flush(std::chrono::seconds(5)); !s.ok()) return s;

    proxy_port_ = FreePort(options.host);
    proxy_process_ = std::make_unique<ServiceProcess>();
    *proxy_process_ = {"api-proxy", "pdns-api-proxy", "api-proxy", "", {}};
    const std::string proxy_config =
        "[Service]\nID = \"api-proxy\"\nURL = \"https://" +
        HostPort{options.host, proxy_port_}.ToString() + "\"\nStateDir = \"" +
        state_dir.File("api-proxy-state") + "\"\n" + CommonServiceConfig() +
        "[PowerDNS]\nURL = \"" + primary.api_url() +
        "\"\nWriteConcurrency = " + std::to_string(options.proxy_write_concurrency) + "\n";
    if (Status s = StartServiceProcess(*proxy_process_, proxy_config); !s.ok()) return s;

    provider_process_ = std::make_unique<ServiceProcess>();
    *provider_process_ = {"zone-provider", "pdns-zone-provider", "zone-provider", "", {}};
    const std::string provider_config =
        "[Service]\nID = \"zone-provider\"\n" + CommonServiceConfig() + "[PowerDNS]\nURL = \"" +
        primary.api_url() + "\"\nAPIToken = \"" + primary.api_key() + "\"\nAXFRTimeout = \"" +
        std::to_string(options.axfr_timeout.count()) + "ms\"\nAXFRAddress = \"" +
        primary.dns_address().ToString() + "\"\n";
    if (Status s = StartServiceProcess(*provider_process_, provider_config); !s.ok()) return s;
  } else if (Status s = StartInProcessServices(); !s.ok()) {
    return s;
  }
  for (int i = 0; i < options.secondaries; ++i) {
    if (Status s = StartSyncer(i); !s.ok()) return s;
  }
  if (options.health_checker) {
    if (Status s = StartHealthChecker(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Cluster::StartInProcessServices() {
  auto connect = [&](const std::string& name) -> StatusOr<std::unique_ptr<Bus>> {
    return Bus::Connect(TestBusOptions(nats, name), MakeTestLogger(name));
  };
  auto bus = connect("api-proxy");
  if (!bus.ok()) return bus.status();
  proxy_bus = std::move(*bus);
  ServiceEnvironment proxy_environment =
      TestServiceEnvironment("api-proxy", proxy_bus.get(), primary);
  proxy_registry = proxy_environment.registry;
  ApiProxyConfig proxy_config;
  proxy_config.listen = {options_.host, 0};
  proxy_config.state_dir = state_dir.path();
  proxy_config.write_concurrency = options_.proxy_write_concurrency;
  proxy = std::make_unique<ApiProxy>(proxy_config, proxy_environment);
  if (Status s = proxy->Start(); !s.ok()) return s;

  bus = connect("zone-provider");
  if (!bus.ok()) return bus.status();
  provider_bus = std::move(*bus);
  ServiceEnvironment provider_environment =
      TestServiceEnvironment("zone-provider", provider_bus.get(), primary);
  provider_registry = provider_environment.registry;
  ZoneProviderConfig provider_config;
  provider_config.primary = primary.dns_address();
  provider_config.axfr_timeout = options_.axfr_timeout;
  provider = std::make_unique<ZoneProvider>(provider_config, provider_environment);
  if (Status s = provider->Start(); !s.ok()) return s;
  // Subscriptions are registered at the broker once each connection has flushed.
  for (Bus* b : {proxy_bus.get(), provider_bus.get()}) {
    if (Status s = b->Flush(std::chrono::seconds(5)); !s.ok()) return s;
  }
  return Status::Ok();
}

std::string Cluster::CommonServiceConfig() const {
  return "[ServiceDiscovery]\nHealthPingIntervall = \"" +
         std::to_string(options_.ping_interval.count()) + "ms\"\n[Prometheus]\nAddress = \"" +
         HostPort{options_.host, FreePort(options_.host)}.ToString() +
         "\"\n[MessageBroker]\nURL = \"" + nats.url() + "\"\n";
}

Status Cluster::StartServiceProcess(ServiceProcess& service, const std::string& config) {
  service.config_path = state_dir.File(service.name + ".toml");
  if (Status s = WriteFile(service.config_path, config); !s.ok()) return s;
  const std::string subject = "heartbeat." + service.binary + "." + service.id;
  auto boot_id = [&] {
    std::lock_guard lock(heartbeats_mutex_);
    return boot_ids_[subject];
  };
  const std::string previous = boot_id();
  if (Status s = service.process.Start(
          {options_.service_binaries + "/" + service.binary, "--config", service.config_path},
          state_dir.File(service.name + ".log"));
      !s.ok()) {
    return s;
  }
  const bool ready = WaitFor([&] {
    const std::string now = boot_id();
    return (!now.empty() && now != previous) || !service.process.IsRunning();
  });
  if (!ready || !service.process.IsRunning()) {
    return Status::Unavailable(service.binary + " did not start (no heartbeat on " + subject +
                               "):\n" + service.process.LogTail());
  }
  return Status::Ok();
}

Status Cluster::StartSecondaryPdns() {
  PdnsOptions secondary_options = PdnsOptions()
                                      .WithName("secondary" + std::to_string(secondaries.size()))
                                      .Secondary()
                                      .WithHost(options_.host);
  for (const auto& line : options_.secondary_config) secondary_options.WithConfig(line);
  auto server = std::make_unique<PdnsServer>();
  if (Status s = server->Start(secondary_options); !s.ok()) return s;
  secondaries.push_back(std::move(server));
  return Status::Ok();
}

Status Cluster::StartSyncer(int index) {
  if (static_cast<int>(axfr_ports_.size()) <= index) axfr_ports_.resize(index + 1, 0);
  if (!process_mode()) return StartInProcessSyncer(index);
  if (static_cast<int>(syncer_processes_.size()) <= index) syncer_processes_.resize(index + 1);
  auto& service = syncer_processes_[index];
  if (!service) {
    const std::string id = "secondary-" + std::to_string(index);
    service = std::make_unique<ServiceProcess>();
    service->name = "syncer" + std::to_string(index);
    service->binary = "pdns-secondary-syncer";
    service->id = id;
  }
  // The same endpoint port after a restart: the local PowerDNS's zones point at it.
  if (axfr_ports_[index] == 0) axfr_ports_[index] = FreePort(options_.host);
  const PdnsServer& secondary = *secondaries[index];
  const std::string config = "[Service]\nID = \"" + service->id + "\"\n" + CommonServiceConfig() +
                             "[PowerDNS]\nURL = \"" + secondary.api_url() + "\"\nAPIToken = \"" +
                             secondary.api_key() + "\"\nAXFRTimeout = \"" +
                             std::to_string(options_.axfr_timeout.count()) +
                             "ms\"\nDNSAddress = \"" + secondary.dns_address().ToString() +
                             "\"\nRetryMaxDelay = \"2s\"\n[AXFRPrimary]\nAddress = \"" +
                             HostPort{options_.host, axfr_ports_[index]}.ToString() + "\"\n";
  return StartServiceProcess(*service, config);
}

Status Cluster::StartInProcessSyncer(int index) {
  const std::string name = "syncer" + std::to_string(index);
  if (static_cast<int>(syncers.size()) <= index) {
    syncers.resize(index + 1);
    syncer_buses.resize(index + 1);
    syncer_registries.resize(index + 1);
    heartbeats.resize(index + 1);
  }
  auto bus = Bus::Connect(TestBusOptions(nats, name), MakeTestLogger(name));
  if (!bus.ok()) return bus.status();
  syncer_buses[index] = std::move(*bus);
  const std::string id = "secondary-" + std::to_string(index);
  ServiceEnvironment environment =
      TestServiceEnvironment(name, syncer_buses[index].get(), *secondaries[index], id);
  syncer_registries[index] = environment.registry;
  SecondarySyncerConfig config;
  config.axfr_address = {options_.host, axfr_ports_[index]};
  config.axfr_timeout = options_.axfr_timeout;
  config.retry_max = std::chrono::milliseconds(2000);
  config.local_dns = secondaries[index]->dns_address();
  syncers[index] = std::make_unique<SecondarySyncer>(config, environment);
  if (Status s = syncers[index]->Start(); !s.ok()) return s;
  // The same endpoint port after a restart: the local PowerDNS's zones point at it.
  axfr_ports_[index] = syncers[index]->axfr_address().port;
  if (Status s = syncer_buses[index]->Flush(std::chrono::seconds(5)); !s.ok()) return s;
  Heartbeat heartbeat{id,
                      "pdns-secondary-syncer",
                      "test",
                      {},
                      "localhost",
                      0,
                      NewBootId(),
                      "",
                      secondaries[index]->dns_address().ToString()};
  heartbeats[index] = std::make_unique<HeartbeatSender>(syncer_buses[index].get(), "heartbeat",
                                                        heartbeat, options_.ping_interval,
                                                        MakeTestLogger(name), [] { return 0.5; });
  heartbeats[index]->Start();
  return Status::Ok();
}

void Cluster::StopSyncer(int index) {
  if (process_mode()) {
    syncer_processes_[index]->process.Stop();
    return;
  }
  heartbeats[index].reset();
  if (syncers[index]) syncers[index]->Stop();
  syncers[index].reset();
  syncer_buses[index].reset();
}

Status Cluster::AddSecondary() {
  if (Status s = StartSecondaryPdns(); !s.ok()) return s;
  return StartSyncer(static_cast<int>(secondaries.size()) - 1);
}

Status Cluster::StartHealthChecker() {
  if (!process_mode()) return StartInProcessHealthChecker();
  const HealthCheckerConfig& c = options_.checker;
  auto duration = [](std::chrono::milliseconds value) {
    return "\"" + std::to_string(value.count()) + "ms\"";
  };
  checker_status_port_ = FreePort(options_.host);
  checker_process_ = std::make_unique<ServiceProcess>();
  *checker_process_ = {"health-checker", "pdns-health-checker", "health-checker", "", {}};
  const std::string config =
      "[Service]\nID = \"health-checker\"\nURL = \"http://" +
      HostPort{options_.host, checker_status_port_}.ToString() +
      "\"\nWorkers = " + std::to_string(c.workers) + "\n" + CommonServiceConfig() +
      "[PowerDNS]\nURL = \"" + primary.api_url() + "\"\nAPIToken = \"" + primary.api_key() +
      "\"\nAXFRTimeout = " + duration(c.dns_timeout) + "\nAXFRAddress = \"" +
      primary.dns_address().ToString() +
      "\"\n[HealthChecks]\nEventCheckWaitTime = " + duration(c.event_check_wait) +
      "\nPeriodicalCheckIntervall = " + duration(c.periodic_interval) +
      "\nActiveZoneSecondaryRefreshIntervall = " + duration(c.refresh_interval) +
      "\nNSEC3CheckIntervall = " + duration(c.nsec3_interval) +
      "\nEnsureNSEC3 = " + (c.ensure_nsec3 ? "true" : "false") +
      "\nMassDeletionPercent = " + std::to_string(std::lround(c.mass_deletion_share * 100)) +
      "\nSigningSyncWindow = " + duration(c.signing_window) +
      "\nSignatureExpiryWindow = " + duration(c.signature_expiry) +
      "\nStateRequestTimeout = " + duration(c.state_timeout) + "\n";
  return StartServiceProcess(*checker_process_, config);
}

Status Cluster::StartInProcessHealthChecker() {
  auto bus = Bus::Connect(TestBusOptions(nats, "health-checker"), MakeTestLogger("health-checker"));
  if (!bus.ok()) return bus.status();
  checker_bus = std::move(*bus);
  ServiceEnvironment environment =
      TestServiceEnvironment("health-checker", checker_bus.get(), primary);
  environment.common.ping_interval = options_.ping_interval;
  checker_registry = environment.registry;
  HealthCheckerConfig config = options_.checker;
  config.status_listen = {options_.host, 0};
  config.primary = primary.dns_address();
  checker = std::make_unique<HealthChecker>(config, environment);
  if (Status s = checker->Start(); !s.ok()) return s;
  return checker_bus->Flush(std::chrono::seconds(5));
}

void Cluster::StopHealthChecker() {
  if (checker_process_) checker_process_->process.Stop();
  if (checker) checker->Stop();
  checker.reset();
  checker_bus.reset();
}

std::string Cluster::CheckerStatus() const {
  if (checker) return checker->StatusJson();
  if (!checker_process_) return "";
  return HttpCall("GET",
                  "http://" + HostPort{options_.host, checker_status_port_}.ToString() + "/status")
      .body;
}

std::string Cluster::MetricsUrl(const ServiceProcess& service) {
  auto reader = ConfigReader::Load(service.config_path);
  if (!reader.ok()) return "";
  return "http://" + reader->String("Prometheus", "Address", "") + "/metrics";
}

std::vector<const ServiceProcess*> Cluster::RunningServices() const {
  std::vector<const ServiceProcess*> running;
  auto add = [&](const std::unique_ptr<ServiceProcess>& service) {
    if (service && service->process.pid() > 0) running.push_back(service.get());
  };
  add(proxy_process_);
  add(provider_process_);
  for (const auto& syncer : syncer_processes_) add(syncer);
  add(checker_process_);
  return running;
}

HostPort Cluster::proxy_address() const {
  return proxy ? proxy->address() : HostPort{options_.host, proxy_port_};
}

std::string Cluster::proxy_url() const { return "https://" + proxy_address().ToString(); }

HttpResponse ProxyRequest(const HostPort& proxy, const std::string& api_key,
                          const std::string& method, const std::string& path,
                          const std::string& body) {
  HttpHeaders headers = {{"X-API-Key", api_key}};
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return HttpCall(method, "https://" + proxy.ToString() + path, headers, body,
                  std::chrono::seconds(60));
}

HttpResponse Cluster::Proxy(const std::string& method, const std::string& path,
                            const std::string& body) const {
  return ProxyRequest(proxy_address(), primary.api_key(), method, path, body);
}

std::string Cluster::ZonesPath(const std::string& zone) {
  std::string path = "/api/v1/servers/localhost/zones";
  if (!zone.empty()) path += "/" + ZoneNameToApiId(*NormalizeZoneName(zone));
  return path;
}

std::string Cluster::ZoneBody(const std::string& zone, const std::string& kind, uint32_t serial,
                              const std::string& extra_rrsets, bool dnssec,
                              const std::string& catalog) {
  using nlohmann::json;
  json rrsets = json::parse(extra_rrsets);
  rrsets.push_back({{"name", zone},
                    {"type", "SOA"},
                    {"ttl", 3600},
                    {"changetype", "REPLACE"},
                    {"records",
                     {{{"content", "ns1.example.net. hostmaster.example.net. " +
                                       std::to_string(serial) + " 10800 3600 604800 3600"},
                       {"disabled", false}}}}});
  json body = {{"name", zone},
               {"kind", kind},
               {"nameservers", {"ns1.example.net."}},
               {"soa_edit_api", "INCREASE"},
               {"dnssec", dnssec},
               {"rrsets", rrsets}};
  if (!catalog.empty()) body["catalog"] = catalog;
  return body.dump();
}

std::string Cluster::ARecordPatch(const std::string& name, const std::string& ip) {
  nlohmann::json body = {{"rrsets",
                          {{{"name", name},
                            {"type", "A"},
                            {"ttl", 60},
                            {"changetype", "REPLACE"},
                            {"records", {{{"content", ip}, {"disabled", false}}}}}}}};
  return body.dump();
}

HttpResponse Cluster::CreateZone(const std::string& zone, uint32_t serial,
                                 const std::string& extra_rrsets, bool dnssec) {
  return Proxy("POST", ZonesPath(), ZoneBody(zone, "Native", serial, extra_rrsets, dnssec));
}

HttpResponse Cluster::SetARecord(const std::string& zone, const std::string& name,
                                 const std::string& ip) {
  return Proxy("PATCH", ZonesPath(zone), ARecordPatch(name, ip));
}

uint32_t Cluster::ServedSerial(int index, const std::string& zone) const {
  const HostPort address = index < 0 ? primary.dns_address() : secondaries[index]->dns_address();
  auto serial = QuerySoaSerial(address, *NormalizeZoneName(zone), std::chrono::seconds(2));
  return serial.ok() ? *serial : 0;
}

bool Cluster::SecondaryHasZone(int index, const std::string& zone) const {
  HttpResponse response = secondaries[index]->Api("GET", ZonesPath(zone));
  return response.status == 200;
}

Status Cluster::WaitAllServe(const std::string& zone, uint32_t serial,
                             std::chrono::milliseconds timeout) {
  std::vector<uint32_t> seen(secondaries.size());
  const bool ok = WaitFor(
      [&] {
        bool all = true;
        for (size_t i = 0; i < secondaries.size(); ++i) {
          seen[i] = ServedSerial(static_cast<int>(i), zone);
          all = all && seen[i] == serial;
        }
        return all;
      },
      timeout, std::chrono::milliseconds(10));
  if (ok) return Status::Ok();
  std::string failure = zone + " not served with serial " + std::to_string(serial) + ":";
  for (size_t i = 0; i < seen.size(); ++i) {
    failure += " secondary" + std::to_string(i) + "=" + std::to_string(seen[i]);
  }
  return Status::Timeout(failure);
}

Status Cluster::WaitAllAbsent(const std::string& zone, std::chrono::milliseconds timeout) {
  const bool ok = WaitFor(
      [&] {
        for (size_t i = 0; i < secondaries.size(); ++i) {
          if (SecondaryHasZone(static_cast<int>(i), zone)) return false;
          if (ServedSerial(static_cast<int>(i), zone) != 0) return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(20));
  if (ok) return Status::Ok();
  return Status::Timeout(zone + " is still present on a secondary");
}

}  // namespace pdnsd::testing
