// AXFR client: fetches a whole zone from a primary over TCP (RFC 5936).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/net.h"
#include "core/status.h"

namespace pdnsd {

struct ZoneTransfer {
  uint32_t serial = 0;
  // Presentation format, one RR per entry ("www.example.org.\t3600\tIN\tA\t192.0.2.1"),
  // the SOA first; the closing SOA of the transfer is not repeated here but in closing_soa.
  std::vector<std::string> records;
  std::string closing_soa;  // the transfer's last record, as received
  bool has_rrsig = false;   // the zone carries DNSSEC signatures (it is presigned for secondaries)
};

// Transfers `zone` (normalised name) from `primary`. The whole transfer must finish within
// `timeout`. Errors: NotFound when the primary refuses or is not authoritative (NOTAUTH,
// REFUSED, NXDOMAIN); Timeout; Unavailable for connection failures and malformed or truncated
// transfers. Thread-safe.
StatusOr<ZoneTransfer> TransferZone(const HostPort& primary, std::string_view zone,
                                    std::chrono::milliseconds timeout);

// Joins transfer records into zone text, one RR per line.
std::string ZoneText(const std::vector<std::string>& records);

// The zone as a zone-provider sends it in zone_data: every record of the transfer in the order
// received, the closing SOA included, one per line. An original Go secondary-syncer serves
// zone_data verbatim as its AXFR answer, so without the closing SOA its PowerDNS rejects the
// transfer.
std::string AxfrZoneData(const ZoneTransfer& transfer);

}  // namespace pdnsd
