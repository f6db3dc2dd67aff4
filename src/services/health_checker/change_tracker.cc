#include "services/health_checker/change_tracker.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/json_fields.h"

namespace pdnsd {

const char* ChangeStateName(bool in_sync) { return in_sync ? "INSYNC" : "PENDING"; }

const char* SecondaryChangeStateName(SecondaryChangeStatus::State state) {
  switch (state) {
    case SecondaryChangeStatus::State::kInSync:
      return "INSYNC";
    case SecondaryChangeStatus::State::kPending:
      return "PENDING";
    case SecondaryChangeStatus::State::kFailed:
      return "FAILED";
    case SecondaryChangeStatus::State::kDown:
      return "DOWN";
  }
  return "PENDING";
}

namespace {

nlohmann::json ChangeStatusJson(const ChangeStatus& status) {
  using nlohmann::json;
  json secondaries = json::array();
  for (const SecondaryChangeStatus& secondary : status.secondaries) {
    json entry = {{"id", secondary.id}, {"status", SecondaryChangeStateName(secondary.state)}};
    if (secondary.served_at) {
      entry["served_at"] = FormatRfc3339(*secondary.served_at);
      entry["lag_seconds"] =
          std::chrono::duration<double>(*secondary.served_at - status.written_at).count();
    }
    if (!secondary.error.empty()) entry["error"] = secondary.error;
    secondaries.push_back(std::move(entry));
  }
  json doc = {{"id", status.id},
              {"zone", status.zone},
              {"type", ZoneEventTypeLabel(status.type)},
              {"written_at", FormatRfc3339(status.written_at)},
              {"status", ChangeStateName(status.in_sync)},
              {"serial", status.serial ? json(*status.serial) : json(nullptr)},
              {"secondaries", std::move(secondaries)}};
  return doc;
}

}  // namespace

std::string EncodeChangeStatus(const ChangeStatus& status) {
  return EncodeJson(ChangeStatusJson(status));
}

std::string EncodeChangeList(const std::vector<ChangeStatus>& changes) {
  nlohmann::json list = nlohmann::json::array();
  for (const ChangeStatus& change : changes) list.push_back(ChangeStatusJson(change));
  return EncodeJson(nlohmann::json{{"changes", std::move(list)}});
}

ChangeTracker::ChangeTracker(ChangeTrackerLimits limits) : limits_(limits) {}

std::vector<ServedLag> ChangeTracker::Add(const std::string& id, const std::string& zone,
                                          ZoneEventType type, TimePoint written_at, TimePoint now,
                                          bool* added) {
  MutexLock lock(mutex_);
  Expire(now);
  ExpireEarly(now);
  if (added != nullptr) *added = false;
  if (by_id_.count(id) > 0) return {};
  const uint64_t sequence = first_sequence_ + changes_.size();
  changes_.push_back(Change{id, zone, type, written_at, {}, std::nullopt});
  by_id_[id] = sequence;
  by_zone_[zone].push_back(sequence);
  if (added != nullptr) *added = true;
  std::vector<ServedLag> lags;
  if (auto early = early_.find(zone); early != early_.end()) {
    for (const auto& [secondary, report] : early->second) {
      if (report.upto < written_at) continue;
      for (ServedLag& lag :
           Complete(secondary, zone, report.upto, report.received_at, report.serial)) {
        lags.push_back(std::move(lag));
      }
    }
  }
  Expire(now);
  return lags;
}

void ChangeTracker::KeepEarly(const std::string& secondary, const std::string& zone,
                              EarlyReport report) {
  early_order_.push_back({report.received_at, zone, secondary});
  early_[zone][secondary] = report;
}

void ChangeTracker::ExpireEarly(TimePoint now) {
  while (!early_order_.empty() && early_order_.front().received_at + kEarlyReportWindow < now) {
    const EarlyKey& key = early_order_.front();
    auto zone = early_.find(key.zone);
    if (zone != early_.end()) {
      auto report = zone->second.find(key.secondary);
      // Only when no later report replaced it.
      if (report != zone->second.end() && report->second.received_at <= key.received_at) {
        zone->second.erase(report);
        if (zone->second.empty()) early_.erase(zone);
      }
    }
    early_order_.pop_front();
  }
}

void ChangeTracker::Expire(TimePoint now) {
  while (!changes_.empty() && (changes_.size() > limits_.max_changes ||
                               changes_.front().written_at + limits_.max_age < now)) {
    const Change& oldest = changes_.front();
    by_id_.erase(oldest.id);
    auto zone = by_zone_.find(oldest.zone);
    if (zone != by_zone_.end()) {
      std::vector<uint64_t>& sequences = zone->second;
      sequences.erase(std::remove(sequences.begin(), sequences.end(), first_sequence_),
                      sequences.end());
      if (sequences.empty()) {
        by_zone_.erase(zone);
        reporters_.erase(oldest.zone);
        failures_.erase(oldest.zone);
      }
    }
    changes_.pop_front();
    ++first_sequence_;
  }
}

std::vector<ServedLag> ChangeTracker::Complete(const std::string& secondary,
                                               const std::string& zone, TimePoint upto,
                                               TimePoint served_at,
                                               std::optional<uint32_t> serial) {
  std::vector<ServedLag> lags;
  if (auto failures = failures_.find(zone); failures != failures_.end()) {
    failures->second.erase(secondary);
  }
  auto zone_changes = by_zone_.find(zone);
  if (zone_changes == by_zone_.end()) return lags;
  const std::vector<uint64_t>& sequences = zone_changes->second;
  // Newest first; the changes of a zone arrive in the order they were written, so the first one
  // already served marks where the earlier ones were completed before.
  for (auto it = sequences.rbegin(); it != sequences.rend(); ++it) {
    Change& change = changes_[*it - first_sequence_];
    if (change.written_at > upto) continue;
    if (change.served.count(secondary) > 0) break;
    change.served[secondary] = served_at;
    if (!change.serial && serial) change.serial = serial;
    lags.push_back({secondary, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   served_at - change.written_at)});
  }
  return lags;
}

std::vector<ServedLag> ChangeTracker::Report(const std::string& secondary,
                                             const ZoneSyncReport& report, TimePoint received_at) {
  MutexLock lock(mutex_);
  ExpireEarly(received_at);
  // Who reported and who failed matter only for zones with changes held: kept for those alone,
  // so that a fleet of many zones and few changes holds little.
  const bool held = by_zone_.count(report.zone) > 0;
  if (held) reporters_[report.zone].insert(secondary);
  std::optional<TimePoint> read_at;
  if (!report.read_at.empty()) {
    if (auto parsed = ParseRfc3339(report.read_at); parsed.ok()) read_at = *parsed;
  }
  TimePoint upto;
  std::optional<uint32_t> serial;
  switch (report.outcome) {
    case ZoneSyncReport::Outcome::kFailed:
      if (held) failures_[report.zone][secondary] = Failure{received_at, report.error};
      return {};
    case ZoneSyncReport::Outcome::kDeleted:
      // Not served any more: so also by a report whose data time is unknown.
      upto = read_at.value_or(received_at);
      break;
    case ZoneSyncReport::Outcome::kSynced:
      if (!read_at) return {};  // an original provider's data: the event check decides
      upto = *read_at;
      serial = report.serial;
      break;
  }
  std::vector<ServedLag> lags = Complete(secondary, report.zone, upto, received_at, serial);
  if (lags.empty()) KeepEarly(secondary, report.zone, {upto, received_at, serial});
  return lags;
}

void ChangeTracker::Observe(const std::string& secondary, const std::string& zone,
                            TimePoint primary_read_at, TimePoint observed_at) {
  MutexLock lock(mutex_);
  if (by_zone_.count(zone) > 0) reporters_[zone].insert(secondary);
  Complete(secondary, zone, primary_read_at, observed_at, std::nullopt);
}

ChangeStatus ChangeTracker::StatusOf(const Change& change,
                                     const std::set<std::string>& active) const {
  ChangeStatus status;
  status.id = change.id;
  status.zone = change.zone;
  status.type = change.type;
  status.written_at = change.written_at;
  status.serial = change.serial;
  std::set<std::string> shown = active;
  if (auto reporters = reporters_.find(change.zone); reporters != reporters_.end()) {
    shown.insert(reporters->second.begin(), reporters->second.end());
  }
  for (const auto& [secondary, at] : change.served) shown.insert(secondary);
  const std::map<std::string, Failure>* failures = nullptr;
  if (auto it = failures_.find(change.zone); it != failures_.end()) failures = &it->second;
  status.in_sync = true;
  for (const std::string& id : shown) {
    SecondaryChangeStatus entry;
    entry.id = id;
    if (auto served = change.served.find(id); served != change.served.end()) {
      entry.state = SecondaryChangeStatus::State::kInSync;
      entry.served_at = served->second;
    } else if (active.count(id) == 0) {
      entry.state = SecondaryChangeStatus::State::kDown;
    } else {
      status.in_sync = false;
      entry.state = SecondaryChangeStatus::State::kPending;
      if (failures != nullptr) {
        if (auto failure = failures->find(id);
            failure != failures->end() && failure->second.at >= change.written_at) {
          entry.state = SecondaryChangeStatus::State::kFailed;
          entry.error = failure->second.error;
        }
      }
    }
    status.secondaries.push_back(std::move(entry));
  }
  return status;
}

std::optional<ChangeStatus> ChangeTracker::Get(const std::string& id,
                                               const std::set<std::string>& active) const {
  MutexLock lock(mutex_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return StatusOf(changes_[it->second - first_sequence_], active);
}

std::vector<ChangeStatus> ChangeTracker::ForZone(const std::string& zone,
                                                 const std::set<std::string>& active,
                                                 size_t limit) const {
  MutexLock lock(mutex_);
  std::vector<ChangeStatus> list;
  auto it = by_zone_.find(zone);
  if (it == by_zone_.end()) return list;
  for (auto sequence = it->second.rbegin(); sequence != it->second.rend() && list.size() < limit;
       ++sequence) {
    list.push_back(StatusOf(changes_[*sequence - first_sequence_], active));
  }
  return list;
}

std::vector<ChangeStatus> ChangeTracker::Latest(const std::set<std::string>& active,
                                                size_t limit) const {
  MutexLock lock(mutex_);
  std::vector<ChangeStatus> list;
  for (auto change = changes_.rbegin(); change != changes_.rend() && list.size() < limit;
       ++change) {
    list.push_back(StatusOf(*change, active));
  }
  return list;
}

std::optional<std::chrono::nanoseconds> ChangeTracker::OldestPendingAge(
    const std::set<std::string>& active, TimePoint now) const {
  MutexLock lock(mutex_);
  for (const Change& change : changes_) {
    const bool pending = std::any_of(active.begin(), active.end(), [&](const std::string& id) {
      return change.served.count(id) == 0;
    });
    if (pending) {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(now - change.written_at);
    }
  }
  return std::nullopt;
}

std::map<std::string, SecondaryBacklog> ChangeTracker::Backlog(const std::set<std::string>& active,
                                                               TimePoint now) const {
  std::map<std::string, SecondaryBacklog> backlog;
  std::map<std::string, std::set<std::string>> zones;  // secondary -> zones pending on it
  for (const std::string& id : active) backlog[id];
  MutexLock lock(mutex_);
  for (const Change& change : changes_) {  // oldest first: the first pending one is the oldest
    for (const std::string& id : active) {
      if (change.served.count(id) != 0) continue;
      SecondaryBacklog& entry = backlog[id];
      if (entry.changes++ == 0) {
        entry.oldest_age =
            std::max(std::chrono::nanoseconds(0),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(now - change.written_at));
      }
      zones[id].insert(change.zone);
    }
  }
  for (auto& [id, entry] : backlog) entry.zones = zones[id].size();
  return backlog;
}

size_t ChangeTracker::zones_held() const {
  MutexLock lock(mutex_);
  std::set<std::string> zones;
  for (const auto& [zone, changes] : by_zone_) zones.insert(zone);
  for (const auto& [zone, secondaries] : reporters_) zones.insert(zone);
  for (const auto& [zone, failures] : failures_) zones.insert(zone);
  return zones.size();
}

size_t ChangeTracker::size() const {
  MutexLock lock(mutex_);
  return changes_.size();
}

}  // namespace pdnsd
