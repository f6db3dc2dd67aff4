#include "services/health_checker/catalog_plan.h"

#include <algorithm>

#include "core/digest.h"

namespace pdnsd {

CatalogRepair PlanCatalogRepair(const ServedSerials& primary,
                                const std::set<std::string>& primary_unknown,
                                const CatalogZones& catalog, bool announce_deletions) {
  CatalogRepair repair;
  std::vector<Announcement> adds, changes, deletes;
  std::set<std::string> differing;
  for (const auto& [zone, serial] : primary) {
    if (primary_unknown.count(zone) != 0) continue;
    auto entry = catalog.find(zone);
    if (entry == catalog.end() || entry->second.deleted) {
      adds.push_back({ZoneEventType::kAdd, zone});
      differing.insert(zone);
    } else if (entry->second.serial != serial) {
      changes.push_back({ZoneEventType::kChange, zone});
      differing.insert(zone);
    }
  }
  for (const auto& [zone, entry] : catalog) {
    if (entry.deleted || primary.count(zone) != 0 || primary_unknown.count(zone) != 0) continue;
    differing.insert(zone);
    if (announce_deletions) deletes.push_back({ZoneEventType::kDelete, zone});
  }
  for (auto* part : {&adds, &changes, &deletes}) {
    repair.announcements.insert(repair.announcements.end(), part->begin(), part->end());
  }
  repair.differing.assign(differing.begin(), differing.end());
  return repair;
}

ComparisonBasis SecondaryComparisonBasis(const ServedSerials& primary,
                                         const std::set<std::string>& primary_unknown,
                                         const CatalogZones& catalog) {
  ComparisonBasis basis{.serials = primary, .unknown = {}};
  for (const std::string& zone : primary_unknown) {
    auto entry = catalog.find(zone);
    if (entry != catalog.end() && !entry->second.deleted) {
      basis.serials[zone] = entry->second.serial;
    } else {
      basis.unknown.insert(zone);
    }
  }
  return basis;
}

std::optional<ZoneEventType> CatalogEventCheckAnnouncement(
    std::optional<uint32_t> primary, const std::optional<CatalogZone>& catalog) {
  const bool live = catalog && !catalog->deleted;
  if (primary) {
    if (!live) return ZoneEventType::kAdd;
    if (catalog->serial != *primary) return ZoneEventType::kChange;
    return std::nullopt;
  }
  if (live) return ZoneEventType::kDelete;
  return std::nullopt;
}

bool CatalogRepairDue(std::optional<std::chrono::steady_clock::time_point> last,
                      std::chrono::steady_clock::time_point now,
                      std::chrono::milliseconds min_gap) {
  return !last || now - *last >= min_gap;
}

std::string CanonicalZoneDigest(std::string_view zone_text) {
  std::vector<std::string_view> records;
  while (!zone_text.empty()) {
    const size_t end = zone_text.find('\n');
    std::string_view line = zone_text.substr(0, end);
    zone_text = end == std::string_view::npos ? std::string_view() : zone_text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) records.push_back(line);
  }
  // The transfer's closing SOA repeats the first record.
  if (records.size() >= 2 && records.back() == records.front()) records.pop_back();
  std::sort(records.begin(), records.end());
  std::string canonical;
  for (std::string_view record : records) {
    canonical.append(record);
    canonical.push_back('\n');
  }
  return Sha256Hex(canonical);
}

DigestSample PickDigestSample(const std::vector<std::string>& candidates, size_t cursor,
                              size_t count) {
  DigestSample sample;
  if (candidates.empty()) return sample;
  const size_t n = std::min(count, candidates.size());
  cursor %= candidates.size();
  for (size_t i = 0; i < n; ++i)
    sample.zones.push_back(candidates[(cursor + i) % candidates.size()]);
  sample.next = (cursor + n) % candidates.size();
  return sample;
}

}  // namespace pdnsd
