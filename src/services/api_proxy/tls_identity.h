// The api-proxy's TLS certificate and key: the configured files, or a self-signed pair made
// with the OpenSSL API at first start (at the configured paths, as the original does, or in
// the state directory) and reused afterwards.
#pragma once

#include <string>

#include "core/status.h"

namespace pdnsd {

struct TlsIdentity {
  std::string cert_file;
  std::string key_file;
  bool generated = false;  // made by this call (first start)
};

// With cert_file and key_file set: both existing must be readable (InvalidArgument otherwise);
// neither existing: a self-signed pair is generated there (their directory must exist); only
// one existing: InvalidArgument naming the missing one. With both empty:
// <state_dir>/api-proxy.crt and api-proxy.key, created (with state_dir, mode 0700) when absent.
// A generated pair is EC P-256, valid ten years, SAN localhost, 127.0.0.1, ::1; key mode 0600.
// Errors name the file and the cause.
StatusOr<TlsIdentity> EnsureTlsIdentity(const std::string& cert_file, const std::string& key_file,
                                        const std::string& state_dir);

}  // namespace pdnsd
