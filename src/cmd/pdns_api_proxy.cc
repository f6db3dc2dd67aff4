// pdns-api-proxy: HTTPS proxy in front of the primary's PowerDNS API; publishes zone events.
#include <prometheus/registry.h>

#include "services/api_proxy/api_proxy.h"

int main(int argc, char** argv) {
  pdnsd::ServiceDefinition definition;
  definition.name = "pdns-api-proxy";
  definition.summary = "HTTPS proxy for the primary's PowerDNS API that publishes zone events";
  definition.configure = [](pdnsd::ConfigReader& reader) -> pdnsd::ServiceBuilder {
    pdnsd::ApiProxyConfig config = pdnsd::ReadApiProxyConfig(reader);
    return [config](const pdnsd::ServiceEnvironment& env)
               -> pdnsd::StatusOr<std::unique_ptr<pdnsd::Service>> {
      return std::unique_ptr<pdnsd::Service>(
          new pdnsd::ApiProxy(config, env.bus, *env.registry, env.logger));
    };
  };
  return pdnsd::RunServiceMain(argc, argv, definition);
}
