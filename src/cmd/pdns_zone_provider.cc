// pdns-zone-provider: serves zone data from the primary (AXFR) to the secondary-syncers.
#include <prometheus/registry.h>

#include "services/zone_provider/zone_provider.h"

int main(int argc, char** argv) {
  pdnsd::ServiceDefinition definition;
  definition.name = "pdns-zone-provider";
  definition.summary = "serves the primary's zones (by AXFR) to secondary-syncers over NATS";
  definition.configure = [](pdnsd::ConfigReader& reader) -> pdnsd::ServiceBuilder {
    pdnsd::ZoneProviderConfig config = pdnsd::ReadZoneProviderConfig(reader);
    return [config](const pdnsd::ServiceEnvironment& env)
               -> pdnsd::StatusOr<std::unique_ptr<pdnsd::Service>> {
      return std::unique_ptr<pdnsd::Service>(
          new pdnsd::ZoneProvider(config, env.bus, *env.registry, env.logger));
    };
  };
  return pdnsd::RunServiceMain(argc, argv, definition);
}
