#include "services/health_checker/zone_diff.h"

#include <cmath>
#include <cstdio>

namespace pdnsd {

ZoneDiff DiffZones(const std::map<std::string, uint32_t>& primary,
                   const std::map<std::string, uint32_t>& secondary) {
  ZoneDiff diff;
  auto p = primary.begin();
  auto s = secondary.begin();
  // Both maps are ordered by the same std::less<std::string>: one merge pass.
  while (p != primary.end() && s != secondary.end()) {
    if (p->first < s->first) {
      diff.missing.push_back(p->first);
      ++p;
    } else if (s->first < p->first) {
      diff.stray.push_back(s->first);
      ++s;
    } else {
      if (p->second == s->second) {
        ++diff.in_sync;
      } else {
        diff.differing.push_back(p->first);
      }
      ++p;
      ++s;
    }
  }
  for (; p != primary.end(); ++p) diff.missing.push_back(p->first);
  for (; s != secondary.end(); ++s) diff.stray.push_back(s->first);
  return diff;
}

SecondaryZoneCounts SecondaryZoneCounts::FromDiff(const ZoneDiff& diff) {
  SecondaryZoneCounts counts;
  counts.in_sync = diff.in_sync;
  counts.behind.insert(diff.differing.begin(), diff.differing.end());
  counts.missing.insert(diff.missing.begin(), diff.missing.end());
  counts.stray.insert(diff.stray.begin(), diff.stray.end());
  return counts;
}

bool SecondaryZoneCounts::FoundInSync(const std::string& zone) {
  if (behind.erase(zone) + missing.erase(zone) + stray.erase(zone) == 0) return false;
  ++in_sync;
  return true;
}

bool SecondaryZoneCounts::FoundGone(const std::string& zone) {
  // A zone behind that the primary deleted since is neither in sync nor behind any more.
  return stray.erase(zone) + behind.erase(zone) + missing.erase(zone) > 0;
}

namespace {

double ClampShare(double share) {
  return std::isnan(share) ? 0.0 : share < 0.0 ? 0.0 : share > 1.0 ? 1.0 : share;
}

}  // namespace

Status MassDeletionVerdict(double max_shrink_share, std::optional<size_t> baseline,
                           std::optional<size_t> primary_zone_count) {
  max_shrink_share = ClampShare(max_shrink_share);
  if (!primary_zone_count) {
    return Status::Unavailable(
        "mass deletion guard: the primary did not answer its zone list; no stray zone announced");
  }
  const size_t count = *primary_zone_count;
  if (count == 0) {
    return Status::Unavailable(
        "mass deletion guard: the primary answered an empty zone list; no stray zone announced");
  }
  if (baseline && count < *baseline) {
    const size_t drop = *baseline - count;
    if (static_cast<double>(drop) > max_shrink_share * static_cast<double>(*baseline)) {
      char message[256];
      std::snprintf(message, sizeof message,
                    "mass deletion guard: the primary's zone list shrank from %zu to %zu zones "
                    "(%.1f%%), more than the allowed %.1f%% since the last accepted cycle; no "
                    "stray zone announced",
                    *baseline, count, 100.0 * static_cast<double>(drop) / *baseline,
                    100.0 * max_shrink_share);
      return Status::Unavailable(message);
    }
  }
  return Status::Ok();
}

MassDeletionGuard::MassDeletionGuard(double max_shrink_share)
    : max_shrink_share_(ClampShare(max_shrink_share)) {}

Status MassDeletionGuard::Check(std::optional<size_t> primary_zone_count) {
  Status verdict = MassDeletionVerdict(max_shrink_share_, baseline_, primary_zone_count);
  if (verdict.ok()) baseline_ = primary_zone_count;
  return verdict;
}

}  // namespace pdnsd
