#include "services/secondary_syncer/absence_rule.h"

#include <algorithm>

namespace pdnsd {

ZoneReply ClassifyZoneReply(const Status& status) {
  if (status.ok()) return ZoneReply::kData;
  switch (status.code()) {
    case StatusCode::kNotFound:
      return ZoneReply::kNotFound;
    case StatusCode::kTimeout:
      return ZoneReply::kSilence;
    default:
      return ZoneReply::kUnavailable;
  }
}

AbsenceDecision DecideAbsence(ZoneReply reply, ControlReply control, int silences_before) {
  switch (reply) {
    case ZoneReply::kData:
      return {AbsenceVerdict::kPresent, 0};
    case ZoneReply::kNotFound:
      return {AbsenceVerdict::kAbsent, 0};
    case ZoneReply::kUnavailable:
      return {AbsenceVerdict::kUnknown, 0};
    case ZoneReply::kSilence:
      break;
  }
  // The provider or the primary may be down or slow: only a control answered right after
  // makes this silence evidence, and an unconfirmed attempt breaks the series.
  if (control != ControlReply::kAnswered) return {AbsenceVerdict::kUnknown, 0};
  const int silences = std::max(silences_before, 0) + 1;
  return {silences >= kSilencesForAbsence ? AbsenceVerdict::kAbsent : AbsenceVerdict::kSuspected,
          silences};
}

std::vector<std::string> ControlZones(const std::string& zone,
                                      const std::vector<std::string>& local_zones,
                                      const std::set<std::string>& suspected,
                                      const std::string& last_answered, size_t max) {
  std::vector<std::string> chosen;
  auto usable = [&](const std::string& candidate) {
    return candidate != zone && suspected.count(candidate) == 0 &&
           std::find(chosen.begin(), chosen.end(), candidate) == chosen.end();
  };
  if (!last_answered.empty() && usable(last_answered) &&
      std::find(local_zones.begin(), local_zones.end(), last_answered) != local_zones.end()) {
    chosen.push_back(last_answered);
  }
  for (const std::string& candidate : local_zones) {
    if (chosen.size() >= max) break;
    if (usable(candidate)) chosen.push_back(candidate);
  }
  if (chosen.size() > max) chosen.resize(max);
  return chosen;
}

int AbsenceLedger::Silences(const std::string& zone) const {
  MutexLock lock(mutex_);
  auto it = silences_.find(zone);
  return it == silences_.end() ? 0 : it->second;
}

void AbsenceLedger::SetSilences(const std::string& zone, int silences) {
  MutexLock lock(mutex_);
  if (silences <= 0) {
    silences_.erase(zone);
  } else {
    silences_[zone] = silences;
  }
}

void AbsenceLedger::Answered(const std::string& zone) {
  MutexLock lock(mutex_);
  silences_.erase(zone);
  last_answered_ = zone;
}

std::set<std::string> AbsenceLedger::Suspected() const {
  MutexLock lock(mutex_);
  std::set<std::string> zones;
  for (const auto& [zone, count] : silences_) zones.insert(zone);
  return zones;
}

std::string AbsenceLedger::LastAnswered() const {
  MutexLock lock(mutex_);
  return last_answered_;
}

}  // namespace pdnsd
