#include "services/secondary_syncer/catalog_follower.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <set>
#include <utility>

#include "core/metrics.h"

namespace pdnsd {

using distribution::CatalogEntry;
using distribution::CatalogRecord;
using distribution::ZoneCatalog;

BindStep DecideBind(const Status& jetstream, const Status& catalog) {
  if (!jetstream.ok()) {
    return jetstream.code() == StatusCode::kNotFound ? BindStep::kCoreNatsForGood
                                                     : BindStep::kRetryLater;
  }
  return catalog.ok() ? BindStep::kFollow : BindStep::kRetryLater;
}

StartComparison CompareWithLocal(const std::map<std::string, CatalogEntry>& desired,
                                 const std::map<std::string, uint32_t>& local) {
  StartComparison comparison;
  for (const auto& [zone, entry] : desired) {
    const auto it = local.find(zone);
    const bool there = it != local.end();
    const bool in_place = entry.deleted ? !there : there && it->second == entry.serial;
    (in_place ? comparison.in_place : comparison.mark).push_back(zone);
    if (!there && !entry.deleted) comparison.absent_locally.push_back(zone);
  }
  return comparison;
}

ZoneEventAction DecideZoneEvent(bool catalog_mode, bool targeted) {
  if (!catalog_mode) return ZoneEventAction::kMark;
  return targeted ? ZoneEventAction::kRereadCatalog : ZoneEventAction::kIgnore;
}

struct CatalogFollower::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : mode(AddGauge(registry, "secondarysyncer_catalog_mode",
                      "1: zones follow the JetStream catalog; 0: core NATS (zone events and "
                      "zonedata requests)")),
        revision_read(AddGauge(registry, "secondarysyncer_catalog_revision_read",
                               "The last catalog revision the syncer has read")),
        revision_applied(AddGauge(registry, "secondarysyncer_catalog_revision_applied",
                                  "The highest catalog revision whose entry the local PowerDNS "
                                  "has (applied, or found in place at start)")),
        applied(AddCounter(registry, "secondarysyncer_catalog_entries_applied_total",
                           "Catalog entries applied to the local PowerDNS (a version "
                           "transferred and committed, a tombstone's zone deleted)")),
        skipped(AddCounter(registry, "secondarysyncer_catalog_entries_skipped_total",
                           "Catalog entries that needed no work (in place at start) or could "
                           "not be read (malformed)")),
        chunk_reads(AddCounter(registry, "secondarysyncer_catalog_chunk_reads_total",
                               "Chunks of zone versions read from the catalog's stream")) {}
  prometheus::Gauge& mode;
  prometheus::Gauge& revision_read;
  prometheus::Gauge& revision_applied;
  prometheus::Counter& applied;
  prometheus::Counter& skipped;
  prometheus::Counter& chunk_reads;
};

CatalogFollower::CatalogFollower(Bus& bus, distribution::CatalogOptions options, Clock& clock,
                                 Logger logger, prometheus::Registry& registry, MarkZone mark,
                                 ListLocalZones list_local, BeforeMarking before_marking)
    : bus_(bus),
      options_(std::move(options)),
      clock_(clock),
      logger_(std::move(logger)),
      metrics_(std::make_unique<Metrics>(registry)),
      mark_(std::move(mark)),
      before_marking_(std::move(before_marking)),
      list_local_(std::move(list_local)) {}

CatalogFollower::~CatalogFollower() {
  Stop();
  MutexLock lock(mutex_);
  catalog_.reset();  // before the Bus (REQUIRES)
}

void CatalogFollower::Start() {
  thread_ = std::thread([this] { RunCatching(logger_, "the catalog follower", [&] { Run(); }); });
}

void CatalogFollower::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool CatalogFollower::Pause(std::chrono::milliseconds duration) {
  MutexLock lock(mutex_);
  const Clock::TimePoint until = clock_.DeadlineAfter(duration);
  while (!stopping_ && clock_.Now() < until) clock_.WaitUntil(stop_cv_, lock.native(), until);
  return !stopping_;
}

std::shared_ptr<ZoneCatalog> CatalogFollower::Catalog() const {
  MutexLock lock(mutex_);
  return catalog_;
}

std::optional<CatalogRecord> CatalogFollower::Desired(const std::string& zone) const {
  MutexLock lock(mutex_);
  const auto it = desired_.find(zone);
  if (it == desired_.end()) return std::nullopt;
  return it->second;
}

bool CatalogFollower::Store(const std::string& zone, uint64_t revision,
                            const std::optional<CatalogEntry>& entry) {
  MutexLock lock(mutex_);
  const auto held = desired_.find(zone);
  if (held != desired_.end() && held->second.revision >= revision) return false;
  const auto removed = removed_.find(zone);
  if (removed != removed_.end() && removed->second >= revision) return false;
  if (entry) {
    desired_[zone] = CatalogRecord{.entry = *entry, .revision = revision};
    if (removed != removed_.end()) removed_.erase(removed);
  } else {
    if (held != desired_.end()) desired_.erase(held);
    removed_[zone] = revision;
  }
  return true;
}

std::shared_ptr<ZoneCatalog> CatalogFollower::BindUntilFound() {
  bool told_missing = false;
  bool told_unavailable = false;
  for (;;) {
    {
      MutexLock lock(mutex_);
      if (stopping_) return nullptr;
    }
    // The probe waits briefly: Stop() waits for a request under way, and a broker that does
    // not answer (or refuses this user the JetStream API: no reply at all) is asked again.
    StatusOr<std::unique_ptr<JetStream>> jetstream =
        JetStream::Open(bus_, std::min<std::chrono::milliseconds>(options_.timeout, kProbeTimeout));
    Status catalog_status = Status::Ok();
    std::unique_ptr<ZoneCatalog> catalog;
    if (jetstream.ok()) jetstream = JetStream::Open(bus_, options_.timeout);  // the catalog's
    if (jetstream.ok()) {
      auto bound = ZoneCatalog::Bind(std::move(*jetstream), options_);
      if (bound.ok()) {
        catalog = std::move(*bound);
      } else {
        catalog_status = bound.status();
      }
    }
    switch (DecideBind(jetstream.status(), catalog_status)) {
      case BindStep::kFollow:
        return std::shared_ptr<ZoneCatalog>(std::move(catalog));
      case BindStep::kCoreNatsForGood:
        logger_->warn("{}: zones follow zone events and zonedata requests (core NATS)",
                      jetstream.status().message());
        return nullptr;
      case BindStep::kRetryLater: {
        const Status& why = jetstream.ok() ? catalog_status : jetstream.status();
        if (why.code() == StatusCode::kNotFound) {
          if (!told_missing) {
            logger_->info(
                "no zone catalog {} in JetStream yet (the zone-provider makes it): core NATS "
                "until it exists; looking again every {} s",
                options_.bucket, kBindRetry.count());
          }
          told_missing = true;
        } else if (why.code() == StatusCode::kUnavailable) {
          // Not connected: the bus says so itself (and says when it is back).
          logger_->debug("cannot bind the zone catalog yet: {}", why.message());
        } else {
          if (!told_unavailable) {
            logger_->warn("cannot bind the zone catalog ({}): core NATS meanwhile; trying again",
                          why.message());
          }
          told_unavailable = true;
        }
        if (!Pause(kBindRetry)) return nullptr;
        break;
      }
    }
  }
}

void CatalogFollower::Run() {
  std::shared_ptr<ZoneCatalog> catalog = BindUntilFound();
  if (catalog == nullptr) return;
  {
    MutexLock lock(mutex_);
    catalog_ = catalog;
  }
  std::unique_ptr<distribution::CatalogWatcher> watcher;
  while (watcher == nullptr) {
    auto made = catalog->Watch(0);
    if (made.ok()) {
      watcher = std::move(*made);
    } else {
      logger_->warn("cannot watch the zone catalog: {}; trying again", made.status().message());
      if (!Pause(std::chrono::seconds(1))) return;
    }
  }
  Bootstrap(*watcher);
  Follow(*watcher);
}

void CatalogFollower::Bootstrap(distribution::CatalogWatcher& watcher) {
  // The whole catalog as it stands: until a change the broker sent with nothing pending, or
  // (an empty catalog sends nothing) a pause without any.
  constexpr std::chrono::milliseconds kQuiet{1000};
  bool told_unavailable = false;
  for (;;) {
    {
      MutexLock lock(mutex_);
      if (stopping_) return;
    }
    auto next = watcher.Next(kQuiet);
    if (!next.ok()) {
      if (next.status().code() == StatusCode::kInvalidArgument) {
        metrics_->skipped.Increment();
        logger_->warn("skipping a catalog entry: {}", next.status().message());
        continue;
      }
      if (!told_unavailable) {
        logger_->warn("reading the zone catalog: {}", next.status().message());
      }
      told_unavailable = true;
      continue;
    }
    if (!next->has_value()) break;
    const distribution::CatalogChange& change = **next;
    Store(change.zone, change.revision, change.entry);
    if (change.pending == 0) break;
  }
  metrics_->revision_read.Set(static_cast<double>(watcher.last_revision()));

  // One API call for the whole local zone list; without it nothing can be applied anyway.
  StatusOr<std::vector<PdnsZone>> local = list_local_();
  while (!local.ok()) {
    logger_->warn("cannot list the local PowerDNS's zones to compare with the catalog: {}",
                  local.status().message());
    if (!Pause(std::chrono::seconds(1))) return;
    local = list_local_();
  }
  std::map<std::string, uint32_t> serials;
  for (const PdnsZone& zone : *local) serials[zone.name] = zone.serial;
  std::map<std::string, CatalogEntry> entries;
  uint64_t in_place_revision = 0;
  {
    MutexLock lock(mutex_);
    for (const auto& [zone, record] : desired_) entries[zone] = record.entry;
  }
  const StartComparison comparison = CompareWithLocal(entries, serials);
  {
    MutexLock lock(mutex_);
    for (const std::string& zone : comparison.in_place) {
      const auto it = desired_.find(zone);
      if (it != desired_.end())
        in_place_revision = std::max(in_place_revision, it->second.revision);
    }
  }
  metrics_->skipped.Increment(static_cast<double>(comparison.in_place.size()));
  RaiseAppliedRevision(in_place_revision);
  following_ = true;
  metrics_->mode.Set(1);
  logger_->info(
      "following the zone catalog {} from revision {}: {} entries, {} to apply, {} in place "
      "(zone events are hints only for zones it lacks)",
      options_.bucket, watcher.last_revision(), entries.size(), comparison.mark.size(),
      comparison.in_place.size());
  const std::set<std::string> marked = before_marking_
                                           ? before_marking_(comparison.absent_locally, *local)
                                           : std::set<std::string>();
  const std::set<std::string> absent(comparison.absent_locally.begin(),
                                     comparison.absent_locally.end());
  for (const std::string& zone : comparison.mark) {
    if (!marked.contains(zone)) mark_(zone, absent.contains(zone));
  }
}

void CatalogFollower::Follow(distribution::CatalogWatcher& watcher) {
  constexpr std::chrono::milliseconds kPoll{250};  // how soon Stop() is seen
  bool told_unavailable = false;
  for (;;) {
    {
      MutexLock lock(mutex_);
      if (stopping_) return;
    }
    auto next = watcher.Next(kPoll);
    if (!next.ok()) {
      if (next.status().code() == StatusCode::kInvalidArgument) {
        metrics_->skipped.Increment();
        logger_->warn("skipping a catalog entry: {}", next.status().message());
      } else if (!told_unavailable) {
        // The watcher subscribes again from its last revision by itself.
        logger_->warn("zone catalog watch interrupted ({}); resuming from revision {}",
                      next.status().message(), watcher.last_revision());
        told_unavailable = true;
      }
      continue;
    }
    if (!next->has_value()) continue;
    told_unavailable = false;
    const distribution::CatalogChange& change = **next;
    metrics_->revision_read.Set(static_cast<double>(change.revision));
    if (Store(change.zone, change.revision, change.entry)) {
      logger_->debug("catalog revision {}: {} {}", change.revision, change.zone,
                     !change.entry           ? "removed by hand"
                     : change.entry->deleted ? "deleted"
                                             : "serial " + std::to_string(change.entry->serial));
      mark_(change.zone, false);
    }
  }
}

StatusOr<CatalogRecord> CatalogFollower::Reread(const std::string& zone) {
  std::shared_ptr<ZoneCatalog> catalog = Catalog();
  if (catalog == nullptr || !following_) return Status::Unavailable("not following the catalog");
  StatusOr<CatalogRecord> record = catalog->Get(zone);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) {
      MutexLock lock(mutex_);
      desired_.erase(zone);
    }
    return record.status();
  }
  Store(zone, record->revision, record->entry);
  // What the follower holds now: the record read, or a newer one the watch brought meanwhile.
  std::optional<CatalogRecord> held = Desired(zone);
  return held ? *held : *record;
}

StatusOr<std::string> CatalogFollower::ReadText(const std::string& zone, CatalogRecord* record) {
  std::shared_ptr<ZoneCatalog> catalog = Catalog();
  if (catalog == nullptr) return Status::Unavailable("not following the catalog");
  // A version is replaced at most this often while we read before we give up for now (the
  // transfer fails; PowerDNS's retrieve is asked again).
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (record->entry.deleted) {
      return Status::NotFound(zone + " is deleted (a tombstone in the zone catalog)");
    }
    StatusOr<std::string> text = catalog->ReadText(record->entry);
    if (text.ok()) {
      metrics_->chunk_reads.Increment(static_cast<double>(record->entry.chunks));
      return text;
    }
    if (text.status().code() != StatusCode::kNotFound) return text.status();
    StatusOr<CatalogRecord> current = catalog->Get(zone);
    if (!current.ok()) return current.status();
    if (current->revision == record->revision) return text.status();  // its chunks are lost
    Store(zone, current->revision, current->entry);
    *record = std::move(*current);
  }
  return Status::Unavailable("the catalog entry of " + zone + " changed " +
                             std::to_string(kAttempts) + " times while its text was read");
}

void CatalogFollower::CountApplied(uint64_t revision) {
  metrics_->applied.Increment();
  RaiseAppliedRevision(revision);
}

void CatalogFollower::RaiseAppliedRevision(uint64_t revision) {
  uint64_t held = revision_applied_.load();
  while (revision > held && !revision_applied_.compare_exchange_weak(held, revision)) {
  }
  // Set under no lock: a racing Set of a lower value is put right by the next raise.
  metrics_->revision_applied.Set(static_cast<double>(revision_applied_.load()));
}

}  // namespace pdnsd
