// pdns-health-checker: finds out-of-sync secondaries and makes their syncers repair them.
#include <prometheus/registry.h>

#include "services/health_checker/health_checker.h"

int main(int argc, char** argv) {
  pdnsd::ServiceDefinition definition;
  definition.name = "pdns-health-checker";
  definition.summary = "compares every secondary with the primary and triggers repairs";
  definition.configure = [](pdnsd::ConfigReader& reader) -> pdnsd::ServiceBuilder {
    pdnsd::HealthCheckerConfig config = pdnsd::ReadHealthCheckerConfig(reader);
    return [config](const pdnsd::ServiceEnvironment& env)
               -> pdnsd::StatusOr<std::unique_ptr<pdnsd::Service>> {
      return std::unique_ptr<pdnsd::Service>(
          new pdnsd::HealthChecker(config, env.bus, *env.registry, env.logger));
    };
  };
  return pdnsd::RunServiceMain(argc, argv, definition);
}
