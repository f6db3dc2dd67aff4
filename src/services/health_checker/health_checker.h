// HealthChecker: finds secondaries that are out of sync and makes their syncers repair them
// (docs/architecture.md, "The health-checker"). Exactly one per cluster, on the primary.
//
// It knows the active secondaries from heartbeats (LivenessRegistry) and [Secondaries] Hosts,
// the truth from what the primary *serves* (SOA over DNS), and each secondary's state from its
// zone-state map. Workflows:
//  - event check: EventCheckWaitTime after a zone event, compare that zone everywhere and send
//    a targeted event to each secondary that differs (a timer queue, not a thread per event);
//  - periodic check: every PeriodicalCheckIntervall, and at once for a secondary seen for the
//    first time or restarted: full diff -> targeted add/change/delete events; stray zones only
//    when the MassDeletionGuard allows (else an alert: log, metric, status);
//  - background refresh: every ActiveZoneSecondaryRefreshIntervall, zones whose served serial
//    moved (or that appeared/vanished) since it was last compared (by the previous refresh or
//    the zone's event check) are announced to everyone (PlanRefresh);
//  - signing sync: Thursdays 01:00 UTC a change event per DNSSEC zone, spread over a window;
//  - NSEC3: DNSSEC zones whose NSEC3PARAM is not "1 0 0 -" get it (never narrow) + an event;
//  - catalog mode ([JetStream] Mode auto and a catalog the zone-provider created): the periodic
//    and event checks also compare the catalog (CatalogMirror) with the primary and repair it
//    with broadcast events; secondaries are compared with the catalog (catalog_plan.h).
//  - change status: which secondaries serve each change made through the api-proxy, from the
//    syncers' sync reports and the event checks (ChangeTracker), answered to the proxy's
//    GET /changes over NATS; the propagation-lag histogram.
// GET /status on [Service] URL shows all of it as JSON.
// What to announce is decided by pure functions (announcement_plan.h, check_rules.h,
// zone_diff.h); this class gathers the facts and publishes. One class in several files, one
// workflow each: health_checker.cc (start, stop, publishing), _reads (primary and secondary
// state), _periodic, _refresh, _events, _dnssec (NSEC3, signing sync), _liveness (heartbeats),
// _scheduler, _status (GET /status), _catalog (catalog mode); health_checker_internal.h holds
// the metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/http_listener.h"
#include "core/logging.h"
#include "core/thread_annotations.h"
#include "core/worker_pool.h"
#include "discovery/liveness_registry.h"
#include "model/messages.h"
#include "pdns/api_client.h"
#include "services/common/service_main.h"
#include "services/health_checker/announcement_plan.h"
#include "services/health_checker/catalog_mirror.h"
#include "services/health_checker/change_tracker.h"
#include "services/health_checker/config.h"
#include "services/health_checker/timer_queue.h"
#include "services/health_checker/zone_diff.h"

namespace prometheus {
class Registry;
class Gauge;
}  // namespace prometheus
namespace pdnsd {

class HealthChecker : public Service {
 public:
  // All time comes from environment.clock: the scheduler's deadlines and ticks, the timer
  // queue, liveness ages and calendar time (/status, the signing schedule).
  HealthChecker(HealthCheckerConfig config, const ServiceEnvironment& environment);
  ~HealthChecker() override;

  Status Start() override;
  void Stop() override;

  HostPort status_address() const { return status_ ? status_->address() : HostPort{}; }
  // The /status document.
  std::string StatusJson() EXCLUDES(mutex_);
  // Runs a periodic check of every active secondary now and returns when it is done (tests,
  // and the scheduler itself).
  void RunPeriodicCheck() EXCLUDES(check_mutex_, mutex_);
  // The event check of one zone now (what a zone event triggers after EventCheckWaitTime).
  void RunEventCheck(const std::string& zone) { EventCheck(zone); }
  // One background refresh now.
  void RunRefresh() EXCLUDES(check_mutex_, mutex_);
  // One NSEC3 pass now.
  void RunNsec3Check();
  // The signing sync now: schedules a change event per DNSSEC zone over the window.
  void RunSigningSync();
  LivenessRegistry& liveness() { return liveness_; }

 private:
  struct Metrics;
  // What the primary serves: zone -> SOA serial, and which zones are DNSSEC-signed.
  struct PrimaryView {
    std::map<std::string, uint32_t> served;
    std::set<std::string> dnssec;
    std::set<std::string> unknown;  // listed, but its SOA query failed: left out of every diff
  };
  struct SecondaryReport {
    SecondaryZoneCounts zones;  // from the state map read at (and kept current since):
    std::optional<std::chrono::system_clock::time_point> zones_read_at;  // none: never answered
    std::string last_check;                                              // RFC 3339
    std::string error;  // why the last check could not run
  };

  // QueryPrimary() and, on success, its counts and time for /status and the metrics.
  StatusOr<PrimaryView> ReadPrimary() EXCLUDES(mutex_);
  StatusOr<PrimaryView> QueryPrimary();
  // The active secondaries now (counted as the original's service-discovery lookups).
  std::vector<ServiceRecord> ActiveSecondaries();
  StatusOr<std::map<std::string, uint32_t>> SecondaryState(const std::string& id,
                                                           const std::optional<std::string>& zone);
  // `catalog` (catalog mode, periodic checks): also compare the content of a few zones in sync by
  // serial (CheckContent); nullptr: serials only.
  void CheckSecondary(const ServiceRecord& secondary, const PrimaryView& primary, bool allow_stray,
                      const CatalogZones* catalog = nullptr) EXCLUDES(mutex_);
  // Catalog mode: the next few zones (PickDigestSample) that the secondary serves at the
  // catalog's serial, transferred from its PowerDNS (the DNS address its syncer advertises) and
  // compared with the catalog's version in canonical form (CanonicalZoneDigest); a zone whose
  // content differs gets a targeted change event.
  void CheckContent(const ServiceRecord& secondary, const PrimaryView& primary,
                    const std::map<std::string, uint32_t>& state, const CatalogZones& catalog)
      EXCLUDES(mutex_);
  // Signed zones the secondary serves with an RRSIG (over the SOA) that expires within
  // SignatureExpiryWindow get a targeted change event. Needs the syncer's advertised DNS address.
  void CheckSignatures(const ServiceRecord& secondary, const PrimaryView& primary,
                       const std::map<std::string, uint32_t>& state);
  void EventCheck(const std::string& zone) EXCLUDES(mutex_);
  // Catalog mode (health_checker_catalog.cc). The catalog when the mirror is bound and caught
  // up, else nullopt (the checks then work as without JetStream).
  std::optional<CatalogZones> UsableCatalog();
  // The periodic check's catalog repair: broadcast events for zones where catalog and primary
  // differ (deletions only when `allow_delete`); the counts go to /status and the metrics.
  void RepairCatalog(const PrimaryView& primary, const CatalogZones& catalog, bool allow_delete)
      EXCLUDES(mutex_);
  // What the secondaries are compared with: `primary`, or with a catalog its basis
  // (SecondaryComparisonBasis).
  static PrimaryView ComparisonView(const PrimaryView& primary,
                                    const std::optional<CatalogZones>& catalog);
  // The event check's catalog repair of one zone (`primary_serial` nullopt: the primary lacks
  // it), at most once per PeriodicalCheckIntervall per zone (CatalogRepairDue).
  void CheckCatalogEntry(const std::string& zone, std::optional<uint32_t> primary_serial)
      EXCLUDES(mutex_);
  void UpdateCatalogMetrics();
  void OnHeartbeat(const BusMessage& message) EXCLUDES(mutex_);
  void OnZoneEvent(const BusMessage& message) EXCLUDES(mutex_);
  // Change status (health_checker_changes.cc; docs/architecture.md, "Change status").
  void RecordChange(const ZoneEvent& event);
  void OnSyncReport(const BusMessage& message);
  // `secondary` was found serving `zone` as the primary does (in_sync), or found without it
  // where the primary has none: its zone counts improve at once (SecondaryZoneCounts).
  void UpdateZoneCounts(const std::string& secondary, const std::string& zone, bool in_sync)
      EXCLUDES(mutex_);
  void OnChangeStatusRequest(const BusMessage& message);
  void ObservePropagation(const std::vector<ServedLag>& served);
  std::set<std::string> ActiveSecondaryIds();
  void UpdateChangeMetrics();
  // Runs the periodic workflows when due on clock_; returns once Stop() was called.
  void SchedulerLoop() EXCLUDES(mutex_);
  // Publishes a zone event; targeted at `id` unless it is empty. `source` labels the metric.
  void Announce(ZoneEventType type, const std::string& zone, const std::string& id,
                const char* source);
  Status StartStatusServer();
  // Liveness gauges from the registry; scheduler thread only.
  void UpdateLivenessMetrics() EXCLUDES(mutex_);
  // The state /status and the metrics show for `record`.
  std::string DisplayedState(const ServiceRecord& record) const REQUIRES(mutex_);

  HealthCheckerConfig config_;
  CommonConfig common_;
  Clock* clock_;
  Bus* bus_;
  Logger logger_;
  // Shared with the environment: the metrics below live in it, so it must outlive them even
  // when the caller drops its ServiceEnvironment after construction.
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Metrics> metrics_;
  PdnsApiClient powerdns_;
  LivenessRegistry liveness_;
  ChangeTracker changes_;
  Mutex check_mutex_;                                 // one periodic check or refresh at a time
  MassDeletionGuard guard_ GUARDED_BY(check_mutex_);  // periodic and full checks
  MassDeletionGuard refresh_guard_ GUARDED_BY(check_mutex_);  // the background refresh's deletions
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<WorkerPool> checks_;  // full checks of new or restarted secondaries
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::unique_ptr<HttpListener> status_;    // GET /status
  std::unique_ptr<CatalogMirror> catalog_;  // [JetStream] Mode auto; null with Mode off
  std::thread scheduler_;
  struct ServiceSeries {
    std::map<std::string, std::string> labels;
    prometheus::Gauge* gauge = nullptr;
  };
  std::map<std::string, ServiceSeries> service_series_;  // scheduler thread only

  Mutex mutex_;
  std::condition_variable wake_;  // waits on mutex_: Stop() ends the scheduler's wait
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::optional<PrimaryView> last_primary_ GUARDED_BY(mutex_);
  // The serial each event check since the last refresh compared (PlanRefresh's `checked`).
  CheckedSerials checked_since_refresh_ GUARDED_BY(mutex_);
  std::set<std::string> event_checks_pending_ GUARDED_BY(mutex_);  // scheduled, not run
  std::set<std::string> event_checks_running_ GUARDED_BY(mutex_);
  std::map<std::string, size_t> content_cursor_ GUARDED_BY(mutex_);  // by secondary id
  // Catalog mode: when each zone's last catalog repair was broadcast.
  std::map<std::string, std::chrono::steady_clock::time_point> catalog_repaired_at_
      GUARDED_BY(mutex_);
  // The last periodic check's catalog comparison (nullopt before the first in catalog mode).
  std::optional<std::vector<std::string>> catalog_differing_ GUARDED_BY(mutex_);
  std::optional<std::chrono::system_clock::time_point> catalog_compared_at_ GUARDED_BY(mutex_);
  std::map<std::string, SecondaryReport> reports_ GUARDED_BY(mutex_);
  std::optional<size_t> primary_zones_ GUARDED_BY(mutex_);  // last read of the primary
  std::optional<size_t> primary_dnssec_zones_ GUARDED_BY(mutex_);
  std::optional<std::chrono::system_clock::time_point> primary_read_at_ GUARDED_BY(mutex_);
  std::string primary_error_ GUARDED_BY(mutex_);  // why the last read failed, "" when it did not
  std::string alert_ GUARDED_BY(mutex_);
  std::string next_signing_sync_ GUARDED_BY(mutex_);
};

// The service as its binary (pdns-health-checker) and the test harness build it: name, --help line
// and config reader (services/common/service_main.h).
ServiceDefinition HealthCheckerDefinition();

}  // namespace pdnsd
