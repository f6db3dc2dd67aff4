// HealthChecker: heartbeats (a new or restarted secondary gets a full check at once) and the
// liveness each known service is shown with on /status and in the metrics.
#include "services/health_checker/health_checker.h"

#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::OnHeartbeat(const BusMessage& message) {
  auto heartbeat = DecodeHeartbeat(message.data);
  if (!heartbeat.ok()) {
    metrics_->invalid.Increment();
    logger_->warn("ignoring invalid heartbeat on {}: {}", message.subject,
                  heartbeat.status().message());
    return;
  }
  // The subject names service and ID; the broker lets each role publish only its own service's
  // subject, so a body claiming another identity is refused.
  if (message.subject !=
      common_.heartbeat_prefix + "." + heartbeat->service + "." + heartbeat->id) {
    metrics_->invalid.Increment();
    logger_->warn("ignoring heartbeat of {} {} sent on {}", heartbeat->service, heartbeat->id,
                  message.subject);
    return;
  }
  const LivenessRegistry::Change change = liveness_.Observe(*heartbeat);
  if (heartbeat->service != kSyncerService || change == LivenessRegistry::Change::kKnown) return;
  logger_->info("secondary {} on {} {}: full check now", heartbeat->id, heartbeat->host,
                change == LivenessRegistry::Change::kNew ? "appeared" : "restarted");
  checks_->Submit([this, id = heartbeat->id] {
    MutexLock check_lock(check_mutex_);
    auto primary = ReadPrimary();
    if (!primary.ok()) {
      logger_->warn("full check of {}: {}", id, primary.status().message());
      return;
    }
    const bool allow_stray = guard_.Check(primary->served.size()).ok();
    const PrimaryView compared = ComparisonView(*primary, UsableCatalog());
    for (const ServiceRecord& secondary : ActiveSecondaries()) {
      if (secondary.last.id == id) CheckSecondary(secondary, compared, allow_stray);
    }
  });
}

std::string HealthChecker::DisplayedState(const ServiceRecord& record) const {
  if (!record.static_host || record.ever_heard) return LivenessName(record.state);
  // A listed host without heartbeats (an original Go syncer) shows only in its zone-state
  // replies: passing while it answers them, critical when it did not, unknown before the first
  // check asked it.
  auto report = reports_.find(record.last.id);
  if (report == reports_.end()) return "unknown";
  return report->second.zones_read_at && report->second.error.empty() ? "passing" : "critical";
}

void HealthChecker::UpdateLivenessMetrics() {
  std::map<std::string, int> counts;
  int silent = 0;
  int secondaries = 0;
  std::map<std::string, std::map<std::string, std::string>> current;  // id -> labels
  const std::vector<ServiceRecord> records = liveness_.Snapshot();
  {
    MutexLock lock(mutex_);
    for (const ServiceRecord& record : records) {
      const std::string state = DisplayedState(record);
      ++counts[state];
      if (record.static_host && !record.ever_heard) ++silent;
      if (record.static_host || record.last.service == kSyncerService) ++secondaries;
      current[record.last.id] = {
          {"id", record.last.id}, {"service", record.last.service}, {"state", state}};
    }
  }
  for (const char* state : {"passing", "warning", "critical", "unknown"}) {
    metrics_->liveness.Add({{"state", state}}).Set(counts[state]);
  }
  metrics_->silent_static.Set(silent);
  metrics_->secondaries.Set(secondaries);
  // One series per service instance, labelled with its state; gone once deregistered.
  for (auto it = service_series_.begin(); it != service_series_.end();) {
    auto now = current.find(it->first);
    if (now == current.end() || now->second != it->second.labels) {
      metrics_->service_state.Remove(it->second.gauge);
      it = service_series_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, labels] : current) {
    if (service_series_.count(id) != 0) continue;
    prometheus::Gauge& gauge = metrics_->service_state.Add(labels);
    gauge.Set(1);
    service_series_[id] = {labels, &gauge};
  }
}

}  // namespace pdnsd
