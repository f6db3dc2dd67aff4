// pdns-secondary-syncer: keeps the local PowerDNS secondary in sync with the primary.
#include <prometheus/registry.h>

#include "services/secondary_syncer/secondary_syncer.h"

int main(int argc, char** argv) {
  pdnsd::ServiceDefinition definition;
  definition.name = "pdns-secondary-syncer";
  definition.summary = "keeps the local PowerDNS secondary in sync with the primary";
  definition.unique_id = true;  // the ID names the secondary: one syncer per ID
  definition.configure = [](pdnsd::ConfigReader& reader) -> pdnsd::ServiceBuilder {
    pdnsd::SecondarySyncerConfig config = pdnsd::ReadSecondarySyncerConfig(reader);
    return [config](const pdnsd::ServiceEnvironment& env)
               -> pdnsd::StatusOr<std::unique_ptr<pdnsd::Service>> {
      return std::unique_ptr<pdnsd::Service>(
          new pdnsd::SecondarySyncer(config, env.bus, *env.registry, env.logger));
    };
  };
  return pdnsd::RunServiceMain(argc, argv, definition);
}
