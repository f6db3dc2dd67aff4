// What the health-checker announces (docs/architecture.md, "The health-checker"): pure
// functions from the facts a check gathered to the zone events it must publish. The checker
// (health_checker*.cc) reads the primary and the secondaries, calls these, and publishes what
// they return in the order returned; nothing here does I/O or reads a clock.
//
// Serials are compared for equality only: a secondary ahead of the primary is as out of sync
// as one behind (docs/architecture.md, "In sync").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "model/messages.h"
#include "services/health_checker/zone_diff.h"

namespace pdnsd {

using ServedSerials = std::map<std::string, uint32_t>;  // zone -> served SOA serial

// One zone event to publish (to one secondary or to all, as the caller's check decides).
struct Announcement {
  ZoneEventType type;
  std::string zone;
  bool operator==(const Announcement&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Announcement& announcement);

// The periodic (or full) check of one secondary. Zones in `primary_unknown` (listed by the
// primary's API, SOA query failed) are left out on both sides. Missing zones get an add event,
// differing ones a change event, stray ones a delete event only when `announce_stray` (the
// MassDeletionGuard allowed this cycle). `diff` is the comparison the announcements came from
// (for the status page); announcements come adds, changes, deletes, each sorted by zone.
struct SecondaryRepair {
  ZoneDiff diff;
  std::vector<Announcement> announcements;
};
SecondaryRepair PlanSecondaryRepair(const ServedSerials& primary,
                                    const std::set<std::string>& primary_unknown,
                                    ServedSerials secondary, bool announce_stray);

// The event check of one zone on one secondary: `primary` is the primary's served serial
// (nullopt: the primary certainly lacks the zone), `secondary` the secondary's (nullopt: it
// lacks it). Add when only the primary has it, change when serials differ, delete when only
// the secondary has it, nothing when they agree.
std::optional<ZoneEventType> EventCheckAnnouncement(std::optional<uint32_t> primary,
                                                    std::optional<uint32_t> secondary);

// The serial an event check saw the primary serve for a zone (nullopt: the primary lacked it).
using CheckedSerials = std::map<std::string, std::optional<uint32_t>>;

// The background refresh: each zone's served serial now against the last one the checker
// compared with the secondaries — the serial its event check saw, when one ran since the
// previous refresh (`checked`), else the serial of the previous refresh. An appeared zone gets
// an add event, a moved serial a change event, a vanished zone (not served now, and not in
// `unknown`, whose SOA query failed now) a delete event only when `announce_deletions` (its
// MassDeletionGuard allowed it). A zone whose event check is still due (`pending`) is left to
// it: that check reads the primary after this refresh. So a zone with a recent event is still
// compared: a write that bypassed the proxy after the event's check is announced (issue 10
// measured minutes when every evented zone was skipped). Adds and changes come first, sorted by
// zone, then deletes, sorted by zone.
std::vector<Announcement> PlanRefresh(const ServedSerials& previous, const ServedSerials& current,
                                      const std::set<std::string>& unknown,
                                      const std::set<std::string>& pending,
                                      const CheckedSerials& checked, bool announce_deletions);

}  // namespace pdnsd
