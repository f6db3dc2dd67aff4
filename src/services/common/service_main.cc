#include "services/common/service_main.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#include "core/metrics.h"
#include "core/runtime.h"
#include "discovery/heartbeat.h"
#include "discovery/instance_claim.h"

#ifndef PDNSD_VERSION
#define PDNSD_VERSION "0.0.0"
#endif

namespace pdnsd {
namespace {

constexpr int kExitConfigError = 2;

void PrintHelp(const ServiceDefinition& definition, const std::string& default_config) {
  std::cout << definition.name << " " << PDNSD_VERSION << " - " << definition.summary << "\n\n"
            << "Usage: " << definition.name << " [--config FILE]\n\n"
            << "Options:\n"
            << "  --config FILE  TOML configuration (default " << default_config << ")\n"
            << "  --version      print the version and exit\n"
            << "  --help         print this help and exit\n\n"
            << "Keys of the configuration file: docs/configuration.md\n";
}

// The original's metric prefix of a service: "pdns-secondary-syncer" -> "secondarysyncer".
std::string MetricPrefix(const std::string& service_name) {
  std::string prefix;
  const std::string name =
      service_name.rfind("pdns-", 0) == 0 ? service_name.substr(5) : service_name;
  for (char c : name) {
    if (c != '-') prefix += c;
  }
  return prefix;
}

}  // namespace

StatusOr<LoadedServiceConfig> LoadServiceConfig(const ServiceDefinition& definition,
                                                ConfigReader& reader) {
  LoadedServiceConfig loaded;
  loaded.common = ReadCommonConfig(reader, definition.name);
  loaded.build = definition.configure(reader, loaded.common);
  if (!reader.status().ok()) return Status::InvalidArgument(reader.status().message());
  loaded.warnings = reader.Warnings();
  return loaded;
}

StatusOr<std::unique_ptr<ServiceRunner>> ServiceRunner::Start(const ServiceDefinition& definition,
                                                              const ServiceEnvironment& environment,
                                                              Service& service,
                                                              std::function<double()> host_load) {
  const CommonConfig& common = environment.common;
  std::unique_ptr<ServiceRunner> runner(new ServiceRunner());
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  Heartbeat heartbeat{
      common.id, definition.name,      PDNSD_VERSION, common.tags, host, 0, NewBootId(),
      "",        common.advertised_dns};
  if (definition.unique_id) {
    prometheus::Counter& collisions = AddCounter(
        *environment.registry, MetricPrefix(definition.name) + "_duplicate_id_heartbeats_total",
        "Heartbeats of another instance with this instance's [Service] ID");
    runner->claim_ = std::make_unique<InstanceClaim>(environment.bus, common.heartbeat_prefix,
                                                     heartbeat, &collisions, environment.logger);
    if (Status s = runner->claim_->Claim(); !s.ok()) {
      return Status(s.code(), "cannot start: " + s.message());
    }
  }
  if (!common.prometheus_address.empty()) {
    std::string address = common.prometheus_address;
    if (address.front() == ':') address = "0.0.0.0" + address;
    runner->metrics_ = std::make_unique<MetricsServer>(*ParseHostPort(address),
                                                       environment.registry, environment.logger);
    if (Status s = runner->metrics_->Start(); !s.ok()) return s;
  }
  if (!host_load) host_load = HostLoadAverage;
  runner->heartbeats_ =
      std::make_unique<HeartbeatSender>(environment.bus, common.heartbeat_prefix, heartbeat,
                                        common.ping_interval, environment.logger, host_load);
  if (Status s = service.Start(); !s.ok()) {
    service.Stop();
    return Status(s.code(), "cannot start: " + s.message());
  }
  runner->heartbeats_->Start();
  return runner;
}

ServiceRunner::~ServiceRunner() {
  Stop();
  if (metrics_) metrics_->Stop();
}

void ServiceRunner::Stop() {
  if (heartbeats_) heartbeats_->Stop();
}

int RunServiceMain(int argc, char** argv, const ServiceDefinition& definition) {
  BlockTerminationSignals();
  std::string config_path = "/etc/" + definition.name + "/config.toml";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintHelp(definition, config_path);
      return 0;
    }
    if (arg == "--version") {
      std::cout << definition.name << " " << PDNSD_VERSION << "\n";
      return 0;
    }
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(std::strlen("--config="));
    } else {
      std::cerr << definition.name << ": unknown argument \"" << arg << "\" (see --help)\n";
      return kExitConfigError;
    }
  }

  auto reader = ConfigReader::Load(config_path);
  if (!reader.ok()) {
    std::cerr << definition.name << ": " << reader.status().message() << "\n";
    return kExitConfigError;
  }
  auto loaded = LoadServiceConfig(definition, *reader);
  if (!loaded.ok()) {
    std::cerr << definition.name << ": " << loaded.status().message() << "\n";
    return kExitConfigError;
  }
  const CommonConfig& common = loaded->common;

  Logger logger = MakeLogger(common.log);
  logger->info("{} {} starting with {}", definition.name, PDNSD_VERSION, config_path);
  for (const std::string& warning : loaded->warnings) logger->warn("{}", warning);
  int exit_code = 0;
  {
    auto registry = std::make_shared<prometheus::Registry>();
    prometheus::Counter& stray_deliveries = AddCounter(
        *registry, MetricPrefix(definition.name) + "_broker_stray_deliveries_total",
        "JetStream deliveries into this service's core subscriptions, dropped (a consumer made "
        "by someone else delivers into them; docs/security.md)");
    auto bus =
        Bus::Connect(common.broker, logger, nullptr,
                     [&stray_deliveries](const std::string&) { stray_deliveries.Increment(); });
    if (!bus.ok()) {
      logger->critical("{}", bus.status().message());
      // Options nats.c rejects are config errors; a broker that refused us (credentials, TLS
      // on one side only) means the service cannot start.
      return bus.status().code() == StatusCode::kInvalidArgument ? kExitConfigError : 1;
    }
    ServiceEnvironment environment;
    environment.logger = logger;
    environment.registry = registry;
    environment.bus = bus->get();
    environment.common = common;
    auto service = loaded->build(environment);
    if (!service.ok()) {
      logger->critical("{}", service.status().message());
      return 1;
    }
    auto runner = ServiceRunner::Start(definition, environment, **service);
    if (!runner.ok()) {
      logger->critical("{}", runner.status().message());
      exit_code = 1;
    } else {
      const int signal_number = WaitForTerminationSignal();
      logger->info("received signal {} ({}); stopping", signal_number, strsignal(signal_number));
      (*runner)->Stop();
      (**service).Stop();
      runner->reset();
    }
    service->reset();
  }
  ShutdownBusLibrary();
  logger->info("stopped");
  return exit_code;
}

}  // namespace pdnsd
