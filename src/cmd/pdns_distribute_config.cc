// pdns-distribute-config: prints a service's TOML config rendered from a few parameters
// (services/common/config_template.h), so that scripts (scripts/demo) write their configs
// from the same template as the test harness.
//
//   pdns-distribute-config SERVICE [--id ID] [--listen HOST:PORT] [--state-dir DIR]
//       [--nats-url URL] [--nats-username USER] [--nats-password PASSWORD]
//       [--powerdns-url URL] [--powerdns-api-key KEY] [--powerdns-dns HOST:PORT]
//       [--metrics HOST:PORT] [--ping-interval DURATION] [--axfr-timeout DURATION] [--debug]
//       [--set Section.Key=TOML-VALUE]...
//
// Exit 0 with the config on stdout; 2 with one line on stderr for a bad argument.
#include <iostream>
#include <map>
#include <string>

#include "core/config.h"
#include "services/common/config_template.h"

namespace {

int Usage(const std::string& problem) {
  std::cerr << "pdns-distribute-config: " << problem
            << " (usage: pdns-distribute-config SERVICE [--KEY VALUE]... [--set "
               "Section.Key=VALUE]...; see src/cmd/pdns_distribute_config.cc)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("no service named");
  const std::string service = argv[1];
  pdnsd::ServiceConfigParameters parameters;
  const std::map<std::string, std::string*> strings = {
      {"--id", &parameters.id},
      {"--listen", &parameters.listen},
      {"--state-dir", &parameters.state_dir},
      {"--nats-url", &parameters.nats_url},
      {"--nats-username", &parameters.nats_username},
      {"--nats-password", &parameters.nats_password},
      {"--powerdns-url", &parameters.powerdns_url},
      {"--powerdns-api-key", &parameters.powerdns_api_key},
      {"--powerdns-dns", &parameters.powerdns_dns},
      {"--metrics", &parameters.metrics}};
  const std::map<std::string, std::chrono::milliseconds*> durations = {
      {"--ping-interval", &parameters.ping_interval}, {"--axfr-timeout", &parameters.axfr_timeout}};
  for (int i = 2; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--debug") {
      parameters.debug = true;
      continue;
    }
    if (i + 1 >= argc) return Usage("missing value after " + option);
    const std::string value = argv[++i];
    if (auto it = strings.find(option); it != strings.end()) {
      *it->second = value;
    } else if (auto d = durations.find(option); d != durations.end()) {
      auto parsed = pdnsd::ParseDuration(value);
      if (!parsed.ok()) return Usage(option + ": " + parsed.status().message());
      *d->second = *parsed;
    } else if (option == "--set") {
      const size_t dot = value.find('.');
      const size_t equals = value.find('=');
      if (dot == std::string::npos || equals == std::string::npos || dot > equals) {
        return Usage("--set wants Section.Key=VALUE, not \"" + value + "\"");
      }
      parameters.extra.push_back({value.substr(0, dot), value.substr(dot + 1, equals - dot - 1),
                                  value.substr(equals + 1)});
    } else {
      return Usage("unknown option " + option);
    }
  }
  auto config = pdnsd::RenderServiceConfig(service, parameters);
  if (!config.ok()) return Usage(config.status().message());
  std::cout << *config;
  return 0;
}
