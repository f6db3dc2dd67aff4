// pdns-api-proxy configuration (docs/configuration.md, config/pdns-api-proxy.toml).
#pragma once

#include <chrono>
#include <string>

#include "core/config.h"
#include "core/net.h"
#include "pdns/api_client.h"
#include "services/common/service_config.h"

namespace pdnsd {

struct ApiProxyConfig {
  HostPort listen;             // from [Service] URL (always served over HTTPS)
  bool url_said_http = false;  // [Service] URL was http://: served as HTTPS anyway, with a warning
  std::string cert_file;       // [Service] Cert; generated there at first start when missing
  std::string key_file;        // [Service] Key (EnsureTlsIdentity)
  std::string state_dir = "/var/lib/pdns-api-proxy";  // [Service] StateDir: generated TLS pair
  int workers = 16;  // [Service] Workers: requests handled (forwarded) at once
  size_t max_body_bytes = 16 * 1024 * 1024;  // [Service] MaxBodySize, whatever the framing
  // [Service] HeaderTimeout, IdleTimeout, MaxConnections, MaxConnectionsPerClient: the
  // listener's limits (core/http_listener.h).
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{30};
  int max_connections = 8192;
  int max_connections_per_client = 256;
  // [Service] AuthFailureLimit, AuthFailureWindow: answers 401 per client address and window
  // before its requests get 429 (auth_throttle.h). 0: no limit.
  int auth_failure_limit = 10;
  std::chrono::seconds auth_failure_window{60};
  // [PowerDNS] WriteConcurrency: requests other than GET/HEAD/OPTIONS forwarded at once (0: no
  // limit). 1 for a gsqlite3 primary, which answers concurrent writes with "database is locked".
  int write_concurrency = 0;
};

ApiProxyConfig ReadApiProxyConfig(ConfigReader& reader, const CommonConfig& common);

}  // namespace pdnsd
