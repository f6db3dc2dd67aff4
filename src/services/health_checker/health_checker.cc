// HealthChecker: construction, start and stop, and what every workflow shares (the active
// secondaries, publishing a zone event). The workflows are in health_checker_*.cc.
#include "services/health_checker/health_checker.h"

#include <string_view>

#include "model/subjects.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

HealthChecker::HealthChecker(HealthCheckerConfig config, const ServiceEnvironment& environment)
    : config_(std::move(config)),
      common_(environment.common),
      clock_(environment.clock),
      bus_(environment.bus),
      logger_(environment.logger),
      registry_(environment.registry),
      metrics_(std::make_unique<Metrics>(*registry_)),
      powerdns_(common_.powerdns,
                [this](const char*, bool ok) {
                  metrics_->api_calls.Add({{"state", ok ? "successful" : "failed"}}).Increment();
                }),
      liveness_(common_.ping_interval, *clock_),
      changes_(config_.changes),
      guard_(config_.mass_deletion_share),
      refresh_guard_(config_.mass_deletion_share) {
  for (const std::string& host : config_.static_secondaries) liveness_.AddStaticSecondary(host);
}

HealthChecker::~HealthChecker() { Stop(); }

Status HealthChecker::Start() {
  // catalog_ first: the heartbeat and event handlers (bus threads, then the check workers)
  // read it from their first message on (a race TSan saw when it was made after them).
  if (common_.jetstream.mode == JetStreamMode::kAuto) {
    catalog_ = std::make_unique<CatalogMirror>(*bus_, common_.jetstream.catalog, *clock_, logger_);
    catalog_->Start();
  }
  timers_ = std::make_unique<TimerQueue>(*clock_);
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
  auto reports = bus_->Subscribe(std::string(kSyncReportPrefix) + "*", "",
                                 [this](const BusMessage& m) { OnSyncReport(m); });
  if (!reports.ok()) return reports.status();
  subscriptions_.push_back(std::move(*reports));
  auto change_requests = bus_->Subscribe(kChangeStatusSubject, "",
                                         [this](const BusMessage& m) { OnChangeStatusRequest(m); });
  if (!change_requests.ok()) return change_requests.status();
  subscriptions_.push_back(std::move(*change_requests));
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  logger_->info("checking secondaries against primary {} (status on http://{}/status)",
                config_.primary.ToString(), status_address().ToString());
  return Status::Ok();
}

void HealthChecker::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  subscriptions_.clear();
  if (scheduler_.joinable()) scheduler_.join();
  if (catalog_) catalog_->Stop();
  if (timers_) timers_->Stop();
  if (checks_) checks_->Stop();
  if (status_) status_->Stop();
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
  if (Status s = bus_->Publish(subject, EncodeZoneEvent({type, zone, "", ""})); !s.ok()) {
    logger_->warn("cannot publish {} for {}: {}", subject, zone, s.message());
    return;
  }
  const std::map<std::string, std::string> labels = {{"event_type", ZoneEventTypeLabel(type)}};
  const std::string_view from = source;
  if (from == "event") metrics_->event_events.Add(labels).Increment();
  if (from == "interval") metrics_->interval_events.Add(labels).Increment();
  if (from == "signing sync") metrics_->signing_events.Add(labels).Increment();
  if (from == "catalog") metrics_->catalog_events.Add(labels).Increment();
  if (from == "refresh" || from == "signing" || from == "nsec3") {
    metrics_->refresh_events.Add(labels).Increment();
  }
  logger_->info("{} check: {} event for {} to {}", source, ZoneEventTypeLabel(type), zone,
                id.empty() ? "every secondary" : id);
}

ServiceDefinition HealthCheckerDefinition() {
  return DefineService<HealthChecker>(
      "pdns-health-checker", "compares every secondary with the primary and triggers repairs",
      &ReadHealthCheckerConfig);
}

}  // namespace pdnsd
