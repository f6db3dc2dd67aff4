// The api-proxy's TLS certificate and key: the configured files, or a self-signed pair made
// with the OpenSSL API at first start and reused afterwards.
#pragma once

#include <string>

#include "core/status.h"

namespace pdnsd {

struct TlsIdentity {
  std::string cert_file;
  std::string key_file;
  bool generated = false;  // made by this call (first start)
};

// With cert_file and key_file set: checks they are readable. Otherwise uses
// <state_dir>/api-proxy.crt and api-proxy.key, creating them (EC P-256, ten years, SAN
// localhost, 127.0.0.1, ::1; key mode 0600) when absent.
StatusOr<TlsIdentity> EnsureTlsIdentity(const std::string& cert_file, const std::string& key_file,
                                        const std::string& state_dir);

}  // namespace pdnsd
