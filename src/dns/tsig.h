// A TSIG key (RFC 8945) shared by the syncer's SOA/AXFR endpoint and its local PowerDNS
// (docs/configuration.md, "[AXFRPrimary]"). The ldns-level signing and checking are internal
// to src/dns (tsig_wire.h).
#pragma once

#include <string>

#include "core/status.h"

namespace pdnsd {

struct TsigKey {
  std::string name;                       // a domain name, normalised: "syncer-ns1."
  std::string algorithm = "hmac-sha256";  // as PowerDNS's tsigkeys API spells it
  std::string secret;                     // base64, as PowerDNS's tsigkeys API takes it
};

// The algorithms both ldns and PowerDNS 4.7 know.
bool IsSupportedTsigAlgorithm(const std::string& algorithm);
// Checks `key` and returns it with the name normalised (lower case, trailing dot);
// InvalidArgument naming the problem (bad name, unknown algorithm, secret not base64 or
// shorter than 16 octets).
StatusOr<TsigKey> ValidateTsigKey(TsigKey key);

}  // namespace pdnsd
