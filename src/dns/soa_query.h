// SOA queries: what serial does a DNS server *serve* for a zone (the truth: docs/architecture.md,
// "The health-checker").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/net.h"
#include "core/status.h"

namespace pdnsd {

struct SoaRecord {
  uint32_t serial = 0;
  std::string text;  // presentation format, one line: "z.\t3600\tIN\tSOA\tns. host. 7 ..."
  // With `dnssec` set in the query: the earliest expiration (unix seconds) of the RRSIGs over
  // the SOA in the answer; 0 when the answer carries none.
  int64_t rrsig_expiration = 0;
};

// Asks `server` for the SOA of `zone` (normalised name) over UDP, retrying over TCP when the
// answer is truncated. Returns the serial of the SOA in the answer section.
// Errors: NotFound when the server is not authoritative for the zone (REFUSED, NOTAUTH,
// NXDOMAIN or no SOA in the answer); Timeout when nothing came back in `timeout`;
// Unavailable for other network failures. Thread-safe (no shared state).
// With `dnssec`, the query sets the DO bit so that signed zones answer with their RRSIGs.
StatusOr<SoaRecord> QuerySoa(const HostPort& server, std::string_view zone,
                             std::chrono::milliseconds timeout, bool dnssec = false);

// QuerySoa's serial alone.
StatusOr<uint32_t> QuerySoaSerial(const HostPort& server, std::string_view zone,
                                  std::chrono::milliseconds timeout);

}  // namespace pdnsd
