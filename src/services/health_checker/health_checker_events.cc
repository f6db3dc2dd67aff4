// HealthChecker: the event check (docs/architecture.md, "Event check"): EventCheckWaitTime
// after a zone event, the zone on every active secondary against the primary.
#include "services/health_checker/health_checker.h"

#include "dns/soa_query.h"
#include "services/common/zone_event_intake.h"
#include "services/health_checker/announcement_plan.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

void HealthChecker::EventCheck(const std::string& zone) {
  // Before the query: a secondary found at the serial it answers has every change written until
  // now (change status).
  const auto primary_read_at = clock_->WallNow();
  std::optional<uint32_t> primary_serial;
  auto soa = QuerySoaSerial(config_.primary, zone, config_.dns_timeout);
  if (soa.ok()) {
    primary_serial = *soa;
  } else if (soa.status().code() == StatusCode::kNotFound) {
    auto info = powerdns_.GetZone(zone);
    if (info.ok() || info.status().code() != StatusCode::kNotFound) {
      logger_->warn("event check of {}: primary state unclear; skipped", zone);
      return;
    }
  } else {
    logger_->warn("event check of {}: {}", zone, soa.status().message());
    return;
  }
  {
    // What this check compares: the refresh need not announce it again (PlanRefresh).
    MutexLock lock(mutex_);
    checked_since_refresh_[zone] = primary_serial;
  }
  CheckCatalogEntry(zone, primary_serial);
  for (const ServiceRecord& secondary : ActiveSecondaries()) {
    auto state = SecondaryState(secondary.last.id, zone);
    if (!state.ok()) {
      logger_->warn("event check of {} on {}: {}", zone, secondary.last.id,
                    state.status().message());
      continue;
    }
    auto it = state->find(zone);
    const std::optional<uint32_t> secondary_serial =
        it == state->end() ? std::nullopt : std::optional<uint32_t>(it->second);
    if (auto type = EventCheckAnnouncement(primary_serial, secondary_serial)) {
      Announce(*type, zone, secondary.last.id, "event");
    } else {
      changes_.Observe(secondary.last.id, zone, primary_read_at, clock_->WallNow());
      UpdateZoneCounts(secondary.last.id, zone, primary_serial.has_value());
    }
  }
}

void HealthChecker::OnZoneEvent(const BusMessage& message) {
  const ZoneEventType type =
      common_.subjects.TypeOf(message.subject).value_or(ZoneEventType::kChange);
  auto event = ReceiveZoneEvent(type, message, logger_, metrics_->invalid);
  if (!event) return;
  metrics_->received_events.Add({{"event_type", ZoneEventTypeLabel(type)}}).Increment();
  if (!event->change_id.empty()) RecordChange(*event);
  {
    MutexLock lock(mutex_);
    // Ten events for a zone within the wait make one check.
    if (!event_checks_pending_.insert(event->zone).second) return;
  }
  timers_->ScheduleAfter(config_.event_check_wait, [this, zone = event->zone] {
    {
      // An event from now on schedules a new check; until this one is done the refresh
      // leaves the zone to it.
      MutexLock lock(mutex_);
      event_checks_pending_.erase(zone);
      event_checks_running_.insert(zone);
    }
    EventCheck(zone);
    MutexLock lock(mutex_);
    event_checks_running_.erase(zone);
  });
}

}  // namespace pdnsd
