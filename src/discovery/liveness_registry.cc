#include "discovery/liveness_registry.h"

#include <utility>

#include "core/digest.h"

namespace pdnsd {
namespace {

constexpr char kSyncerService[] = "pdns-secondary-syncer";
constexpr double kWarningLoad = 10;  // above this a service is "warning"
constexpr int kCriticalIntervals = 3;
constexpr int kDeregisterIntervals = 10;

bool IsActive(Liveness state) { return state == Liveness::kPassing || state == Liveness::kWarning; }

}  // namespace

const char* LivenessName(Liveness state) {
  switch (state) {
    case Liveness::kPassing:
      return "passing";
    case Liveness::kWarning:
      return "warning";
    case Liveness::kCritical:
      return "critical";
    case Liveness::kDeregistered:
      return "deregistered";
  }
  return "critical";
}

LivenessRegistry::LivenessRegistry(std::chrono::milliseconds interval, Clock& clock)
    : interval_(interval), clock_(clock) {}

Liveness LivenessRegistry::Evaluate(const ServiceRecord& record) const {
  // A static host that never sent a heartbeat is taken as alive (an original Go syncer).
  if (!record.ever_heard) return Liveness::kPassing;
  const auto silence = clock_.Now() - record.last_seen;
  if (silence > kDeregisterIntervals * interval_) {
    // Configured hosts are never forgotten.
    return record.static_host ? Liveness::kCritical : Liveness::kDeregistered;
  }
  if (silence > kCriticalIntervals * interval_) return Liveness::kCritical;
  if (record.last.load1 > kWarningLoad) return Liveness::kWarning;
  return Liveness::kPassing;
}

LivenessRegistry::Change LivenessRegistry::Observe(const Heartbeat& heartbeat) {
  MutexLock lock(mutex_);
  auto [it, inserted] = services_.try_emplace(heartbeat.id);
  ServiceRecord& record = it->second;
  departed_.erase(heartbeat.id);
  Change change = Change::kKnown;
  if (inserted || !record.ever_heard || Evaluate(record) == Liveness::kDeregistered) {
    change = Change::kNew;
  } else if (record.last.boot_id != heartbeat.boot_id) {
    change = Change::kRestarted;
  }
  record.last = heartbeat;
  record.last_seen = clock_.Now();
  record.last_seen_wall = clock_.WallNow();
  record.ever_heard = true;
  record.state = Evaluate(record);
  return change;
}

void LivenessRegistry::AddStaticSecondary(const std::string& host) {
  const std::string id = Sha256Hex(host);
  MutexLock lock(mutex_);
  auto [it, inserted] = services_.try_emplace(id);
  ServiceRecord& record = it->second;
  record.static_host = true;
  if (inserted) {
    record.last.id = id;
    record.last.service = kSyncerService;
    record.last.host = host;
    record.state = Liveness::kPassing;
  }
}

std::vector<ServiceRecord> LivenessRegistry::ActiveSecondaries() const {
  MutexLock lock(mutex_);
  std::vector<ServiceRecord> active;
  for (const auto& [id, record] : services_) {  // std::map: sorted by id
    const Liveness state = Evaluate(record);
    if (record.static_host || (record.last.service == kSyncerService && IsActive(state))) {
      active.push_back(record);
      active.back().state = state;
    }
  }
  return active;
}

std::vector<ServiceRecord> LivenessRegistry::Snapshot() {
  MutexLock lock(mutex_);
  std::vector<ServiceRecord> records;
  for (auto it = services_.begin(); it != services_.end();) {
    const Liveness state = Evaluate(it->second);
    if (state == Liveness::kDeregistered) {
      it->second.state = state;
      departed_[it->first] = std::move(it->second);
      it = services_.erase(it);
      continue;
    }
    it->second.state = state;
    records.push_back(it->second);
    ++it;
  }
  PruneDeparted();
  return records;
}

std::vector<ServiceRecord> LivenessRegistry::Departed() {
  MutexLock lock(mutex_);
  PruneDeparted();
  std::vector<ServiceRecord> records;
  for (const auto& [id, record] : departed_) records.push_back(record);
  return records;
}

void LivenessRegistry::PruneDeparted() {
  const auto now = clock_.Now();
  std::erase_if(departed_, [&](const auto& entry) {
    return now - entry.second.last_seen > kDeregisterIntervals * interval_ + kDepartedRetention;
  });
}

std::optional<Liveness> LivenessRegistry::StateOf(const std::string& id) const {
  MutexLock lock(mutex_);
  auto it = services_.find(id);
  if (it == services_.end()) return std::nullopt;
  return Evaluate(it->second);
}

}  // namespace pdnsd
