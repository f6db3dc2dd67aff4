#include "services/api_proxy/config.h"

namespace pdnsd {

ApiProxyConfig ReadApiProxyConfig(ConfigReader& reader, const CommonConfig& /*common*/) {
  ApiProxyConfig config;
  const std::string url = reader.RequiredString("Service", "URL");
  if (!url.empty()) {
    auto parsed = ParseHttpUrl(url);
    if (parsed.ok()) {
      config.listen = parsed->host_port;
      config.url_said_http = parsed->scheme == "http";
    } else {
      reader.Fail("Service", "URL", parsed.status().message());
    }
  }
  config.cert_file = reader.String("Service", "Cert", "");
  config.key_file = reader.String("Service", "Key", "");
  if (config.cert_file.empty() != config.key_file.empty()) {
    reader.Fail("Service", config.cert_file.empty() ? "Cert" : "Key", "Cert and Key go together");
  }
  config.state_dir = reader.String("Service", "StateDir", config.state_dir);
  config.workers = static_cast<int>(reader.Int("Service", "Workers", config.workers, 1, 1024));
  config.max_body_bytes = static_cast<size_t>(
      reader.Int("Service", "MaxBodySize", static_cast<int64_t>(config.max_body_bytes), 1024,
                 int64_t{1} << 32));
  auto seconds = [&](const char* key, std::chrono::seconds fallback) {
    const auto value = reader.Duration("Service", key, fallback);
    if (value < std::chrono::seconds(1)) reader.Fail("Service", key, "must be at least 1s");
    return std::chrono::duration_cast<std::chrono::seconds>(value);
  };
  config.header_timeout = seconds("HeaderTimeout", config.header_timeout);
  config.idle_timeout = seconds("IdleTimeout", config.idle_timeout);
  config.max_connections = static_cast<int>(
      reader.Int("Service", "MaxConnections", config.max_connections, 16, 1 << 20));
  config.max_connections_per_client = static_cast<int>(reader.Int(
      "Service", "MaxConnectionsPerClient", config.max_connections_per_client, 1, 1 << 20));
  config.auth_failure_limit = static_cast<int>(
      reader.Int("Service", "AuthFailureLimit", config.auth_failure_limit, 0, 1 << 20));
  config.auth_failure_window = seconds("AuthFailureWindow", config.auth_failure_window);
  config.write_concurrency = static_cast<int>(
      reader.Int("PowerDNS", "WriteConcurrency", config.write_concurrency, 0, 1024));
  return config;
}

}  // namespace pdnsd
