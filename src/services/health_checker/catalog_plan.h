// What the health-checker announces in catalog mode (docs/architecture.md, "The health-checker",
// "Catalog mode"): pure functions from the primary's served serials and the checker's mirror of
// the JetStream catalog (catalog_mirror.h) to zone events. No I/O, no clock read.
//
// The catalog is the zone-provider's record of what the primary serves; a syncer in catalog
// mode applies what the catalog says. So two comparisons repair two different things:
//  - catalog vs primary: a zone whose entry is missing, a tombstone, or has another serial than
//    the primary serves gets a BROADCAST event: the zone-provider (queue group) publishes the
//    zone again; syncers in catalog mode ignore broadcast events.
//  - secondary vs catalog: a TARGETED event (<subject>.<id>) makes that syncer re-read the
//    zone's entry. Where catalog and primary disagree the secondaries are compared with the
//    primary, as without a catalog (the catalog is being repaired; a syncer that does not
//    follow the catalog, e.g. an original Go one, asks the provider).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "services/health_checker/announcement_plan.h"

namespace pdnsd {

// One zone as the catalog holds it (the checker's mirror keeps these fields of the entry).
struct CatalogZone {
  uint32_t serial = 0;
  std::string digest;    // SHA-256 hex of the zone text; "" for a tombstone
  bool deleted = false;  // a tombstone: the provider confirmed the primary no longer has it
  bool operator==(const CatalogZone&) const = default;
};
using CatalogZones = std::map<std::string, CatalogZone>;

// The catalog against the primary. Zones in `primary_unknown` (their SOA query failed) are
// left out. A zone the primary serves whose entry is missing or a tombstone gets an add, one
// with another serial a change; a live entry of a zone the primary does not serve gets a delete
// only when `announce_deletions` (the MassDeletionGuard allowed this cycle; the provider
// tombstones only after its own check with the primary's API). `differing` lists every zone
// where the two disagree (the deletions held back included), sorted; announcements come adds,
// changes, deletes, each sorted by zone.
struct CatalogRepair {
  std::vector<Announcement> announcements;  // broadcast
  std::vector<std::string> differing;
};
CatalogRepair PlanCatalogRepair(const ServedSerials& primary,
                                const std::set<std::string>& primary_unknown,
                                const CatalogZones& catalog, bool announce_deletions);

// What each secondary is compared with in catalog mode (PlanSecondaryRepair's `primary` and
// `primary_unknown`): every zone the primary serves with the primary's serial (equal to the
// catalog's where they agree), and a zone whose SOA query failed with its live catalog entry's
// serial (the provider's last read of it) instead of leaving it out; a failed zone without a
// live entry stays unknown.
struct ComparisonBasis {
  ServedSerials serials;
  std::set<std::string> unknown;
  bool operator==(const ComparisonBasis&) const = default;
};
ComparisonBasis SecondaryComparisonBasis(const ServedSerials& primary,
                                         const std::set<std::string>& primary_unknown,
                                         const CatalogZones& catalog);

// The event check's catalog comparison for one zone: `primary` the served serial (nullopt: the
// primary certainly lacks the zone), `catalog` its entry (nullopt: none). The broadcast event
// that repairs the catalog, or nothing when it agrees.
std::optional<ZoneEventType> CatalogEventCheckAnnouncement(
    std::optional<uint32_t> primary, const std::optional<CatalogZone>& catalog);

// Whether an event check may broadcast a catalog repair of a zone whose last one was broadcast
// at `last` (nullopt: never), now `now`. Not within `min_gap` of the last: the checker hears its
// own broadcast events and checks them again after EventCheckWaitTime, so without the gap a
// provider that is down would get one event per lagging zone every EventCheckWaitTime.
bool CatalogRepairDue(std::optional<std::chrono::steady_clock::time_point> last,
                      std::chrono::steady_clock::time_point now, std::chrono::milliseconds min_gap);

// Content by digest. The catalog's digest covers the text the zone-provider received from the
// primary's AXFR; a secondary's PowerDNS serves the same records in another order when the zone
// is signed (it serves its stored RRSIG and NSEC/NSEC3 records in database order; the primary
// emits them per name as it signs; plain zones came out identical, signed ones not:
// docs/architecture.md, "Catalog mode"). So both sides are compared in a canonical form: the
// SHA-256 hex of the zone's records (one per line, as AxfrZoneData writes them), the closing
// SOA of the transfer dropped, sorted, joined by '\n'.
std::string CanonicalZoneDigest(std::string_view zone_text);

// Which zones of `candidates` (sorted; zones a secondary serves at the catalog's serial) get
// their content compared this check: `count` of them from position `cursor` on, wrapping
// around, each at most once; `next` is where the following check goes on, so every zone comes
// round in turn.
struct DigestSample {
  std::vector<std::string> zones;
  size_t next = 0;
  bool operator==(const DigestSample&) const = default;
};
DigestSample PickDigestSample(const std::vector<std::string>& candidates, size_t cursor,
                              size_t count);

}  // namespace pdnsd
