#include "services/zone_provider/catalog_rules.h"

#include <cstdio>

#include "services/health_checker/zone_diff.h"

namespace pdnsd {

PublishDecision DecidePublish(const std::optional<distribution::CatalogEntry>& current,
                              uint32_t serial, std::string_view digest) {
  if (current && !current->deleted && current->serial == serial && current->digest == digest) {
    return PublishDecision::kUnchanged;
  }
  return PublishDecision::kPublish;
}

AbsentAction DecideAbsent(const std::optional<distribution::CatalogEntry>& current, bool released) {
  if (!current || current->deleted) return AbsentAction::kNothing;
  return released ? AbsentAction::kTombstone : AbsentAction::kHoldForGate;
}

bool SweepMarkAnswered(const MarkReasons& reasons,
                       const std::optional<distribution::CatalogEntry>& current) {
  if (reasons.must_transfer || !reasons.swept || !reasons.listed) return false;
  return current && !current->deleted && current->serial == *reasons.listed;
}

std::vector<std::string> PlanSweep(const std::map<std::string, uint32_t>& primary,
                                   const std::map<std::string, CatalogZoneState>& catalog,
                                   const std::set<std::string>& deletions_due,
                                   std::map<std::string, SweepObservation>& observations) {
  std::vector<std::string> marks;
  const auto consider = [&](const std::string& zone, bool needs_work, SweepObservation seen) {
    if (!needs_work) {
      observations.erase(zone);
      return;
    }
    auto it = observations.find(zone);
    if (it != observations.end() && it->second == seen) return;
    observations[zone] = std::move(seen);
    marks.push_back(zone);
  };
  for (const auto& [zone, serial] : primary) {
    const auto entry = catalog.find(zone);
    std::optional<CatalogZoneState> state;
    if (entry != catalog.end()) state = entry->second;
    const bool in_sync = state && !state->deleted && state->serial == serial;
    const bool due = deletions_due.count(zone) != 0;
    consider(zone, !in_sync || due, {serial, state});
  }
  for (const auto& [zone, state] : catalog) {
    if (primary.count(zone) != 0) continue;
    const bool unlisted_live = !state.deleted && deletions_due.count(zone) == 0;
    consider(zone, unlisted_live, {std::nullopt, state});
  }
  // Observations of zones that are on neither side any more.
  for (auto it = observations.begin(); it != observations.end();) {
    if (primary.count(it->first) == 0 && catalog.count(it->first) == 0) {
      it = observations.erase(it);
    } else {
      ++it;
    }
  }
  return marks;
}

DeletionGateVerdict DecideDeletions(const DeletionGateInput& input) {
  if (input.due == 0 || !input.settled) return {DeletionGateAction::kWait, Status::Ok()};
  if (input.due == 1) return {DeletionGateAction::kRelease, Status::Ok()};
  const size_t left = input.due >= input.live_zones ? 0 : input.live_zones - input.due;
  if (MassDeletionVerdict(input.max_share, input.live_zones, left).ok()) {
    return {DeletionGateAction::kRelease, Status::Ok()};
  }
  char message[200];
  std::snprintf(message, sizeof message,
                "%zu deletions due at once would leave %zu of %zu live catalog zones; at most "
                "%.0f%% may go in one go",
                input.due, left, input.live_zones, 100.0 * input.max_share);
  return {DeletionGateAction::kHold, Status::Unavailable(message)};
}

}  // namespace pdnsd
