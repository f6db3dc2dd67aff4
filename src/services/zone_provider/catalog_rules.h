// What the zone-provider's catalog publisher decides (catalog_publisher.h), as pure functions
// tested as tables in tests/unit/catalog_rules_test.cc: whether a transfer is written, what a
// zone the primary does not have becomes, which zones a sweep of the primary's zone list marks,
// and whether the deletions due may be written (the mass-deletion guard for tombstones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "distribution/zone_version.h"

namespace pdnsd {

// A transfer of a zone (its served serial and the digest of its zone text) against the zone's
// current catalog entry (nullopt: none).
enum class PublishDecision {
  kPublish,    // a new version
  kUnchanged,  // the entry is a version with this serial and digest: no write
};
PublishDecision DecidePublish(const std::optional<distribution::CatalogEntry>& current,
                              uint32_t serial, std::string_view digest);

// Why a zone was marked since its last transfer began. A zone event always gets a transfer
// that starts after it arrived; a sweep's mark alone (the primary listed `listed`, nullopt: not
// listed) is already answered when the catalog entry, read at the start of the worker's turn,
// is live with that serial: the transfer that wrote it raced the sweep (the sweep listed the
// primary between its commit and the catalog write), and one AXFR per change stays one.
struct MarkReasons {
  bool must_transfer = false;      // a zone event, a retry or a released deletion
  bool swept = false;              // the sweep found the zone differing
  std::optional<uint32_t> listed;  // the serial the sweep saw in the primary's zone list
};
bool SweepMarkAnswered(const MarkReasons& reasons,
                       const std::optional<distribution::CatalogEntry>& current);

// A zone whose absence the primary's API confirmed, against its current catalog entry.
enum class AbsentAction {
  kNothing,      // no entry, or a tombstone already
  kHoldForGate,  // a live entry: due for deletion, written once the deletion gate released it
  kTombstone,    // a live entry the gate released: write the tombstone now
};
AbsentAction DecideAbsent(const std::optional<distribution::CatalogEntry>& current, bool released);

// The catalog as a sweep sees it: the publisher's mirror of the entries (from a watch).
struct CatalogZoneState {
  uint32_t serial = 0;
  bool deleted = false;  // a tombstone
  friend bool operator==(const CatalogZoneState&, const CatalogZoneState&) = default;
};

// What a sweep saw of a zone that it marked: the primary's listed serial (nullopt: not
// listed) and the catalog's state (nullopt: no entry). A zone is marked again only when this
// changes, so that a zone the transfer cannot settle (the API's serial ignores SOA-EDIT, a zone
// the primary's DNS refuses) costs one transfer per change, not one per sweep.
struct SweepObservation {
  std::optional<uint32_t> listed;
  std::optional<CatalogZoneState> catalog;
  friend bool operator==(const SweepObservation&, const SweepObservation&) = default;
};

// The zones one sweep marks, given the primary's API zone list (zone -> serial), the catalog,
// and the zones due for deletion (confirmed absent, waiting for the gate). Marked:
//   - a listed zone whose catalog entry is missing, a tombstone or has another serial;
//   - a listed zone due for deletion (the primary has it again: the transfer takes it off);
//   - a live catalog zone the primary does not list and that is not due for deletion (the
//     transfer confirms its absence before anything is deleted);
// each only when its SweepObservation differs from the one in `observations` (what the last
// sweep that marked it saw). `observations` is updated: set for every zone marked, erased for
// zones in sync or gone from both sides.
std::vector<std::string> PlanSweep(const std::map<std::string, uint32_t>& primary,
                                   const std::map<std::string, CatalogZoneState>& catalog,
                                   const std::set<std::string>& deletions_due,
                                   std::map<std::string, SweepObservation>& observations);

// The deletion gate, evaluated once per tick of the publisher.
struct DeletionGateInput {
  double max_share = 0.5;  // [JetStream] MassDeletionPercent / 100
  size_t live_zones = 0;   // the catalog's entries that are not tombstones (due ones included)
  size_t due = 0;          // deletions due (confirmed absent, not yet written)
  bool settled = false;    // `due` is what it was at the last tick: a burst is judged whole
};
enum class DeletionGateAction {
  kWait,     // nothing due, or the due set still grows
  kRelease,  // write every due tombstone
  kHold,     // hold them all (alert); judged again at every tick
};
struct DeletionGateVerdict {
  DeletionGateAction action = DeletionGateAction::kWait;
  Status reason;  // kHold: why, with the numbers (Unavailable)
};
// One deletion at a time is always released. Two or more are released when the catalog keeps
// at least one live zone and loses at most `max_share` of its live zones
// (MassDeletionVerdict, services/health_checker/zone_diff.h, with the live zones as the
// baseline and the live zones left as the count).
DeletionGateVerdict DecideDeletions(const DeletionGateInput& input);

}  // namespace pdnsd
