#include "services/health_checker/announcement_plan.h"

#include <utility>

namespace pdnsd {

std::ostream& operator<<(std::ostream& out, const Announcement& announcement) {
  return out << ZoneEventTypeLabel(announcement.type) << " " << announcement.zone;
}

SecondaryRepair PlanSecondaryRepair(const ServedSerials& primary,
                                    const std::set<std::string>& primary_unknown,
                                    ServedSerials secondary, bool announce_stray) {
  for (const std::string& zone : primary_unknown) secondary.erase(zone);
  SecondaryRepair repair;
  repair.diff = DiffZones(primary, secondary);
  for (const auto& zone : repair.diff.missing) {
    repair.announcements.push_back({ZoneEventType::kAdd, zone});
  }
  for (const auto& zone : repair.diff.differing) {
    repair.announcements.push_back({ZoneEventType::kChange, zone});
  }
  if (announce_stray) {
    for (const auto& zone : repair.diff.stray) {
      repair.announcements.push_back({ZoneEventType::kDelete, zone});
    }
  }
  return repair;
}

std::optional<ZoneEventType> EventCheckAnnouncement(std::optional<uint32_t> primary,
                                                    std::optional<uint32_t> secondary) {
  if (primary) {
    if (!secondary) return ZoneEventType::kAdd;
    if (*secondary != *primary) return ZoneEventType::kChange;
    return std::nullopt;
  }
  if (secondary) return ZoneEventType::kDelete;
  return std::nullopt;
}

std::vector<Announcement> PlanRefresh(const ServedSerials& previous, const ServedSerials& current,
                                      const std::set<std::string>& unknown,
                                      const std::set<std::string>& pending,
                                      const CheckedSerials& checked, bool announce_deletions) {
  // The serial last compared for `zone`: the event check's when one ran, else the previous
  // refresh's; nullopt when neither saw the zone served.
  auto compared = [&](const std::string& zone) -> std::optional<uint32_t> {
    if (auto it = checked.find(zone); it != checked.end()) return it->second;
    if (auto it = previous.find(zone); it != previous.end()) return it->second;
    return std::nullopt;
  };
  std::vector<Announcement> announcements;
  for (const auto& [zone, serial] : current) {
    if (pending.count(zone) != 0) continue;
    const std::optional<uint32_t> before = compared(zone);
    if (!before) {
      announcements.push_back({ZoneEventType::kAdd, zone});
    } else if (*before != serial) {
      announcements.push_back({ZoneEventType::kChange, zone});
    }
  }
  if (!announce_deletions) return announcements;
  std::set<std::string> seen;
  for (const auto& [zone, serial] : previous) seen.insert(zone);
  for (const auto& [zone, serial] : checked) seen.insert(zone);
  for (const std::string& zone : seen) {
    if (current.count(zone) != 0 || unknown.count(zone) != 0 || pending.count(zone) != 0) continue;
    if (compared(zone)) announcements.push_back({ZoneEventType::kDelete, zone});
  }
  return announcements;
}

}  // namespace pdnsd
