// Periodic-check logic (docs/architecture.md, "Periodic check"): compare a secondary's zones with
// the primary's.
//
// DiffZones() merges two zone → served-serial maps in one linear pass. A zone is out of sync
// when the secondary lacks it (missing), serves another serial in either direction (differing:
// a secondary ahead of the primary is as wrong as one behind), or has a zone the primary lacks
// (stray). Every list comes out sorted by zone name.
//
// MassDeletionGuard decides, once per periodic cycle, whether stray zones may be announced:
// a stray announcement makes secondaries delete zones, so a primary that did not answer,
// answered an empty list, or shrank by more than a share since the last accepted cycle is
// distrusted. The caller raises the alert (log, metric, status) from the returned Status and
// still announces missing and differing zones. Not thread-safe: owned by the periodic check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace pdnsd {

struct ZoneDiff {
  std::vector<std::string> missing;    // on the primary, not on the secondary
  std::vector<std::string> differing;  // on both, served serials differ
  std::vector<std::string> stray;      // on the secondary, not on the primary
  size_t in_sync = 0;                  // on both with the same serial
};

ZoneDiff DiffZones(const std::map<std::string, uint32_t>& primary,
                   const std::map<std::string, uint32_t>& secondary);

// One secondary's zones against the primary's as of its last zone-state map (a DiffZones),
// kept current between maps by what is learnt zone by zone (sync reports, event checks): a zone
// found in sync leaves `behind` and `missing` (counted in sync), a zone found gone leaves `stray`.
// Nothing is added between maps: a new difference is counted by the next map (and a change
// made meanwhile is pending in the change status at once).
struct SecondaryZoneCounts {
  size_t in_sync = 0;
  std::set<std::string> behind;  // DiffZones' differing
  std::set<std::string> missing;
  std::set<std::string> stray;

  static SecondaryZoneCounts FromDiff(const ZoneDiff& diff);
  // The secondary serves `zone` as the primary does. True when a count moved.
  bool FoundInSync(const std::string& zone);
  // The secondary does not serve `zone` and the primary has none. True when a count moved.
  bool FoundGone(const std::string& zone);
};

// The guard's rule, without its state: OK when stray zones may be announced given the
// primary's zone count now (nullopt: no answer) and the last accepted count (nullopt: none
// yet); else kUnavailable saying why. Refused: no answer, an empty list, or a drop from
// `baseline` by more than `max_shrink_share` (clamped to [0, 1]; NaN counts as 0) of it.
Status MassDeletionVerdict(double max_shrink_share, std::optional<size_t> baseline,
                           std::optional<size_t> primary_zone_count);

class MassDeletionGuard {
 public:
  // max_shrink_share: the largest accepted drop between accepted cycles, as a share of the
  // last accepted count (0.5: 100 → 50 is accepted, 100 → 49 is not). Clamped to [0, 1].
  explicit MassDeletionGuard(double max_shrink_share);

  // Returns OK when stray zones may be announced this cycle, given the primary's zone count
  // (nullopt: the primary did not answer); the count then becomes the baseline. Otherwise
  // returns kUnavailable saying why, and keeps the old baseline: a slow shrink in steps is
  // accepted step by step, a sudden one is refused every cycle until Reset(). On the first
  // cycle (no baseline) only no answer and an empty list are refused.
  Status Check(std::optional<size_t> primary_zone_count);

  // Forgets the baseline (an operator confirmed an intended mass deletion).
  void Reset() { baseline_.reset(); }
  // The last accepted zone count, for the status page.
  std::optional<size_t> baseline() const { return baseline_; }

 private:
  double max_shrink_share_;
  std::optional<size_t> baseline_;
};

}  // namespace pdnsd
