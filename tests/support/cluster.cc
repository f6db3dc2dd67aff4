#include "support/cluster.h"

#include "support/shipped_broker.h"

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

StatusOr<InProcessService> StartInProcessService(const ServiceDefinition& definition,
                                                 const std::string& config,
                                                 const std::string& name) {
  auto reader = ConfigReader::Parse(config, name + ".toml");
  if (!reader.ok()) return reader.status();
  auto loaded = LoadServiceConfig(definition, *reader);
  if (!loaded.ok()) return loaded.status();
  BusOptions broker = loaded->common.broker;
  broker.name = name;
  broker.reconnect_wait = std::chrono::milliseconds(100);
  InProcessService started;
  auto bus = Bus::Connect(broker, MakeTestLogger(name));
  if (!bus.ok()) return bus.status();
  started.bus = std::move(*bus);
  ServiceEnvironment environment;
  environment.logger = MakeTestLogger(name);
  environment.registry = started.registry = std::make_shared<prometheus::Registry>();
  environment.bus = started.bus.get();
  environment.common = loaded->common;
  auto service = loaded->build(environment);
  if (!service.ok()) return service.status();
  started.service = std::move(*service);
  // A fixed load: the host's (other tests, sanitizers) could make a secondary "warning".
  auto runner = ServiceRunner::Start(definition, environment, *started.service, [] { return 0.5; });
  if (!runner.ok()) return runner.status();
  started.runner = std::move(*runner);
  // Subscriptions are registered at the broker once the connection has flushed.
  if (Status s = started.bus->Flush(std::chrono::seconds(5)); !s.ok()) return s;
  return started;
}

namespace {

// Takes the service of `started` as the ServiceT its definition builds.
template <typename ServiceT>
Status Adopt(InProcessService& started, std::unique_ptr<Bus>& bus,
             std::shared_ptr<prometheus::Registry>& registry, std::unique_ptr<ServiceT>& service,
             std::unique_ptr<ServiceRunner>& runner) {
  auto* typed = dynamic_cast<ServiceT*>(started.service.get());
  if (typed == nullptr) return Status::Internal("the definition built another service type");
  started.service.release();
  service.reset(typed);
  bus = std::move(started.bus);
  registry = std::move(started.registry);
  runner = std::move(started.runner);
  return Status::Ok();
}

}  // namespace

Cluster::~Cluster() {
  StopHealthChecker();
  for (auto& runner : syncer_runners_) {
    if (runner) runner->Stop();
  }
  for (auto* runner : {provider_runner_.get(), proxy_runner_.get()}) {
    if (runner) runner->Stop();
  }
  for (auto& syncer : syncers) {
    if (syncer) syncer->Stop();
  }
  if (provider) provider->Stop();
  if (proxy) proxy->Stop();
  syncers.clear();
  provider.reset();
  proxy.reset();
  syncer_runners_.clear();
  provider_runner_.reset();
  proxy_runner_.reset();
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

std::string Cluster::nats_urls() const {
  return options_.nats_nodes > 1 ? nats_cluster.urls() : nats.url();
}

uint16_t Cluster::ListenPort() const { return process_mode() ? FreePort(options_.host) : 0; }

namespace {

// The shipped broker config's user of the service with [Service] ID `id` in a Cluster.
std::string ShippedUserOf(const std::string& id) {
  if (id == "api-proxy") return "proxy";
  if (id == "zone-provider") return "provider";
  if (id == "health-checker") return "checker";
  return "syncer-" + id;
}

}  // namespace

std::string Cluster::broker_ca_dir() const {
  return options_.shipped_broker ? state_dir.File("broker-ca") : "";
}

ServiceConfigParameters Cluster::CommonParameters(const std::string& id) const {
  ServiceConfigParameters parameters;
  parameters.id = id;
  parameters.nats_url = nats_urls();
  if (options_.shipped_broker) {
    const BusOptions user = ShippedBrokerUser(nats, ShippedUserOf(id), broker_ca_dir());
    parameters.nats_url = user.url;
    parameters.nats_username = user.username;
    parameters.nats_password = user.password;
    parameters.extra.push_back({"MessageBroker", "TLSCAFile", TomlString(user.tls_ca_file)});
    parameters.extra.push_back({"MessageBroker", "TLSHostname", TomlString(user.tls_hostname)});
  }
  if (options_.nats_nodes > 1) parameters.extra.push_back({"JetStream", "Replicas", "3"});
  parameters.ping_interval = options_.ping_interval;
  parameters.axfr_timeout = options_.axfr_timeout;
  // In-process tests read the registries directly; the processes serve them for the bench.
  if (process_mode()) parameters.metrics = HostPort{options_.host, ListenPort()}.ToString();
  return parameters;
}

Status Cluster::StartBroker() {
  NatsOptions broker = NatsOptions().WithHost(options_.host).WithJetStream(options_.jetstream);
  if (options_.shipped_broker) {
    if (Status s = MakeTestCa(broker_ca_dir()); !s.ok()) return s;
    // Users for the syncers AddSecondary() may add too.
    std::vector<std::string> ids;
    for (int i = 0; i < options_.secondaries + 2; ++i)
      ids.push_back("secondary-" + std::to_string(i));
    auto config = ShippedBrokerConfig(ids, broker_ca_dir());
    if (!config.ok()) return config.status();
    broker.WithConfig(*config);
  }
  return nats.Start(broker);
}

Status Cluster::Start(const ClusterOptions& options) {
  options_ = options;
  if (options.shipped_broker && options.nats_nodes > 1) {
    return Status::InvalidArgument("shipped_broker needs nats_nodes == 1");
  }
  const Status broker =
      options.nats_nodes > 1
          ? nats_cluster.Start(NatsClusterOptions()
                                   .WithNodes(static_cast<size_t>(options.nats_nodes))
                                   .WithHost(options.host))
          : StartBroker();
  if (!broker.ok()) return broker;
  PdnsOptions primary_options = PdnsOptions().WithName("primary").Primary().WithHost(options.host);
  for (const auto& line : options.primary_config) primary_options.WithConfig(line);
  if (options.primary_gpgsql) primary_options.WithGpgsql(*options.primary_gpgsql);
  if (Status s = primary.Start(primary_options); !s.ok()) return s;
  for (int i = 0; i < options.secondaries; ++i) {
    if (Status s = StartSecondaryPdns(); !s.ok()) return s;
  }
  if (process_mode()) {
    BusOptions watch = options.shipped_broker ? ShippedBrokerUser(nats, "checker", broker_ca_dir())
                                              : TestBusOptions(nats, "cluster-watch");
    if (!options.shipped_broker) watch.url = nats_urls();
    auto bus = Bus::Connect(watch, MakeTestLogger("cluster"));
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
  }

  proxy_port_ = ListenPort();
  ServiceConfigParameters proxy_parameters = CommonParameters("api-proxy");
  proxy_parameters.listen = HostPort{options.host, proxy_port_}.ToString();
  proxy_parameters.state_dir = state_dir.File("api-proxy-state");
  proxy_parameters.powerdns_url = primary.api_url();
  proxy_parameters.extra.push_back(
      {"PowerDNS", "WriteConcurrency", std::to_string(options.proxy_write_concurrency)});
  auto proxy_config = RenderServiceConfig("pdns-api-proxy", proxy_parameters);
  if (!proxy_config.ok()) return proxy_config.status();
  if (process_mode()) {
    proxy_process_ = std::make_unique<ServiceProcess>();
    *proxy_process_ = {"api-proxy", "pdns-api-proxy", "api-proxy", "", {}};
    if (Status s = StartServiceProcess(*proxy_process_, *proxy_config); !s.ok()) return s;
  } else {
    auto started = StartInProcessService(ApiProxyDefinition(), *proxy_config, "api-proxy");
    if (!started.ok()) return started.status();
    if (Status s = Adopt(*started, proxy_bus, proxy_registry, proxy, proxy_runner_); !s.ok()) {
      return s;
    }
  }

  ServiceConfigParameters provider_parameters = CommonParameters("zone-provider");
  provider_parameters.powerdns_url = primary.api_url();
  provider_parameters.powerdns_api_key = primary.api_key();
  provider_parameters.powerdns_dns = primary.dns_address().ToString();
  auto provider_config = RenderServiceConfig("pdns-zone-provider", provider_parameters);
  if (!provider_config.ok()) return provider_config.status();
  if (process_mode()) {
    provider_process_ = std::make_unique<ServiceProcess>();
    *provider_process_ = {"zone-provider", "pdns-zone-provider", "zone-provider", "", {}};
    if (Status s = StartServiceProcess(*provider_process_, *provider_config); !s.ok()) return s;
  } else {
    auto started =
        StartInProcessService(ZoneProviderDefinition(), *provider_config, "zone-provider");
    if (!started.ok()) return started.status();
    if (Status s = Adopt(*started, provider_bus, provider_registry, provider, provider_runner_);
        !s.ok()) {
      return s;
    }
  }

  for (int i = 0; i < options.secondaries; ++i) {
    if (Status s = StartSyncer(i); !s.ok()) return s;
  }
  if (options.health_checker) {
    if (Status s = StartHealthChecker(); !s.ok()) return s;
  }
  return Status::Ok();
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
  const size_t size = static_cast<size_t>(index) + 1;
  if (axfr_ports_.size() < size) axfr_ports_.resize(size, 0);
  const std::string name = "syncer" + std::to_string(index);
  const std::string id = "secondary-" + std::to_string(index);
  // The same endpoint port after a restart: the local PowerDNS's zones point at it.
  if (axfr_ports_[index] == 0) axfr_ports_[index] = ListenPort();
  const PdnsServer& secondary = *secondaries[index];
  ServiceConfigParameters parameters = CommonParameters(id);
  if (auto url = syncer_broker_urls_.find(index); url != syncer_broker_urls_.end()) {
    parameters.nats_url = url->second;
  }
  parameters.listen = HostPort{options_.host, axfr_ports_[index]}.ToString();
  parameters.powerdns_url = secondary.api_url();
  parameters.powerdns_api_key = secondary.api_key();
  parameters.powerdns_dns = secondary.dns_address().ToString();
  if (options_.syncer_retry_max.count() > 0) {
    parameters.extra.push_back(
        {"PowerDNS", "RetryMaxDelay", TomlDuration(options_.syncer_retry_max)});
  }
  parameters.extra.insert(parameters.extra.end(), options_.syncer_config.begin(),
                          options_.syncer_config.end());
  auto config = RenderServiceConfig("pdns-secondary-syncer", parameters);
  if (!config.ok()) return config.status();

  if (process_mode()) {
    if (syncer_processes_.size() < size) syncer_processes_.resize(size);
    auto& service = syncer_processes_[index];
    if (!service) {
      service = std::make_unique<ServiceProcess>();
      service->name = name;
      service->binary = "pdns-secondary-syncer";
      service->id = id;
    }
    return StartServiceProcess(*service, *config);
  }
  if (syncers.size() < size) {
    syncers.resize(size);
    syncer_buses.resize(size);
    syncer_registries.resize(size);
    syncer_runners_.resize(size);
  }
  auto started = StartInProcessService(SecondarySyncerDefinition(), *config, name);
  if (!started.ok()) return started.status();
  if (Status s = Adopt(*started, syncer_buses[index], syncer_registries[index], syncers[index],
                       syncer_runners_[index]);
      !s.ok()) {
    return s;
  }
  axfr_ports_[index] = syncers[index]->axfr_address().port;
  return Status::Ok();
}

void Cluster::StopSyncer(int index) {
  if (process_mode()) {
    syncer_processes_[index]->process.Stop();
    return;
  }
  if (syncer_runners_[index]) syncer_runners_[index]->Stop();
  if (syncers[index]) syncers[index]->Stop();
  syncers[index].reset();
  syncer_runners_[index].reset();
  syncer_buses[index].reset();
}

void Cluster::SetSyncerBrokerUrl(int index, std::string url) {
  syncer_broker_urls_[index] = std::move(url);
}

ServiceProcess* Cluster::FindServiceProcess(const std::string& name) {
  for (auto* service : {proxy_process_.get(), provider_process_.get(), checker_process_.get()}) {
    if (service != nullptr && service->name == name) return service;
  }
  for (auto& syncer : syncer_processes_) {
    if (syncer && syncer->name == name) return syncer.get();
  }
  return nullptr;
}

Status Cluster::RestartServiceProcess(const std::string& name) {
  ServiceProcess* service = FindServiceProcess(name);
  if (service == nullptr) return Status::NotFound("no service process " + name);
  if (service->process.IsRunning()) return Status::Ok();
  const std::string config = ReadFile(service->config_path);
  if (config.empty()) return Status::NotFound("cannot read " + service->config_path);
  return StartServiceProcess(*service, config);
}

Status Cluster::AddSecondary() {
  if (Status s = StartSecondaryPdns(); !s.ok()) return s;
  return StartSyncer(static_cast<int>(secondaries.size()) - 1);
}

Status Cluster::StartHealthChecker() {
  const HealthCheckerConfig& c = options_.checker;
  checker_status_port_ = ListenPort();
  ServiceConfigParameters parameters = CommonParameters("health-checker");
  parameters.listen = HostPort{options_.host, checker_status_port_}.ToString();
  parameters.powerdns_url = primary.api_url();
  parameters.powerdns_api_key = primary.api_key();
  parameters.powerdns_dns = primary.dns_address().ToString();
  parameters.axfr_timeout = c.dns_timeout;
  parameters.extra.insert(
      parameters.extra.end(),
      {{"Service", "Workers", std::to_string(c.workers)},
       {"HealthChecks", "EventCheckWaitTime", TomlDuration(c.event_check_wait)},
       {"HealthChecks", "PeriodicalCheckIntervall", TomlDuration(c.periodic_interval)},
       {"HealthChecks", "ActiveZoneSecondaryRefreshIntervall", TomlDuration(c.refresh_interval)},
       {"HealthChecks", "NSEC3CheckIntervall", TomlDuration(c.nsec3_interval)},
       {"HealthChecks", "EnsureNSEC3", c.ensure_nsec3 ? "true" : "false"},
       {"HealthChecks", "MassDeletionPercent",
        std::to_string(std::lround(c.mass_deletion_share * 100))},
       {"HealthChecks", "SigningSyncWindow", TomlDuration(c.signing_window)},
       {"HealthChecks", "SignatureExpiryWindow", TomlDuration(c.signature_expiry)},
       {"HealthChecks", "StateRequestTimeout", TomlDuration(c.state_timeout)}});
  auto config = RenderServiceConfig("pdns-health-checker", parameters);
  if (!config.ok()) return config.status();
  if (process_mode()) {
    checker_process_ = std::make_unique<ServiceProcess>();
    *checker_process_ = {"health-checker", "pdns-health-checker", "health-checker", "", {}};
    return StartServiceProcess(*checker_process_, *config);
  }
  auto started = StartInProcessService(HealthCheckerDefinition(), *config, "health-checker");
  if (!started.ok()) return started.status();
  return Adopt(*started, checker_bus, checker_registry, checker, checker_runner_);
}

void Cluster::StopHealthChecker() {
  if (checker_process_) checker_process_->process.Stop();
  if (checker_runner_) checker_runner_->Stop();
  if (checker) checker->Stop();
  checker.reset();
  checker_runner_.reset();
  checker_bus.reset();
}

std::string Cluster::CheckerStatus() const {
  if (checker) return checker->StatusJson();
  if (!checker_process_) return "";
  return HttpCall("GET", CheckerUrl() + "/status").body;
}

std::string Cluster::CheckerUrl() const {
  if (checker) return "http://" + checker->status_address().ToString();
  if (!checker_process_) return "";
  return "http://" + HostPort{options_.host, checker_status_port_}.ToString();
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
