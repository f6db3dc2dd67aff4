// Who may use the syncer's SOA/AXFR endpoint, and how many connections each client gets
// (docs/configuration.md, "[AXFRPrimary]"; docs/architecture.md, "The SOA/AXFR endpoint").
//
// Pure decisions, no sockets: an allow-list of address prefixes, the admission of a new TCP
// connection from the counts the server keeps, and the once-per-interval rule for logging a
// refused client. ZoneServer (zone_server.h) applies them; tests/unit/client_access_test.cc
// tests them as tables.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pdnsd {

// A client's IP address: 4 octets (IPv4, also an IPv4-mapped IPv6 address "::ffff:a.b.c.d")
// or 16 (IPv6). Ordered, so that it can key a map of per-address counts.
struct ClientAddress {
  bool v4 = true;
  std::array<uint8_t, 16> octets{};  // the first 4 for IPv4

  // The peer of an accepted socket or a received datagram. False for other families (*out
  // untouched).
  static bool FromSockaddr(const sockaddr_storage& address, ClientAddress* out);
  // "127.0.0.2", "::1": numeric only. InvalidArgument otherwise.
  static StatusOr<ClientAddress> Parse(std::string_view text);
  std::string ToString() const;
  auto operator<=>(const ClientAddress&) const = default;
};

// An address prefix: "10.0.0.0/8", "fd00::/8", or one address ("127.0.0.1" = /32, "::1" =
// /128). Host bits set below the prefix length are an error ("10.0.0.1/8"): they usually mean
// a typo.
struct AddressPrefix {
  ClientAddress address;
  int bits = 32;

  static StatusOr<AddressPrefix> Parse(std::string_view text);
  bool Contains(const ClientAddress& client) const;
  std::string ToString() const;
};

// The allow-list: a client is allowed when any prefix contains its address. Empty: nobody.
class ClientAllowList {
 public:
  ClientAllowList() = default;
  explicit ClientAllowList(std::vector<AddressPrefix> prefixes) : prefixes_(std::move(prefixes)) {}
  // Parses every entry; the first bad one is the error (its text named).
  static StatusOr<ClientAllowList> Parse(const std::vector<std::string>& entries);

  bool Allows(const ClientAddress& client) const;
  const std::vector<AddressPrefix>& prefixes() const { return prefixes_; }
  // "127.0.0.1/32, ::1/128" (for the start-up log line).
  std::string ToString() const;

 private:
  std::vector<AddressPrefix> prefixes_;
};

// How many TCP connections the endpoint holds. An outsider (a client the allow-list does not
// allow) only ever gets REFUSED, but holds its connection until it sent a query or its
// timeout passed; it may use at most `max_outsiders` of `max_connections` in all, so that
// max_connections - max_outsiders slots are reserved for allowed clients (the local
// PowerDNS). Each address holds at most its per-address limit, so that one allowed address
// (when the allow-list names a network) cannot take the others' slots either.
struct ConnectionLimits {
  size_t max_connections = 512;
  size_t max_outsiders = 64;
  size_t per_allowed_address = 64;
  size_t per_outsider_address = 4;
  // The client must have sent a complete query within this long after connecting or after
  // the previous answer; otherwise the connection is closed.
  std::chrono::milliseconds allowed_query_timeout{5000};
  std::chrono::milliseconds outsider_query_timeout{2000};
};

// The counts at the moment a connection from the client is accepted (not counting it).
struct ConnectionCounts {
  size_t total = 0;         // every connection held
  size_t outsiders = 0;     // of those, from outsiders
  size_t from_address = 0;  // of those, from this client's address
};

enum class Admission {
  kAdmit,
  kRefuseFull,           // max_connections reached (allowed clients only see this)
  kRefuseOutsidersFull,  // an outsider, and the outsiders' share is used up
  kRefuseAddressLimit,   // this address holds its per-address limit
};
// Whether to keep a new connection from a client that is `allowed` or not.
Admission DecideAdmission(bool allowed, const ConnectionCounts& counts,
                          const ConnectionLimits& limits);
const char* AdmissionText(Admission admission);

// One log line per refused client address per interval: Note() says whether to log now, and
// how many refusals of that address were not logged since its last line. The table is bounded
// (max_addresses); when it is full, entries older than the interval are dropped, and if none
// is, the refusal is counted in `unlisted` and logged at most once per interval as well.
// Not thread-safe (one owner).
class RefusalLogLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  RefusalLogLimiter(std::chrono::milliseconds interval, size_t max_addresses)
      : interval_(interval), max_addresses_(max_addresses) {}

  // True: log a line now for `client`; *suppressed = refusals not logged since its last line.
  bool Note(const ClientAddress& client, TimePoint now, uint64_t* suppressed);

 private:
  struct Entry {
    TimePoint logged;
    uint64_t suppressed = 0;
  };
  std::chrono::milliseconds interval_;
  size_t max_addresses_;
  std::map<ClientAddress, Entry> entries_;
  Entry unlisted_{TimePoint::min(), 0};
};

}  // namespace pdnsd
