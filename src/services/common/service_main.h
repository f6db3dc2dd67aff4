// RunServiceMain: the whole life of a service process, shared by the thin mains in src/cmd.
//
// Parses --config FILE / --version / --help, loads the config (a bad file: one line naming
// file and key on stderr, exit 2), builds logger, metrics registry and bus, lets `build`
// construct the service, claims its ID when unique_id, starts it and the metrics endpoint,
// waits for SIGTERM/SIGINT, stops everything (within a second) and returns 0. A service that
// cannot start (a port in use, its ID taken) returns 1.
//
// Its two halves are reusable, so that the test harness (tests/support/cluster.h) wires a
// service exactly as its binary does, with its own bus, registry, logger and clock:
// LoadServiceConfig (config text -> common config and builder) and ServiceRunner (claim,
// metrics endpoint, start, heartbeats).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bus/bus.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/status.h"
#include "services/common/service_config.h"

namespace prometheus {
class Registry;
}

namespace pdnsd {

class HeartbeatSender;
class InstanceClaim;
class MetricsServer;

// A running service as main() sees it.
class Service {
 public:
  virtual ~Service() = default;
  virtual Status Start() = 0;
  // Stops accepting work, finishes or abandons in-flight work, joins threads. Idempotent.
  virtual void Stop() = 0;
};

// What a service is given besides its own config: the process's logger, metrics registry,
// bus connection and clock, and the common config (service_config.h), read once for all
// services. Everything a service reaches outside itself comes through here, so a test builds
// the same service with a SimulatedClock (tests/support/simulated_clock.h) or its own bus.
// The registry, the bus and the clock must outlive the service (the service keeps references).
struct ServiceEnvironment {
  Logger logger;
  std::shared_ptr<prometheus::Registry> registry;
  Bus* bus = nullptr;
  Clock* clock = &SystemClock();
  CommonConfig common;
};

using ServiceBuilder =
    std::function<StatusOr<std::unique_ptr<Service>>(const ServiceEnvironment& environment)>;

struct ServiceDefinition {
  std::string name;     // "pdns-api-proxy"
  std::string summary;  // one line for --help
  // Reads the service's own keys from `reader` (the common ones are in `common` already);
  // problems go into reader.Fail(). Returns the builder that makes the service once logger,
  // registry and bus exist.
  std::function<ServiceBuilder(ConfigReader& reader, const CommonConfig& common)> configure;
  // Only one instance may run with a given [Service] ID (secondary-syncers): a second one is
  // refused at start with exit 1, and one seen later in heartbeats is logged and counted in
  // <prefix>_duplicate_id_heartbeats_total (discovery/instance_claim.h).
  bool unique_id = false;
};

// The definition of a service class `ServiceT` built as ServiceT(config, environment) from the
// `Config` that `read` takes from the file: all a main has to say about its service.
template <typename ServiceT, typename Config>
ServiceDefinition DefineService(std::string name, std::string summary,
                                Config (*read)(ConfigReader& reader, const CommonConfig& common),
                                bool unique_id = false) {
  ServiceDefinition definition;
  definition.name = std::move(name);
  definition.summary = std::move(summary);
  definition.unique_id = unique_id;
  definition.configure = [read](ConfigReader& reader,
                                const CommonConfig& common) -> ServiceBuilder {
    return [config = read(reader, common)](
               const ServiceEnvironment& env) -> StatusOr<std::unique_ptr<Service>> {
      return std::unique_ptr<Service>(std::make_unique<ServiceT>(config, env));
    };
  };
  return definition;
}

// A service's config as read from its file: the common part and the builder of the service.
struct LoadedServiceConfig {
  CommonConfig common;
  ServiceBuilder build;
  std::vector<std::string> warnings;  // keys nobody read (ConfigReader::Warnings)
};

// Reads the common config (ReadCommonConfig) and the service's own keys
// (definition.configure) from `reader`. InvalidArgument with the reader's message (file and
// key) when a key is missing or bad.
StatusOr<LoadedServiceConfig> LoadServiceConfig(const ServiceDefinition& definition,
                                                ConfigReader& reader);

// What runs around a built service in its process: the claim on its [Service] ID (when
// definition.unique_id), the metrics endpoint ([Prometheus] Address, none when ""), the
// service's Start(), then heartbeats every [ServiceDiscovery] HealthPingIntervall.
class ServiceRunner {
 public:
  // Starts all of that for `service` with `environment` (its bus, registry and common config).
  // The heartbeats report `host_load` (empty: the host's load average; a test pins it, as a
  // load above 10 makes a secondary "warning"). On failure (ID taken, a port in use, Start()
  // failed) stops what it started and returns the problem; the caller still owns `service`.
  static StatusOr<std::unique_ptr<ServiceRunner>> Start(const ServiceDefinition& definition,
                                                        const ServiceEnvironment& environment,
                                                        Service& service,
                                                        std::function<double()> host_load = {});
  // Stop(), then stops the metrics endpoint and releases the claim: destroy it after the
  // service stopped (the order of docs/architecture.md, "Shutdown").
  ~ServiceRunner();
  ServiceRunner(const ServiceRunner&) = delete;
  ServiceRunner& operator=(const ServiceRunner&) = delete;

  // Stops the heartbeats, so that none says the service is alive while its owner stops it;
  // never touches the service. Idempotent.
  void Stop();

 private:
  ServiceRunner() = default;

  std::unique_ptr<InstanceClaim> claim_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<HeartbeatSender> heartbeats_;
};

int RunServiceMain(int argc, char** argv, const ServiceDefinition& definition);

}  // namespace pdnsd
