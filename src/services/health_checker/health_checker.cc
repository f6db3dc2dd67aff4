#include "services/health_checker/health_checker.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "core/metrics.h"
#include "core/parallel_for.h"

#include <nlohmann/json.hpp>

#include "dns/soa_query.h"
#include "model/json_fields.h"
#include "model/subjects.h"
#include "model/zone_name.h"
#include "services/health_checker/signing_schedule.h"

namespace pdnsd {
namespace {

constexpr const char* kSyncerService = "pdns-secondary-syncer";
constexpr const char* kNsec3Param = "1 0 0 -";  // RFC 9276

// Whole seconds from `then` to `now` (0 when the clock went back).
int64_t AgeSeconds(std::chrono::system_clock::time_point then,
                   std::chrono::system_clock::time_point now) {
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(now - then).count());
}

}  // namespace

struct HealthChecker::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : primary_zones(AddGauge(registry, "healthchecker_actual_primary_zone_count",
                               "Zones the primary serves (last refresh)")),
        secondaries(AddGauge(registry, "healthchecker_actual_secondary_count",
                             "Known secondaries: listed hosts and syncers heard of, in any state")),
        active_secondaries(AddGauge(registry, "healthchecker_actual_active_secondary_count",
                                    "Active secondaries (passing or warning, plus listed hosts)")),
        dnssec_zones(AddGauge(registry, "healthchecker_actual_dnssec_primary_zone_count",
                              "DNSSEC-signed zones the primary serves (last read)")),
        refresh_cycles(AddCounter(registry, "healthchecker_refresh_cycles_total",
                                  "Background refreshes of the primary's zones run")),
        received_events(AddCounterFamily(
            registry, "healthchecker_event_health_check_received_zone_events_total",
            "Zone events received (each schedules an event check)")),
        signing_events(AddCounterFamily(
            registry, "healthchecker_interval_signing_sync_published_zone_events_total",
            "Change events sent by the weekly signing sync")),
        api_calls(AddCounterFamily(registry, "healthchecker_powerdns_api_call_total",
                                   "Calls to the primary's PowerDNS API")),
        cli_calls(AddCounterFamily(registry, "healthchecker_powerdns_cli_call_total",
                                   "pdnsutil calls (always 0: NSEC3 is set through the API)")),
        discovery_calls(AddCounterFamily(
            registry, "healthchecker_service_discovery_call_total",
            "Lookups of the active secondaries (in the heartbeat registry: never fail)")),
        interval_cycles(AddCounter(registry, "healthchecker_interval_health_cycles_total",
                                   "Periodic checks run")),
        event_events(AddCounterFamily(
            registry, "healthchecker_event_health_check_published_zone_events_total",
            "Targeted zone events sent by the event check")),
        interval_events(
            AddCounterFamily(registry, "healthchecker_interval_health_published_zone_events_total",
                             "Targeted zone events sent by periodic checks")),
        refresh_events(
            AddCounterFamily(registry, "healthchecker_refresh_published_zone_events_total",
                             "Zone events sent for changes that bypassed the api-proxy")),
        signing_cycles(AddCounter(registry, "healthchecker_singing_sync_cycles_total",
                                  "Signing syncs run (the original's spelling)")),
        nsec3_cycles(AddCounter(registry, "healthchecker_ensure_nsec3_cyles_total",
                                "NSEC3 checks run (the original's spelling)")),
        mass_deletion_alerts(AddCounter(registry, "healthchecker_mass_deletion_alerts_total",
                                        "Cycles in which stray zones were not announced")),
        invalid(AddCounter(registry, "healthchecker_invalid_messages_total",
                           "Heartbeats, events and state replies rejected as malformed")),
        state_failures(AddCounter(registry, "healthchecker_state_request_failures_total",
                                  "Zone-state requests that failed or timed out")),
        liveness(
            AddGaugeFamily(registry, "healthchecker_services", "Known services by liveness state")),
        silent_static(AddGauge(registry, "healthchecker_listed_secondaries_without_heartbeat",
                               "[Secondaries] Hosts that never sent a heartbeat")),
        expiring_signatures(AddCounter(registry, "healthchecker_expiring_signature_zones_total",
                                       "Zones re-sent because a secondary served an RRSIG "
                                       "expiring within SignatureExpiryWindow")),
        service_state(
            AddGaugeFamily(registry, "healthchecker_service_liveness",
                           "1 for each known service instance, labelled with its state")) {
    for (const char* type : {"create", "change", "delete"}) {
      received_events.Add({{"event_type", type}});
      event_events.Add({{"event_type", type}});
      interval_events.Add({{"event_type", type}});
      refresh_events.Add({{"event_type", type}});
    }
    signing_events.Add({{"event_type", "change"}});
    for (const char* state : {"successful", "failed"}) {
      api_calls.Add({{"state", state}});
      cli_calls.Add({{"state", state}});
      discovery_calls.Add({{"state", state}});
    }
    for (const char* state : {"passing", "warning", "critical", "unknown"}) {
      liveness.Add({{"state", state}});
    }
  }
  prometheus::Gauge& primary_zones;
  prometheus::Gauge& secondaries;
  prometheus::Gauge& active_secondaries;
  prometheus::Gauge& dnssec_zones;
  prometheus::Counter& refresh_cycles;
  prometheus::Family<prometheus::Counter>& received_events;
  prometheus::Family<prometheus::Counter>& signing_events;
  prometheus::Family<prometheus::Counter>& api_calls;
  prometheus::Family<prometheus::Counter>& cli_calls;
  prometheus::Family<prometheus::Counter>& discovery_calls;
  prometheus::Counter& interval_cycles;
  prometheus::Family<prometheus::Counter>& event_events;
  prometheus::Family<prometheus::Counter>& interval_events;
  prometheus::Family<prometheus::Counter>& refresh_events;
  prometheus::Counter& signing_cycles;
  prometheus::Counter& nsec3_cycles;
  prometheus::Counter& mass_deletion_alerts;
  prometheus::Counter& invalid;
  prometheus::Counter& state_failures;
  prometheus::Family<prometheus::Gauge>& liveness;
  prometheus::Gauge& silent_static;
  prometheus::Counter& expiring_signatures;
  prometheus::Family<prometheus::Gauge>& service_state;
};

HealthChecker::HealthChecker(HealthCheckerConfig config, const ServiceEnvironment& environment)
    : config_(std::move(config)),
      common_(environment.common),
      clock_(environment.clock),
      bus_(environment.bus),
      logger_(environment.logger),
      metrics_(std::make_unique<Metrics>(*environment.registry)),
      powerdns_(common_.powerdns,
                [this](const char*, bool ok) {
                  metrics_->api_calls.Add({{"state", ok ? "successful" : "failed"}}).Increment();
                }),
      liveness_(common_.ping_interval, [clock = clock_] { return clock->Now(); }),
      guard_(config_.mass_deletion_share),
      refresh_guard_(config_.mass_deletion_share) {
  for (const std::string& host : config_.static_secondaries) liveness_.AddStaticSecondary(host);
}

HealthChecker::~HealthChecker() { Stop(); }

Status HealthChecker::Start() {
  timers_ = std::make_unique<TimerQueue>();
  checks_ = std::make_unique<WorkerPool>(2);
  if (Status s = StartStatusServer(); !s.ok()) return s;
  auto heartbeats = bus_->Subscribe(common_.heartbeat_prefix + ".>", "",
                                    [this](const BusMessage& message) { OnHeartbeat(message); });
  if (!heartbeats.ok()) return heartbeats.status();
  subscriptions_.push_back(std::move(*heartbeats));
  for (const auto& type_and_subject : common_.subjects.All()) {
    auto events = bus_->Subscribe(type_and_subject.second, "",
                                  [this](const BusMessage& m) { OnZoneEvent(m); });
    if (!events.ok()) return events.status();
    subscriptions_.push_back(std::move(*events));
  }
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  logger_->info("checking secondaries against primary {} (status on http://{}/status)",
                config_.primary.ToString(), status_address().ToString());
  return Status::Ok();
}

void HealthChecker::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  subscriptions_.clear();
  if (scheduler_.joinable()) scheduler_.join();
  if (timers_) timers_->Stop();
  if (checks_) checks_->Stop();
  if (status_) status_->Stop();
}

Status HealthChecker::StartStatusServer() {
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server->Get("/status", [this](const httplib::Request&, httplib::Response& response) {
    if (!RunCatching(logger_, "the status page",
                     [&] { response.set_content(StatusJson(), "application/json"); })) {
      response.status = 500;
    }
  });
  status_ = std::make_unique<HttpListener>(std::move(server), "the status page");
  return status_->Start(config_.status_listen);
}

StatusOr<HealthChecker::PrimaryView> HealthChecker::ReadPrimary() {
  auto view = QueryPrimary();
  std::lock_guard lock(mutex_);
  if (!view.ok()) {
    primary_error_ = view.status().message();
    return view;
  }
  primary_error_.clear();
  primary_zones_ = view->served.size();
  primary_dnssec_zones_ = view->dnssec.size();
  primary_read_at_ = clock_->WallNow();
  metrics_->primary_zones.Set(static_cast<double>(view->served.size()));
  metrics_->dnssec_zones.Set(static_cast<double>(view->dnssec.size()));
  return view;
}

StatusOr<HealthChecker::PrimaryView> HealthChecker::QueryPrimary() {
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) return zones.status();
  PrimaryView view;
  std::vector<uint32_t> serials(zones->size());
  std::vector<Status> errors(zones->size());
  ParallelFor(zones->size(), config_.workers, [&](size_t i) {
    auto serial = QuerySoaSerial(config_.primary, (*zones)[i].name, config_.dns_timeout);
    if (!serial.ok())
      serial = QuerySoaSerial(config_.primary, (*zones)[i].name, config_.dns_timeout);
    if (serial.ok()) {
      serials[i] = *serial;
    } else {
      errors[i] = serial.status();
    }
  });
  std::string first_failure;
  for (size_t i = 0; i < zones->size(); ++i) {
    const PdnsZone& zone = (*zones)[i];
    if (!errors[i].ok()) {
      // A zone the API lists but DNS does not serve (no SOA yet) is not served. Other failures
      // leave the zone out of this cycle's diffs rather than failing the whole cycle.
      if (errors[i].code() != StatusCode::kNotFound) {
        view.unknown.insert(zone.name);
        if (first_failure.empty()) first_failure = zone.name + ": " + errors[i].message();
      }
      continue;
    }
    view.served[zone.name] = serials[i];
    if (zone.dnssec) view.dnssec.insert(zone.name);
  }
  if (!zones->empty() && view.unknown.size() * 10 > zones->size()) {
    return Status::Unavailable("primary DNS " + config_.primary.ToString() +
                               " did not answer for " + std::to_string(view.unknown.size()) +
                               " of " + std::to_string(zones->size()) +
                               " zones (first: " + first_failure + ")");
  }
  return view;
}

StatusOr<std::map<std::string, uint32_t>> HealthChecker::SecondaryState(
    const std::string& id, const std::optional<std::string>& zone) {
  auto raw = bus_->Request(PeerSubject(config_.zone_state_prefix, id),
                           EncodeZoneStateRequest({zone, "", true}), config_.state_timeout);
  if (!raw.ok()) {
    metrics_->state_failures.Increment();
    return raw.status();
  }
  auto reply = DecodeZoneStateReply(*raw);
  if (!reply.ok()) {
    metrics_->state_failures.Increment();
    if (raw->find("error_code") == std::string::npos) metrics_->invalid.Increment();
    return Status::Unavailable("state of " + id + ": " + reply.status().message());
  }
  return std::move(reply->statemap);
}

std::vector<ServiceRecord> HealthChecker::ActiveSecondaries() {
  // The original asked Consul here (and counted failed lookups); the heartbeat registry is in
  // this process and always answers.
  metrics_->discovery_calls.Add({{"state", "successful"}}).Increment();
  std::vector<ServiceRecord> active = liveness_.ActiveSecondaries();
  metrics_->active_secondaries.Set(static_cast<double>(active.size()));
  return active;
}

void HealthChecker::Announce(ZoneEventType type, const std::string& zone, const std::string& id,
                             const char* source) {
  const std::string subject = common_.subjects.For(type, id);
  if (Status s = bus_->Publish(subject, EncodeZoneEvent({type, zone, ""})); !s.ok()) {
    logger_->warn("cannot publish {} for {}: {}", subject, zone, s.message());
    return;
  }
  const std::map<std::string, std::string> labels = {{"event_type", ZoneEventTypeLabel(type)}};
  const std::string_view from = source;
  if (from == "event") metrics_->event_events.Add(labels).Increment();
  if (from == "interval") metrics_->interval_events.Add(labels).Increment();
  if (from == "signing sync") metrics_->signing_events.Add(labels).Increment();
  if (from == "refresh" || from == "signing" || from == "nsec3") {
    metrics_->refresh_events.Add(labels).Increment();
  }
  logger_->info("{} check: {} event for {} to {}", source, ZoneEventTypeLabel(type), zone,
                id.empty() ? "every secondary" : id);
}

void HealthChecker::CheckSecondary(const ServiceRecord& secondary, const PrimaryView& primary,
                                   bool allow_stray) {
  const std::string& id = secondary.last.id;
  SecondaryReport report;
  report.last_check = FormatRfc3339(clock_->WallNow());
  auto state = SecondaryState(id, std::nullopt);
  if (!state.ok()) {
    {
      // The counts of the last state map it did answer stay, with their time.
      std::lock_guard lock(mutex_);
      if (auto it = reports_.find(id); it != reports_.end()) report = it->second;
    }
    report.last_check = FormatRfc3339(clock_->WallNow());
    report.error = state.status().message();
    logger_->warn("secondary {} skipped this cycle: {}", id, report.error);
  } else {
    report.zones_read_at = clock_->WallNow();
    for (const std::string& zone : primary.unknown) state->erase(zone);
    const ZoneDiff diff = DiffZones(primary.served, *state);
    for (const auto& zone : diff.missing) Announce(ZoneEventType::kAdd, zone, id, "interval");
    for (const auto& zone : diff.differing) Announce(ZoneEventType::kChange, zone, id, "interval");
    if (allow_stray) {
      for (const auto& zone : diff.stray) Announce(ZoneEventType::kDelete, zone, id, "interval");
    }
    CheckSignatures(secondary, primary, *state);
    report.in_sync = diff.in_sync;
    report.behind = diff.differing.size();
    report.missing = diff.missing.size();
    report.stray = diff.stray.size();
  }
  std::lock_guard lock(mutex_);
  reports_[id] = report;
}

void HealthChecker::CheckSignatures(const ServiceRecord& secondary, const PrimaryView& primary,
                                    const std::map<std::string, uint32_t>& state) {
  if (secondary.last.dns_address.empty()) return;
  auto address = ParseHostPort(secondary.last.dns_address);
  if (!address.ok()) return;
  std::vector<std::string> zones;
  for (const std::string& zone : primary.dnssec) {
    if (state.count(zone) != 0) zones.push_back(zone);
  }
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->WallNow().time_since_epoch())
          .count();
  const int64_t limit =
      now + std::chrono::duration_cast<std::chrono::seconds>(config_.signature_expiry).count();
  std::vector<char> expiring(zones.size(), 0);
  ParallelFor(zones.size(), config_.workers, [&](size_t i) {
    auto soa = QuerySoa(*address, zones[i], config_.dns_timeout, /*dnssec=*/true);
    expiring[i] = soa.ok() && soa->rrsig_expiration != 0 && soa->rrsig_expiration < limit;
  });
  for (size_t i = 0; i < zones.size(); ++i) {
    if (!expiring[i]) continue;
    metrics_->expiring_signatures.Increment();
    Announce(ZoneEventType::kChange, zones[i], secondary.last.id, "signing");
  }
}

void HealthChecker::RunPeriodicCheck() {
  std::lock_guard check_lock(check_mutex_);
  metrics_->interval_cycles.Increment();
  auto primary = ReadPrimary();
  const Status allowed =
      guard_.Check(primary.ok() ? std::optional<size_t>(primary->served.size()) : std::nullopt);
  {
    std::lock_guard lock(mutex_);
    alert_ = allowed.ok() ? "" : allowed.message();
  }
  if (!primary.ok()) {
    // The cause first: the guard's alert below only says that the primary did not answer.
    logger_->error("periodic check: cannot read the primary: {}", primary.status().message());
  }
  if (!allowed.ok()) {
    metrics_->mass_deletion_alerts.Increment();
    logger_->error("ALERT: no stray zone is announced this cycle: {}", allowed.message());
  }
  if (!primary.ok()) return;
  const auto secondaries = ActiveSecondaries();
  for (const ServiceRecord& secondary : secondaries) {
    if (secondary.static_host && !secondary.ever_heard) {
      logger_->warn("listed secondary {} ({}) has never sent a heartbeat", secondary.last.id,
                    secondary.last.host);
    }
    CheckSecondary(secondary, *primary, allowed.ok());
  }
}

void HealthChecker::RunRefresh() {
  std::lock_guard check_lock(check_mutex_);
  metrics_->refresh_cycles.Increment();
  auto primary = ReadPrimary();
  if (!primary.ok()) {
    logger_->warn("background refresh: {}", primary.status().message());
    return;
  }
  std::optional<PrimaryView> previous;
  std::set<std::string> evented;
  {
    std::lock_guard lock(mutex_);
    previous = last_primary_;
    evented.swap(evented_since_refresh_);
    last_primary_ = *primary;
  }
  if (!previous) return;
  for (const auto& [zone, serial] : primary->served) {
    if (evented.count(zone) != 0) continue;
    auto before = previous->served.find(zone);
    if (before == previous->served.end()) {
      Announce(ZoneEventType::kAdd, zone, "", "refresh");
    } else if (before->second != serial) {
      Announce(ZoneEventType::kChange, zone, "", "refresh");
    }
  }
  // Vanished zones, unless the primary's list shrank suspiciously.
  if (Status allowed = refresh_guard_.Check(primary->served.size()); !allowed.ok()) {
    logger_->error("ALERT: background refresh announces no deletion: {}", allowed.message());
    metrics_->mass_deletion_alerts.Increment();
    std::lock_guard lock(mutex_);
    alert_ = allowed.message();
    return;
  }
  for (const auto& [zone, serial] : previous->served) {
    if (primary->served.count(zone) == 0 && primary->unknown.count(zone) == 0 &&
        evented.count(zone) == 0) {
      Announce(ZoneEventType::kDelete, zone, "", "refresh");
    }
  }
}

void HealthChecker::RunNsec3Check() {
  metrics_->nsec3_cycles.Increment();
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) {
    logger_->warn("NSEC3 check: {}", zones.status().message());
    return;
  }
  for (const PdnsZone& listed : *zones) {
    if (!listed.dnssec) continue;
    auto zone = powerdns_.GetZone(listed.name);
    if (!zone.ok()) {
      logger_->warn("NSEC3 check of {}: {}", listed.name, zone.status().message());
      continue;
    }
    if (zone->nsec3param == kNsec3Param && !zone->nsec3narrow) continue;
    logger_->info("{}: NSEC3PARAM \"{}\" -> \"{}\"", zone->name, zone->nsec3param, kNsec3Param);
    if (Status s = powerdns_.SetNsec3Param(zone->name, kNsec3Param); !s.ok()) {
      logger_->warn("{}: cannot set NSEC3PARAM: {}", zone->name, s.message());
      continue;
    }
    Announce(ZoneEventType::kChange, zone->name, "", "nsec3");
  }
}

void HealthChecker::RunSigningSync() {
  metrics_->signing_cycles.Increment();
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) {
    logger_->warn("signing sync: {}", zones.status().message());
    return;
  }
  std::vector<std::string> signed_zones;
  for (const PdnsZone& zone : *zones) {
    if (zone.dnssec) signed_zones.push_back(zone.name);
  }
  logger_->info("signing sync: {} DNSSEC zones over {} s", signed_zones.size(),
                config_.signing_window.count() / 1000);
  for (size_t i = 0; i < signed_zones.size(); ++i) {
    timers_->ScheduleAfter(SpreadOffset(i, signed_zones.size(), config_.signing_window),
                           [this, zone = signed_zones[i]] {
                             Announce(ZoneEventType::kChange, zone, "", "signing sync");
                           });
  }
}

void HealthChecker::EventCheck(const std::string& zone) {
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
  for (const ServiceRecord& secondary : ActiveSecondaries()) {
    auto state = SecondaryState(secondary.last.id, zone);
    if (!state.ok()) {
      logger_->warn("event check of {} on {}: {}", zone, secondary.last.id,
                    state.status().message());
      continue;
    }
    auto it = state->find(zone);
    if (primary_serial) {
      if (it == state->end()) {
        Announce(ZoneEventType::kAdd, zone, secondary.last.id, "event");
      } else if (it->second != *primary_serial) {
        Announce(ZoneEventType::kChange, zone, secondary.last.id, "event");
      }
    } else if (it != state->end()) {
      Announce(ZoneEventType::kDelete, zone, secondary.last.id, "event");
    }
  }
}

void HealthChecker::OnZoneEvent(const BusMessage& message) {
  const ZoneEventType type =
      common_.subjects.TypeOf(message.subject).value_or(ZoneEventType::kChange);
  auto event = DecodeZoneEvent(type, message.data);
  if (!event.ok()) {
    metrics_->invalid.Increment();
    logger_->warn("ignoring invalid zone event on {}: {}", message.subject,
                  event.status().message());
    return;
  }
  metrics_->received_events.Add({{"event_type", ZoneEventTypeLabel(type)}}).Increment();
  {
    std::lock_guard lock(mutex_);
    evented_since_refresh_.insert(event->zone);
    // Ten events for a zone within the wait make one check.
    if (!event_checks_pending_.insert(event->zone).second) return;
  }
  timers_->ScheduleAfter(config_.event_check_wait, [this, zone = event->zone] {
    {
      std::lock_guard lock(mutex_);
      event_checks_pending_.erase(zone);
    }
    EventCheck(zone);
  });
}

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
    std::lock_guard check_lock(check_mutex_);
    auto primary = ReadPrimary();
    if (!primary.ok()) {
      logger_->warn("full check of {}: {}", id, primary.status().message());
      return;
    }
    const bool allow_stray = guard_.Check(primary->served.size()).ok();
    for (const ServiceRecord& secondary : ActiveSecondaries()) {
      if (secondary.last.id == id) CheckSecondary(secondary, *primary, allow_stray);
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
    std::lock_guard lock(mutex_);
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

void HealthChecker::SchedulerLoop() {
  using Steady = std::chrono::steady_clock;
  RunCatching(logger_, "the zone refresh",
              [this] { RunRefresh(); });  // the baseline for later refreshes
  if (config_.ensure_nsec3) RunNsec3Check();
  auto next_periodic =
      Steady::now() + std::min(config_.periodic_interval, common_.ping_interval * 2);
  auto next_refresh = Steady::now() + config_.refresh_interval;
  auto next_nsec3 = Steady::now() + config_.nsec3_interval;
  auto next_signing = NextSigningSync(clock_->WallNow());
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      next_signing_sync_ = FormatRfc3339(next_signing);
    }
    UpdateLivenessMetrics();
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      if (stopping_) return;
    }
    const auto now = Steady::now();
    if (now >= next_periodic) {
      RunCatching(logger_, "the periodic check", [this] { RunPeriodicCheck(); });
      next_periodic = Steady::now() + config_.periodic_interval;
    }
    if (now >= next_refresh) {
      RunCatching(logger_, "the zone refresh", [this] { RunRefresh(); });
      next_refresh = Steady::now() + config_.refresh_interval;
    }
    if (config_.ensure_nsec3 && now >= next_nsec3) {
      RunCatching(logger_, "the NSEC3 check", [this] { RunNsec3Check(); });
      next_nsec3 = Steady::now() + config_.nsec3_interval;
    }
    if (clock_->WallNow() >= next_signing) {
      RunCatching(logger_, "the signing sync", [this] { RunSigningSync(); });
      next_signing = NextSigningSync(clock_->WallNow());
    }
  }
}

std::string HealthChecker::StatusJson() {
  using nlohmann::json;
  const auto now = clock_->WallNow();
  std::lock_guard lock(mutex_);
  json secondaries = json::array();
  json services = json::array();
  for (const ServiceRecord& record : liveness_.Snapshot()) {
    json entry = {{"id", record.last.id},
                  {"service", record.last.service},
                  {"host", record.last.host},
                  {"version", record.last.version},
                  {"state", DisplayedState(record)},
                  {"load1", record.last.load1},
                  {"listed", record.static_host},
                  {"heartbeats", record.ever_heard},
                  {"last_heartbeat",
                   record.ever_heard ? json(FormatRfc3339(record.last_seen_wall)) : json(nullptr)}};
    if (record.last.service == kSyncerService || record.static_host) {
      auto report = reports_.find(record.last.id);
      if (report != reports_.end()) {
        if (const auto& read_at = report->second.zones_read_at) {
          entry["zones"] = {{"in_sync", report->second.in_sync},
                            {"behind", report->second.behind},
                            {"missing", report->second.missing},
                            {"stray", report->second.stray}};
          entry["zones_read_at"] = FormatRfc3339(*read_at);
          entry["zones_age_seconds"] = AgeSeconds(*read_at, now);
        }
        entry["last_check"] = report->second.last_check;
        if (!report->second.error.empty()) entry["error"] = report->second.error;
      }
      secondaries.push_back(entry);
    } else {
      services.push_back(entry);
    }
  }
  json primary = {
      {"zones", primary_zones_ ? json(*primary_zones_) : json(nullptr)},
      {"dnssec_zones", primary_dnssec_zones_ ? json(*primary_dnssec_zones_) : json(nullptr)},
      {"zones_read_at", primary_read_at_ ? json(FormatRfc3339(*primary_read_at_)) : json(nullptr)},
      {"zones_age_seconds",
       primary_read_at_ ? json(AgeSeconds(*primary_read_at_, now)) : json(nullptr)},
      {"error", primary_error_.empty() ? json(nullptr) : json(primary_error_)},
      {"alert", alert_.empty() ? json(nullptr) : json(alert_)}};
  json doc = {{"primary", primary},
              {"secondaries", secondaries},
              {"services", services},
              {"next_signing_sync", next_signing_sync_},
              {"generated_at", FormatRfc3339(now)}};
  return EncodeJson(doc, 2);
}

ServiceDefinition HealthCheckerDefinition() {
  return DefineService<HealthChecker>(
      "pdns-health-checker", "compares every secondary with the primary and triggers repairs",
      &ReadHealthCheckerConfig);
}

}  // namespace pdnsd
