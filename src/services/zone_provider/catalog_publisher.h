// CatalogPublisher: the zone-provider as the one writer of the JetStream catalog
// (docs/architecture.md, "Zone versions: the writer").
//
// Zone events (the broadcast subjects of [ZoneEventTopics], queue group
// "zone-provider-catalog": several providers split them) and sweeps of the primary's zone list
// mark zones in a ReconcileQueue, so that marks coalesce and a zone marked while its transfer
// runs is transferred again afterwards (a transfer that started before an event was published
// is never taken as its answer). A worker takes a zone, reads its catalog record, transfers the
// zone from the primary once and publishes the version unless serial and digest equal the
// entry's; Conflict (another writer was first) marks the zone again; transient errors retry
// with RetryBackoff. A zone the primary does not have (only the API's 404 confirms it,
// ConfirmAbsence) becomes due for deletion; the deletion gate (DecideDeletions, once per tick)
// releases due deletions or holds them all (mass-deletion guard: one error line, the gauge
// zoneprovider_catalog_deletions_held); a released zone's worker confirms again and writes the
// tombstone. Decisions: catalog_rules.h.
//
// One thread (the catalog thread) opens the catalog (retrying while the broker cannot be
// asked), follows it with a watch into a mirror, sweeps and runs the gate; `workers` threads
// transfer. Start() returns at once. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/logging.h"
#include "core/net.h"
#include "core/reconcile_queue.h"
#include "core/thread_annotations.h"
#include "distribution/catalog.h"
#include "pdns/api_client.h"
#include "services/common/service_config.h"
#include "services/zone_provider/catalog_rules.h"

namespace prometheus {
class Registry;
}

namespace pdnsd {

struct CatalogPublisherOptions {
  HostPort primary;                               // the primary's DNS (AXFR)
  std::chrono::milliseconds axfr_timeout{10000};  // each transfer
  int workers = 4;                                // [JetStream] PublishWorkers
  // [JetStream] SweepInterval: how often the primary's zone list is compared with the catalog
  // (but at most a tenth of the time is spent sweeping); 0: only once, when the catalog is
  // opened.
  std::chrono::milliseconds sweep_interval{1000};
  double mass_deletion_share = 0.5;  // [JetStream] MassDeletionPercent / 100
  std::string queue_group = "zone-provider-catalog";
  std::chrono::milliseconds retry_max{10000};  // the longest RetryBackoff of a zone
  std::chrono::milliseconds tick{1000};        // the deletion gate's period
};

class CatalogPublisher {
 public:
  // REQUIRES: bus, api, registry and clock outlive the publisher.
  CatalogPublisher(CatalogPublisherOptions options, const CommonConfig& common, Bus& bus,
                   const PdnsApiClient& api, const Logger& logger, prometheus::Registry& registry,
                   Clock& clock);
  ~CatalogPublisher();  // calls Stop()
  CatalogPublisher(const CatalogPublisher&) = delete;
  CatalogPublisher& operator=(const CatalogPublisher&) = delete;

  // Opens the catalog once when the bus is connected: NotFound (the broker has no JetStream)
  // logs one warning and returns false, and nothing else happens. Otherwise starts the catalog
  // thread (which keeps trying to open the catalog while the broker cannot be asked; NotFound
  // then ends it with the same warning) and returns true.
  bool Start();
  void Stop();

  // The zones marked or being transferred.
  size_t backlog() const { return queue_.pending() + queue_.in_progress(); }

 private:
  struct Metrics;
  enum class Outcome { kDone, kAgain, kRetry };

  void RunCatalog();
  bool OpenCatalog();  // on the catalog thread; false once stopping or without JetStream
  void RunWorker();
  // Marks `zone` for a transfer that must happen (an event, a retry, a released deletion).
  void MarkForTransfer(const std::string& zone,
                       std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  Outcome Transfer(const std::string& zone);
  // `read_at`: when the transfer that found the zone gone began (the tombstone's read_at).
  Outcome Absent(const std::string& zone, const std::optional<distribution::CatalogRecord>& current,
                 const std::string& read_at);
  void OnEvent(const BusMessage& message);
  void Sweep();
  void Gate();
  void Apply(const distribution::CatalogChange& change);
  void WarnNoJetStream();
  // Waits up to `timeout` or until Stop(); false once stopping.
  bool Pause(std::chrono::milliseconds timeout);

  const CatalogPublisherOptions options_;
  const CommonConfig common_;
  Bus& bus_;
  const PdnsApiClient& api_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  Clock& clock_;  // wall time: the versions' read_at
  ReconcileQueue queue_;

  std::unique_ptr<distribution::ZoneCatalog> catalog_;  // set once by Start or the catalog thread
  std::vector<std::unique_ptr<Subscription>> subscriptions_;  // the catalog thread's
  std::thread catalog_thread_;
  std::vector<std::thread> workers_;

  // The catalog thread's own state.
  std::unique_ptr<distribution::CatalogWatcher> watcher_;
  std::map<std::string, CatalogZoneState> mirror_;
  std::map<std::string, SweepObservation> observations_;
  size_t live_zones_ = 0;
  size_t last_due_ = 0;
  bool holding_ = false;

  mutable Mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::set<std::string> due_ GUARDED_BY(mutex_);       // confirmed absent, waiting for the gate
  std::set<std::string> released_ GUARDED_BY(mutex_);  // the gate released: tombstone them
  std::map<std::string, int> attempts_ GUARDED_BY(mutex_);         // failed transfers in a row
  std::map<std::string, MarkReasons> reasons_ GUARDED_BY(mutex_);  // why marked, until taken
};

}  // namespace pdnsd
