// AXFR client: fetches a whole zone from a primary over TCP (RFC 5936).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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

// What a streamed transfer ended with.
struct TransferSummary {
  uint32_t serial = 0;
  size_t records = 0;      // handed to the sink, both SOAs included
  bool has_rrsig = false;  // as ZoneTransfer's
};

// Takes each record of a transfer as it arrives, in presentation format (as
// ZoneTransfer::records). A non-OK Status ends the transfer with that Status.
using TransferRecordSink = std::function<Status(std::string_view record)>;

// TransferZone without holding the zone (a zone of tens of MB, tests/fault/large_zone_test.cc):
// hands every record to `take` in the order received, the opening SOA first and the closing SOA
// last, so that the records one per line are AxfrZoneData's text; holds one message at a time.
// The same errors as TransferZone, after which the records already taken are no zone.
StatusOr<TransferSummary> StreamZoneTransfer(const HostPort& primary, std::string_view zone,
                                             std::chrono::milliseconds timeout,
                                             const TransferRecordSink& take);

// Joins transfer records into zone text, one RR per line.
std::string ZoneText(const std::vector<std::string>& records);

// The zone as a zone-provider sends it in zone_data: every record of the transfer in the order
// received, the closing SOA included, one per line. An original Go secondary-syncer serves
// zone_data verbatim as its AXFR answer, so without the closing SOA its PowerDNS rejects the
// transfer.
std::string AxfrZoneData(const ZoneTransfer& transfer);

}  // namespace pdnsd
