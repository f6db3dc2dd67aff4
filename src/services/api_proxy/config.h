// pdns-api-proxy configuration (docs/configuration.md, config/pdns-api-proxy.toml).
#pragma once

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
  int workers = 16;  // [Service] Workers: concurrent client connections served
  size_t max_body_bytes = 16 * 1024 * 1024;  // [Service] MaxBodySize
  // [PowerDNS] WriteConcurrency: requests other than GET/HEAD/OPTIONS forwarded at once (0: no
  // limit). 1 for a gsqlite3 primary, which answers concurrent writes with "database is locked".
  int write_concurrency = 0;
};

ApiProxyConfig ReadApiProxyConfig(ConfigReader& reader, const CommonConfig& common);

}  // namespace pdnsd
