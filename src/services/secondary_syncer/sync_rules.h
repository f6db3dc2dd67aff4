// The syncer's decisions about one transfer, as pure functions (tested as tables in
// tests/unit/sync_rules_test.cc): when PowerDNS's zone-metadata cache must be purged, when a
// commit counts as done, and when to ask for a transfer again.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pdnsd {

// What decides how PowerDNS serves a secondary zone's DNSSEC data: whether the zone is signed
// (PowerDNS stores PRESIGNED for it when the transfer carries NSEC or NSEC3 records) and its
// NSEC3PARAM ("" for NSEC or unsigned).
struct ZoneDnssecState {
  bool signed_zone = false;
  std::string nsec3param;  // rdata as the PowerDNS API shows it: "1 0 0 -"
  bool operator==(const ZoneDnssecState&) const = default;
};

// The state of the zone text served in a transfer (one RR per line, "name ttl class type
// rdata", class optional): signed when it carries RRSIG, NSEC or NSEC3 records; the apex
// NSEC3PARAM's rdata with single spaces.
ZoneDnssecState DnssecStateOfZoneText(std::string_view zone_text);

// PowerDNS 4.7 writes PRESIGNED and NSEC3PARAM inside the transfer's transaction, and a
// reader in between (a query, an API GET) caches the old values for zone-metadata-cache-ttl
// (60 s): the zone is then served unsigned, or with the old NSEC3PARAM. True when the
// transfer may have changed them, so that the cache must be purged after the commit.
// `before`: the local zone's state before the transfer (nullopt: the zone was just created).
bool MetadataCacheMayBeStale(const std::optional<ZoneDnssecState>& before,
                             const ZoneDnssecState& served);

// One look at the local PowerDNS after our endpoint served a transfer.
struct CommitProgress {
  bool serial_matches = false;       // the local serial equals the served one
  bool serial_moved = false;         // the served serial differs from the serial before
  bool first_transfer = false;       // the zone had never been transferred (last_check 0)
  bool last_check_advanced = false;  // last_check differs from the one before the transfer
  // The zone's previous reconcile stopped as superseded, so its commit may have landed after
  // the "before" look and moved last_check: last_check then proves nothing.
  bool previous_commit_unconfirmed = false;
  bool marked_again = false;  // a newer event for the zone is waiting
  std::chrono::milliseconds since_served{0};
};

enum class CommitWaitDecision {
  kWait,              // look again
  kCommitted,         // the transfer is committed: flush the cache now
  kSuperseded,        // a reconcile that follows transfers (and flushes) again: stop here
  kAssumedCommitted,  // a transfer that kept the serial, past the time a commit takes
};

// A transfer that keeps the serial (a DNSSEC key change) shows only in last_check, which has
// one-second resolution: a second transfer within the same second leaves it unchanged, and
// only time (kUnchangedSerialCommitWait) tells. A zone marked again meanwhile need not wait:
// the next reconcile's transfer comes after this one in PowerDNS and its flush follows its own
// commit (for that reconcile, last_check counts only if it also moves the serial).
inline constexpr std::chrono::milliseconds kUnchangedSerialCommitWait{1100};
CommitWaitDecision DecideCommitWait(const CommitProgress& progress);

// PowerDNS drops an axfr-retrieve asked for while a transfer of the zone is in flight (and
// merges one asked for while it is queued), so a retrieve after which no transfer reached our
// endpoint is asked again. `retrieves` counts the ones asked so far (>= 1). nullopt once a
// transfer has started at our endpoint: it is the one to wait for (a large zone's takes
// seconds). Otherwise the delay until asking again doubles from 50 ms, at most 2 s: a
// transfer starts within a few milliseconds (docs/stack-notes.md), and a long queue of retrievals
// is not flooded.
std::optional<std::chrono::milliseconds> RetrieveAgainAfter(int retrieves, bool transfer_started);

}  // namespace pdnsd
