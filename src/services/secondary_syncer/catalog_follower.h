// CatalogFollower: the secondary-syncer's side of the JetStream zone catalog
// (docs/architecture.md, "Zone versions", "The syncer follows the catalog").
//
// It binds to the catalog that the zone-provider made and never creates one (so a fleet
// whose provider is the original Go one keeps the core-NATS path): a broker without JetStream
// -> one warning, core NATS for good; JetStream but no catalog yet -> core NATS, and a bind
// again every kBindRetry on the Clock until the catalog exists. Once bound, its thread reads
// the whole catalog (a watch from revision 0), compares it with the local PowerDNS's zones in
// one API call (CompareWithLocal: a restart applies exactly what changed), switches the
// syncer to catalog mode and follows the catalog live: each change stores the zone's latest
// entry (the desired state) and marks the zone. The watcher resumes from its last revision by
// itself across disconnects and broker restarts (bus/jetstream.h, KvWatcher). The revision is
// kept in memory only: a restarted syncer reads the catalog again and compares it with its
// PowerDNS, whose zones and serials are the state that matters.
//
// Thread-safe. REQUIRES: the Bus, the Clock and the registry outlive the follower; Stop()
// (or the destructor) before the Bus goes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "distribution/catalog.h"
#include "pdns/api_client.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace pdnsd {

// --- Pure decisions (tests/unit/catalog_follower_rules_test.cc)
// -------------------------------------

enum class BindStep {
  kFollow,           // bound: follow the catalog
  kCoreNatsForGood,  // the broker has no JetStream: today's path, one warning, no retries
  kRetryLater,       // no catalog yet, or the broker could not be asked: bind again later
};
// After a bind attempt: `jetstream` is JetStream::Open's status, `catalog` ZoneCatalog::Bind's
// (looked at only when `jetstream` is Ok).
BindStep DecideBind(const Status& jetstream, const Status& catalog);

// The start comparison of the catalog (the latest entry per zone) with the local PowerDNS
// (zone -> the serial its API lists).
struct StartComparison {
  std::vector<std::string> mark;      // a version missing locally or at another serial; a
                                      // tombstone of a zone still there
  std::vector<std::string> in_place;  // everything else: nothing to do
  // Of `mark`, the versions the local PowerDNS lacks: their reconcile creates them without
  // asking PowerDNS first (one API call less per zone of a bootstrap).
  std::vector<std::string> absent_locally;
};
StartComparison CompareWithLocal(const std::map<std::string, distribution::CatalogEntry>& desired,
                                 const std::map<std::string, uint32_t>& local);

// What a zone event does to the syncer.
enum class ZoneEventAction {
  kMark,           // core NATS: the event is a hint, the zone-provider is asked
  kIgnore,         // catalog mode, broadcast: the provider answers it with a new version
  kRereadCatalog,  // catalog mode, targeted (<subject>.<id>): read the zone's entry, apply it
};
ZoneEventAction DecideZoneEvent(bool catalog_mode, bool targeted);

// --- The follower ---------------------------------------------------------------------------

class CatalogFollower {
 public:
  static constexpr std::chrono::seconds kBindRetry{5};
  // How long a bind attempt waits for the broker's first JetStream answer.
  static constexpr std::chrono::milliseconds kProbeTimeout{1000};

  // `absent_locally`: the local zone list just said PowerDNS lacks the zone.
  using MarkZone = std::function<void(const std::string& zone, bool absent_locally)>;
  using ListLocalZones = std::function<StatusOr<std::vector<PdnsZone>>()>;
  // Called once, after the bootstrap compared the catalog with the local zones and before it
  // marks any: the versions the local PowerDNS lacks, and its zone list. Returns the zones it
  // marked itself, which the bootstrap then leaves alone.
  using BeforeMarking = std::function<std::set<std::string>(
      const std::vector<std::string>& absent_locally, const std::vector<PdnsZone>& local)>;

  // `mark` marks a zone in the syncer's queue; `list_local` is the local PowerDNS's zone list
  // (ListZones); `before_marking` may be null. Registers the secondarysyncer_catalog_* metrics
  // in `registry`.
  CatalogFollower(Bus& bus, distribution::CatalogOptions options, Clock& clock, Logger logger,
                  prometheus::Registry& registry, MarkZone mark, ListLocalZones list_local,
                  BeforeMarking before_marking = nullptr);
  ~CatalogFollower();
  CatalogFollower(const CatalogFollower&) = delete;
  CatalogFollower& operator=(const CatalogFollower&) = delete;

  // Starts the thread (bind, read, compare, follow). Once.
  void Start();
  // Ends the thread (within the watch poll, or one JetStream request under way). Idempotent.
  void Stop() EXCLUDES(mutex_);

  // True once the catalog was read and compared: the syncer is in catalog mode for good.
  bool following() const { return following_; }
  // The latest entry of `zone` the follower knows (nullopt: the catalog has none).
  std::optional<distribution::CatalogRecord> Desired(const std::string& zone) const
      EXCLUDES(mutex_);
  // Reads `zone`'s entry from the catalog (a targeted event) and keeps it when it is newer.
  // NotFound when the catalog has no entry for it (the desired entry is then dropped);
  // Unavailable when not following.
  StatusOr<distribution::CatalogRecord> Reread(const std::string& zone) EXCLUDES(mutex_);
  // The zone text of `record`, a version; when its chunks are gone (replaced meanwhile), the
  // current entry is read and served instead, and *record set to it. NotFound when the zone's
  // current entry is a tombstone or absent.
  StatusOr<std::string> ReadText(const std::string& zone, distribution::CatalogRecord* record)
      EXCLUDES(mutex_);
  // The syncer applied the entry at `revision` (a version committed, a tombstone's zone gone).
  void CountApplied(uint64_t revision);

 private:
  struct Metrics;
  void Run() EXCLUDES(mutex_);
  // Binds, retrying every kBindRetry; nullptr when stopping or for good on core NATS.
  std::shared_ptr<distribution::ZoneCatalog> BindUntilFound() EXCLUDES(mutex_);
  // Reads the catalog up to where the broker stood, compares, switches to catalog mode.
  void Bootstrap(distribution::CatalogWatcher& watcher) EXCLUDES(mutex_);
  void Follow(distribution::CatalogWatcher& watcher) EXCLUDES(mutex_);
  // Keeps `change` as the zone's desired entry when it is newer than the one held; true when
  // it was kept.
  bool Store(const std::string& zone, uint64_t revision,
             const std::optional<distribution::CatalogEntry>& entry) EXCLUDES(mutex_);
  std::shared_ptr<distribution::ZoneCatalog> Catalog() const EXCLUDES(mutex_);
  // Waits on the Clock for `duration` or until Stop(); false when stopping.
  bool Pause(std::chrono::milliseconds duration) EXCLUDES(mutex_);
  void RaiseAppliedRevision(uint64_t revision);

  Bus& bus_;
  const distribution::CatalogOptions options_;
  Clock& clock_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  const MarkZone mark_;
  const BeforeMarking before_marking_;
  const ListLocalZones list_local_;
  std::thread thread_;
  std::atomic<bool> following_{false};
  std::atomic<uint64_t> revision_applied_{0};

  mutable Mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  std::shared_ptr<distribution::ZoneCatalog> catalog_ GUARDED_BY(mutex_);
  std::map<std::string, distribution::CatalogRecord> desired_ GUARDED_BY(mutex_);
  // Revisions of keys deleted or purged by hand, so that an older Get does not bring them back.
  std::map<std::string, uint64_t> removed_ GUARDED_BY(mutex_);
};

}  // namespace pdnsd
