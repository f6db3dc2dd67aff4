// HealthChecker: change status (docs/architecture.md, "Change status"). Zone events with a change
// id and the syncers' sync reports feed the ChangeTracker; the api-proxy asks it for GET /changes
// over NATS; the propagation lag goes to a histogram per secondary.
#include <prometheus/histogram.h>

#include "services/health_checker/health_checker.h"

#include "model/subjects.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::RecordChange(const ZoneEvent& event) {
  // The proxy's answer time is in the id (the event's own time is when it was published);
  // an id of another form falls back to the event's time, then to now.
  std::optional<std::chrono::system_clock::time_point> written_at = ChangeIdTime(event.change_id);
  if (!written_at) {
    if (auto at = ParseRfc3339(event.time); at.ok()) written_at = *at;
  }
  const auto now = clock_->WallNow();
  ObservePropagation(
      changes_.Add(event.change_id, event.zone, event.type, written_at.value_or(now), now));
}

void HealthChecker::OnSyncReport(const BusMessage& message) {
  // The subject names the secondary: the broker lets each syncer publish only its own
  // (config/nats-server.conf), so the body cannot speak for another one.
  const std::string_view prefix = kSyncReportPrefix;
  const std::string secondary = message.subject.substr(prefix.size());
  auto report = DecodeZoneSyncReport(message.data);
  if (!report.ok() || secondary.empty()) {
    metrics_->sync_reports.Add({{"outcome", "invalid"}}).Increment();
    metrics_->invalid.Increment();
    logger_->warn("ignoring invalid sync report on {}: {}", message.subject,
                  report.ok() ? "no secondary ID" : report.status().message());
    return;
  }
  const char* outcome = report->outcome == ZoneSyncReport::Outcome::kSynced    ? "synced"
                        : report->outcome == ZoneSyncReport::Outcome::kDeleted ? "deleted"
                                                                               : "failed";
  metrics_->sync_reports.Add({{"outcome", outcome}}).Increment();
  ObservePropagation(changes_.Report(secondary, *report, clock_->WallNow()));
  if (report->outcome != ZoneSyncReport::Outcome::kFailed) {
    UpdateZoneCounts(secondary, report->zone, report->outcome == ZoneSyncReport::Outcome::kSynced);
  }
}

void HealthChecker::UpdateZoneCounts(const std::string& secondary, const std::string& zone,
                                     bool in_sync) {
  MutexLock lock(mutex_);
  auto report = reports_.find(secondary);
  if (report == reports_.end()) return;
  SecondaryZoneCounts& counts = report->second.zones;
  in_sync ? counts.FoundInSync(zone) : counts.FoundGone(zone);
}

void HealthChecker::ObservePropagation(const std::vector<ServedLag>& served) {
  for (const ServedLag& lag : served) {
    metrics_->propagation.Add({{"secondary", lag.secondary}}, Metrics::PropagationBuckets())
        .Observe(std::chrono::duration<double>(lag.lag).count());
  }
}

std::set<std::string> HealthChecker::ActiveSecondaryIds() {
  // Syncers heard of: a listed host that never sent a heartbeat has no syncer to report.
  std::set<std::string> ids;
  for (const ServiceRecord& record : liveness_.ActiveSecondaries()) {
    if (record.ever_heard) ids.insert(record.last.id);
  }
  return ids;
}

void HealthChecker::OnChangeStatusRequest(const BusMessage& message) {
  if (message.reply.empty()) return;
  auto request = DecodeChangeStatusRequest(message.data);
  std::string reply;
  if (!request.ok()) {
    metrics_->invalid.Increment();
    reply = EncodeErrorReply("", request.status());
  } else if (!request->id.empty()) {
    auto status = changes_.Get(request->id, ActiveSecondaryIds());
    reply = status ? EncodeChangeStatus(*status)
                   : EncodeErrorReply("", Status::NotFound("no change " + request->id +
                                                           " (unknown, or older than the "
                                                           "history kept: [ChangeStatus])"));
  } else {
    reply = EncodeChangeList(changes_.ForZone(request->zone, ActiveSecondaryIds(), request->limit));
  }
  if (Status s = bus_->Respond(message, reply); !s.ok()) {
    logger_->warn("cannot answer a change-status request: {}", s.message());
  }
}

void HealthChecker::UpdateChangeMetrics() {
  const std::set<std::string> active = ActiveSecondaryIds();
  const auto now = clock_->WallNow();
  const auto oldest = changes_.OldestPendingAge(active, now);
  metrics_->oldest_pending.Set(oldest ? std::chrono::duration<double>(*oldest).count() : 0.0);
  metrics_->changes_tracked.Set(static_cast<double>(changes_.size()));
  std::map<prometheus::Labels, double> changes, zones, ages, states;
  for (const auto& [id, backlog] : changes_.Backlog(active, now)) {
    const prometheus::Labels labels = {{"secondary", id}};
    changes[labels] = static_cast<double>(backlog.changes);
    zones[labels] = static_cast<double>(backlog.zones);
    ages[labels] = std::chrono::duration<double>(backlog.oldest_age).count();
  }
  {
    MutexLock lock(mutex_);
    for (const std::string& id : active) {
      auto report = reports_.find(id);
      if (report == reports_.end() || !report->second.zones_read_at) continue;
      const SecondaryZoneCounts& counts = report->second.zones;
      for (const auto& [state, count] :
           {std::pair{"in_sync", counts.in_sync}, std::pair{"behind", counts.behind.size()},
            std::pair{"missing", counts.missing.size()}, std::pair{"stray", counts.stray.size()}}) {
        states[{{"secondary", id}, {"state", state}}] = static_cast<double>(count);
      }
    }
  }
  metrics_->pending_changes_series.Update(changes);
  metrics_->pending_zones_series.Update(zones);
  metrics_->oldest_pending_series.Update(ages);
  metrics_->secondary_zones_series.Update(states);
}

}  // namespace pdnsd
