#include "services/common/config_template.h"

#include <cstdio>
#include <utility>

namespace pdnsd {
namespace {

// Sections and keys in the order they were first set; Set() replaces a key's value in place.
class TomlDocument {
 public:
  void Set(const std::string& section, const std::string& key, std::string value) {
    auto& keys = SectionNamed(section);
    for (auto& [name, existing] : keys) {
      if (name == key) {
        existing = std::move(value);
        return;
      }
    }
    keys.emplace_back(key, std::move(value));
  }
  // Sets the key when `value` is not empty; `value` is plain text, rendered as a TOML string.
  void SetString(const std::string& section, const std::string& key, const std::string& value) {
    if (!value.empty()) Set(section, key, TomlString(value));
  }
  void SetDuration(const std::string& section, const std::string& key,
                   std::chrono::milliseconds value) {
    if (value.count() > 0) Set(section, key, TomlDuration(value));
  }

  std::string Render() const {
    std::string text;
    for (const auto& [section, keys] : sections_) {
      text += "[" + section + "]\n";
      for (const auto& [key, value] : keys) text += key + " = " + value + "\n";
    }
    return text;
  }

 private:
  using Keys = std::vector<std::pair<std::string, std::string>>;
  Keys& SectionNamed(const std::string& section) {
    for (auto& [name, keys] : sections_) {
      if (name == section) return keys;
    }
    sections_.emplace_back(section, Keys{});
    return sections_.back().second;
  }

  std::vector<std::pair<std::string, Keys>> sections_;
};

}  // namespace

std::string TomlString(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      quoted += escaped;
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

std::string TomlDuration(std::chrono::milliseconds duration) {
  return "\"" + std::to_string(duration.count()) + "ms\"";
}

StatusOr<std::string> RenderServiceConfig(std::string_view service,
                                          const ServiceConfigParameters& p) {
  const bool proxy = service == "pdns-api-proxy";
  const bool provider = service == "pdns-zone-provider";
  const bool syncer = service == "pdns-secondary-syncer";
  const bool checker = service == "pdns-health-checker";
  if (!proxy && !provider && !syncer && !checker) {
    return Status::InvalidArgument("no config template for a service named \"" +
                                   std::string(service) + "\"");
  }
  TomlDocument toml;
  toml.SetString("Service", "ID", p.id);
  if (proxy) toml.SetString("Service", "URL", p.listen.empty() ? "" : "https://" + p.listen);
  if (checker) toml.SetString("Service", "URL", p.listen.empty() ? "" : "http://" + p.listen);
  if (proxy) toml.SetString("Service", "StateDir", p.state_dir);
  toml.Set("Log", "DEBUG", p.debug ? "true" : "false");
  toml.Set("Prometheus", "Address", TomlString(p.metrics));
  toml.SetString("MessageBroker", "URL", p.nats_url);
  toml.SetString("MessageBroker", "Username", p.nats_username);
  toml.SetString("MessageBroker", "Password", p.nats_password);
  toml.SetDuration("ServiceDiscovery", "HealthPingIntervall", p.ping_interval);
  toml.SetString("PowerDNS", "URL", p.powerdns_url);
  toml.SetString("PowerDNS", "APIToken", p.powerdns_api_key);
  if (!proxy) toml.SetDuration("PowerDNS", "AXFRTimeout", p.axfr_timeout);
  if (provider || checker) toml.SetString("PowerDNS", "AXFRAddress", p.powerdns_dns);
  if (syncer) {
    toml.SetString("PowerDNS", "DNSAddress", p.powerdns_dns);
    toml.SetString("AXFRPrimary", "Address", p.listen);
  }
  for (const ConfigKey& key : p.extra) toml.Set(key.section, key.key, key.value);
  return toml.Render();
}

}  // namespace pdnsd
