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
  config.write_concurrency = static_cast<int>(
      reader.Int("PowerDNS", "WriteConcurrency", config.write_concurrency, 0, 1024));
  return config;
}

}  // namespace pdnsd
