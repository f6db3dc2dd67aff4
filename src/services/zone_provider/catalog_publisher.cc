#include "services/zone_provider/catalog_publisher.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "core/digest.h"
#include "core/metrics.h"
#include "dns/axfr_client.h"
#include "model/messages.h"
#include "services/common/zone_event_intake.h"
#include "services/zone_provider/confirm_absence.h"

namespace pdnsd {

namespace {

using std::chrono::milliseconds;

// How long one watch read waits: bounds how late Stop() is noticed and how late a tick runs.
constexpr milliseconds kWatchSlice{200};
// How long a sweep's mark waits for the zone event of the same write (Sweep()).
constexpr milliseconds kSweepMarkDelay{250};

}  // namespace

struct CatalogPublisher::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : enabled(AddGauge(registry, "zoneprovider_catalog_enabled",
                         "1 while the provider publishes zone versions to the JetStream catalog")),
        events(AddCounterFamily(registry, "zoneprovider_catalog_events_total",
                                "Zone events taken for the catalog, by result")),
        transfers(AddCounterFamily(registry, "zoneprovider_catalog_transfers_total",
                                   "AXFRs of the primary made for the catalog, by state")),
        in_progress(AddGauge(registry, "zoneprovider_catalog_transfers_in_progress",
                             "Catalog transfers running now")),
        publishes(AddCounterFamily(registry, "zoneprovider_catalog_publishes_total",
                                   "Catalog writes of a transferred zone, by result")),
        tombstones(AddCounter(registry, "zoneprovider_catalog_tombstones_total",
                              "Tombstones written for zones the primary's API confirmed gone")),
        held(AddGauge(registry, "zoneprovider_catalog_deletions_held",
                      "Tombstones held by the mass-deletion guard")),
        sweeps(AddCounterFamily(registry, "zoneprovider_catalog_sweeps_total",
                                "Comparisons of the primary's zone list with the catalog")),
        sweep_seconds(AddGauge(registry, "zoneprovider_catalog_sweep_duration_seconds",
                               "How long the last sweep took (zone list and comparison)")),
        swept_marks(AddCounter(registry, "zoneprovider_catalog_sweep_marks_total",
                               "Zones a sweep marked for a transfer")),
        answered_marks(AddCounter(registry, "zoneprovider_catalog_sweep_marks_answered_total",
                                  "Sweep marks a transfer that raced the sweep had already "
                                  "answered (no AXFR)")) {
    for (const char* result : {"accepted", "invalid"}) events.Add({{"result", result}});
    for (const char* state : {"successful", "failed"}) {
      transfers.Add({{"state", state}});
      sweeps.Add({{"state", state}});
    }
    for (const char* result : {"published", "unchanged", "conflict", "failed"}) {
      publishes.Add({{"result", result}});
    }
  }
  void Publish(const char* result) { publishes.Add({{"result", result}}).Increment(); }

  prometheus::Gauge& enabled;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& transfers;
  prometheus::Gauge& in_progress;
  prometheus::Family<prometheus::Counter>& publishes;
  prometheus::Counter& tombstones;
  prometheus::Gauge& held;
  prometheus::Family<prometheus::Counter>& sweeps;
  prometheus::Gauge& sweep_seconds;
  prometheus::Counter& swept_marks;
  prometheus::Counter& answered_marks;
};

CatalogPublisher::CatalogPublisher(CatalogPublisherOptions options, const CommonConfig& common,
                                   Bus& bus, const PdnsApiClient& api, const Logger& logger,
                                   prometheus::Registry& registry, Clock& clock)
    : options_(std::move(options)),
      common_(common),
      bus_(bus),
      api_(api),
      logger_(logger),
      metrics_(std::make_unique<Metrics>(registry)),
      clock_(clock),
      queue_(clock) {}

CatalogPublisher::~CatalogPublisher() { Stop(); }

bool CatalogPublisher::Start() {
  if (!bus_.IsConnected()) {
    // The broker is down: Start() does not wait for it.
    logger_->warn("the message broker is not reachable: the zone catalog is opened once it is");
  } else {
    auto catalog = distribution::ZoneCatalog::Open(bus_, common_.jetstream.catalog);
    if (!catalog.ok() && catalog.status().code() == StatusCode::kNotFound) {
      WarnNoJetStream();
      return false;
    }
    if (catalog.ok()) {
      catalog_ = std::move(*catalog);
    } else {
      logger_->warn("cannot open the zone catalog yet, retrying in the background: {}",
                    catalog.status().message());
    }
  }
  catalog_thread_ =
      std::thread([this] { RunCatching(logger_, "catalog thread", [this] { RunCatalog(); }); });
  return true;
}

void CatalogPublisher::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  queue_.Close();
  if (catalog_thread_.joinable()) catalog_thread_.join();
  subscriptions_.clear();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  metrics_->enabled.Set(0);
}

void CatalogPublisher::WarnNoJetStream() {
  logger_->warn(
      "the message broker has no JetStream: zone versions are not published; secondaries use "
      "zonedata requests");
}

bool CatalogPublisher::Pause(milliseconds timeout) {
  MutexLock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!stopping_) {
    if (stop_cv_.wait_until(lock.native(), deadline) == std::cv_status::timeout) break;
  }
  return !stopping_;
}

bool CatalogPublisher::OpenCatalog() {
  std::string last_error;
  for (int attempt = 1; !catalog_; ++attempt) {
    if (!Pause(RetryBackoff(attempt + 3, milliseconds(30000)))) return false;
    auto catalog = distribution::ZoneCatalog::Open(bus_, common_.jetstream.catalog);
    if (catalog.ok()) {
      catalog_ = std::move(*catalog);
    } else if (catalog.status().code() == StatusCode::kNotFound) {
      WarnNoJetStream();
      return false;
    } else if (catalog.status().message() != last_error) {
      // Once per kind of failure (a permission the broker refuses stays until fixed).
      last_error = catalog.status().message();
      logger_->warn("cannot open the zone catalog yet, retrying: {}", last_error);
    }
  }
  logger_->info("zone catalog opened (bucket {}, chunk stream {})",
                common_.jetstream.catalog.bucket, common_.jetstream.catalog.stream);
  return true;
}

void CatalogPublisher::RunCatalog() {
  if (!OpenCatalog()) return;
  for (int attempt = 1; !watcher_; ++attempt) {
    auto watcher = catalog_->Watch(0);
    if (watcher.ok()) {
      watcher_ = std::move(*watcher);
    } else {
      logger_->warn("cannot watch the zone catalog: {}", watcher.status().message());
      if (!Pause(RetryBackoff(attempt, milliseconds(10000)))) return;
    }
  }
  // The mirror first, so that the first sweep compares with the whole catalog (and fills an
  // empty one: a new installation with an existing primary).
  for (;;) {
    auto change = watcher_->Next(kWatchSlice);
    if (!change.ok()) {
      logger_->debug("reading the zone catalog: {}", change.status().message());
      if (!Pause(kWatchSlice)) return;
      continue;
    }
    if (!Pause(milliseconds(0))) return;
    if (!change->has_value()) break;  // nothing within the slice: caught up
    Apply(**change);
    if ((*change)->pending == 0) break;
  }
  for (const auto& [type, subject] : common_.subjects.All()) {
    for (int attempt = 1;; ++attempt) {
      auto subscription = bus_.Subscribe(subject, options_.queue_group,
                                         [this](const BusMessage& message) { OnEvent(message); });
      if (subscription.ok()) {
        subscriptions_.push_back(std::move(*subscription));
        break;
      }
      logger_->warn("cannot subscribe to {}: {}", subject, subscription.status().message());
      if (!Pause(RetryBackoff(attempt, milliseconds(10000)))) return;
    }
  }
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { RunWorker(); });
  }
  metrics_->enabled.Set(1);
  logger_->info(
      "publishing zone versions: events on {}, {}, {} (queue group {}), sweep every {} ms",
      common_.subjects.add, common_.subjects.change, common_.subjects.remove, options_.queue_group,
      options_.sweep_interval.count());

  using Steady = std::chrono::steady_clock;
  // The next sweep is due SweepInterval after the last one ended, but never sooner than nine
  // times its duration: at most a tenth of the time is spent sweeping, however many zones the
  // primary has.
  const auto sweep = [this] {
    const auto started = Steady::now();
    Sweep();
    const auto ended = Steady::now();
    return ended + std::max<Steady::duration>(options_.sweep_interval, 9 * (ended - started));
  };
  auto next_sweep = sweep();
  auto next_tick = Steady::now() + options_.tick;
  while (Pause(milliseconds(0))) {
    const auto now = Steady::now();
    if (options_.sweep_interval.count() > 0 && now >= next_sweep) next_sweep = sweep();
    if (now >= next_tick) {
      Gate();
      next_tick = Steady::now() + options_.tick;
    }
    auto change = watcher_->Next(kWatchSlice);
    if (!change.ok()) {
      // Unavailable: the watch is made again from its last revision on the next call.
      logger_->debug("reading the zone catalog: {}", change.status().message());
      if (change.status().code() == StatusCode::kUnavailable) Pause(kWatchSlice);
      continue;
    }
    if (change->has_value()) Apply(**change);
  }
}

void CatalogPublisher::Apply(const distribution::CatalogChange& change) {
  auto it = mirror_.find(change.zone);
  if (it != mirror_.end() && !it->second.deleted) --live_zones_;
  if (!change.entry) {
    if (it != mirror_.end()) mirror_.erase(it);
    return;
  }
  CatalogZoneState state{change.entry->serial, change.entry->deleted};
  if (!state.deleted) ++live_zones_;
  mirror_[change.zone] = state;
}

void CatalogPublisher::OnEvent(const BusMessage& message) {
  const auto type = common_.subjects.TypeOf(message.subject);
  if (!type) return;
  auto event =
      ReceiveZoneEvent(*type, message, logger_, metrics_->events.Add({{"result", "invalid"}}));
  if (!event) return;
  metrics_->events.Add({{"result", "accepted"}}).Increment();
  MarkForTransfer(event->zone);
}

void CatalogPublisher::Sweep() {
  const auto started = std::chrono::steady_clock::now();
  auto zones = api_.ListZones();
  if (!zones.ok()) {
    metrics_->sweeps.Add({{"state", "failed"}}).Increment();
    logger_->warn("sweep: cannot list the primary's zones: {}", zones.status().message());
    return;
  }
  std::map<std::string, uint32_t> primary;
  for (const PdnsZone& zone : *zones) primary[zone.name] = zone.serial;
  std::set<std::string> due;
  {
    MutexLock lock(mutex_);
    due = due_;
  }
  const std::vector<std::string> marks = PlanSweep(primary, mirror_, due, observations_);
  {
    MutexLock lock(mutex_);
    for (const std::string& zone : marks) {
      MarkReasons& reasons = reasons_[zone];
      reasons.swept = true;
      // A zone due for deletion that the primary lists again: only a transfer takes it off.
      if (due.count(zone) != 0) reasons.must_transfer = true;
      const auto listed = primary.find(zone);
      reasons.listed = listed == primary.end() ? std::nullopt : std::optional(listed->second);
    }
  }
  // A little later than at once: the zone event of a write through the proxy arrives within
  // milliseconds of its commit and then coalesces with this mark into one transfer.
  for (const std::string& zone : marks) queue_.Mark(zone, kSweepMarkDelay);
  metrics_->swept_marks.Increment(static_cast<double>(marks.size()));
  metrics_->sweeps.Add({{"state", "successful"}}).Increment();
  metrics_->sweep_seconds.Set(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (!marks.empty()) {
    logger_->debug("sweep: {} of {} zones differ from the catalog", marks.size(), primary.size());
  }
}

void CatalogPublisher::Gate() {
  size_t due_count;
  {
    MutexLock lock(mutex_);
    due_count = due_.size();
  }
  const bool settled = due_count == last_due_;
  last_due_ = due_count;
  const DeletionGateVerdict verdict =
      DecideDeletions({options_.mass_deletion_share, live_zones_, due_count, settled});
  switch (verdict.action) {
    case DeletionGateAction::kWait:
      if (due_count == 0) {
        if (holding_) logger_->info("no catalog deletions are held any more");
        holding_ = false;
        metrics_->held.Set(0);
      }
      return;
    case DeletionGateAction::kHold:
      metrics_->held.Set(static_cast<double>(due_count));
      if (!holding_) {
        logger_->error(
            "catalog deletions held by the mass-deletion guard: {} (zones the primary's API says "
            "are gone); they stay published until the primary has them again or [JetStream] "
            "MassDeletionPercent allows it",
            verdict.reason.message());
      }
      holding_ = true;
      return;
    case DeletionGateAction::kRelease:
      break;
  }
  std::set<std::string> released;
  {
    MutexLock lock(mutex_);
    released.swap(due_);
    released_.insert(released.begin(), released.end());
  }
  last_due_ = 0;
  if (holding_) logger_->info("releasing {} held catalog deletions", released.size());
  holding_ = false;
  metrics_->held.Set(0);
  for (const std::string& zone : released) MarkForTransfer(zone);
}

void CatalogPublisher::RunWorker() {
  while (auto zone = queue_.Take()) {
    Outcome outcome = Outcome::kRetry;
    metrics_->in_progress.Increment();
    RunCatching(logger_, "catalog transfer", [&] { outcome = Transfer(*zone); });
    metrics_->in_progress.Decrement();
    switch (outcome) {
      case Outcome::kDone: {
        MutexLock lock(mutex_);
        attempts_.erase(*zone);
        break;
      }
      case Outcome::kAgain:
        MarkForTransfer(*zone);
        break;
      case Outcome::kRetry: {
        int attempt;
        {
          MutexLock lock(mutex_);
          attempt = ++attempts_[*zone];
        }
        MarkForTransfer(*zone, RetryBackoff(attempt, options_.retry_max));
        break;
      }
    }
    queue_.Done(*zone);
  }
}

void CatalogPublisher::MarkForTransfer(const std::string& zone, std::chrono::milliseconds delay) {
  {
    MutexLock lock(mutex_);
    reasons_[zone].must_transfer = true;
  }
  queue_.Mark(zone, delay);
}

CatalogPublisher::Outcome CatalogPublisher::Transfer(const std::string& zone) {
  // Taken before the entry is read: a mark from now on is answered by a later turn.
  MarkReasons reasons;
  {
    MutexLock lock(mutex_);
    if (auto it = reasons_.find(zone); it != reasons_.end()) {
      reasons = it->second;
      reasons_.erase(it);
    }
  }
  std::optional<distribution::CatalogRecord> current;
  auto record = catalog_->Get(zone);
  if (record.ok()) {
    current = std::move(*record);
  } else if (record.status().code() != StatusCode::kNotFound) {
    logger_->warn("catalog: cannot read the entry of {}: {}", zone, record.status().message());
    metrics_->Publish("failed");
    return Outcome::kRetry;
  }
  if (SweepMarkAnswered(reasons, current ? std::optional(current->entry) : std::nullopt)) {
    metrics_->answered_marks.Increment();
    return Outcome::kDone;
  }
  // The version is laid out as the transfer arrives: the provider holds the zone compressed,
  // never its text or its records (tests/fault/large_zone_test.cc).
  distribution::ZoneVersionBuilder builder(catalog_->options().chunk_bytes);
  // Before the first byte: the version holds every write the primary answered until now.
  const std::string read_at = FormatRfc3339(clock_.WallNow());
  auto transfer =
      StreamZoneTransfer(options_.primary, zone, options_.axfr_timeout,
                         [&](std::string_view record) { return builder.AppendLine(record); });
  if (!transfer.ok()) {
    const Status why = ConfirmAbsence(api_, logger_, zone, transfer.status());
    if (why.code() == StatusCode::kNotFound) {
      metrics_->transfers.Add({{"state", "successful"}}).Increment();
      return Absent(zone, current, read_at);
    }
    metrics_->transfers.Add({{"state", "failed"}}).Increment();
    logger_->warn("catalog: AXFR of {} from {} failed: {}", zone, options_.primary.ToString(),
                  why.message());
    return Outcome::kRetry;
  }
  metrics_->transfers.Add({{"state", "successful"}}).Increment();
  {
    // The primary has the zone: no deletion of it is due any more.
    MutexLock lock(mutex_);
    due_.erase(zone);
    released_.erase(zone);
  }
  const std::string version_id = distribution::ZoneCatalog::NewVersionId();
  auto version = builder.Finish({.zone = zone,
                                 .serial = transfer->serial,
                                 .dnssec = transfer->has_rrsig,
                                 .version = version_id});
  if (!version.ok()) {
    metrics_->Publish("failed");
    logger_->error("catalog: cannot lay out {} serial {}: {}", zone, transfer->serial,
                   version.status().message());
    return Outcome::kRetry;
  }
  version->entry.read_at = read_at;
  std::optional<distribution::CatalogEntry> entry;
  if (current) entry = current->entry;
  if (DecidePublish(entry, transfer->serial, version->entry.digest) ==
      PublishDecision::kUnchanged) {
    metrics_->Publish("unchanged");
    return Outcome::kDone;
  }
  const uint64_t expected = current ? current->revision : 0;
  const std::string previous = current && !current->entry.deleted ? current->entry.version : "";
  auto published = catalog_->Publish(*version, expected, previous);
  if (!published.ok()) {
    if (published.status().code() == StatusCode::kConflict) {
      metrics_->Publish("conflict");
      logger_->debug("catalog: {} changed while it was transferred; again", zone);
      return Outcome::kAgain;
    }
    metrics_->Publish("failed");
    logger_->warn("catalog: cannot publish {} serial {}: {}", zone, transfer->serial,
                  published.status().message());
    return Outcome::kRetry;
  }
  metrics_->Publish("published");
  logger_->debug("catalog: published {} serial {} ({} bytes, revision {})", zone, transfer->serial,
                 version->entry.size, *published);
  return Outcome::kDone;
}

CatalogPublisher::Outcome CatalogPublisher::Absent(
    const std::string& zone, const std::optional<distribution::CatalogRecord>& current,
    const std::string& read_at) {
  std::optional<distribution::CatalogEntry> entry;
  if (current) entry = current->entry;
  bool released;
  {
    MutexLock lock(mutex_);
    released = released_.erase(zone) != 0;
    switch (DecideAbsent(entry, released)) {
      case AbsentAction::kNothing:
        due_.erase(zone);
        return Outcome::kDone;
      case AbsentAction::kHoldForGate:
        due_.insert(zone);
        return Outcome::kDone;
      case AbsentAction::kTombstone:
        break;
    }
  }
  distribution::CatalogEntry tombstone = distribution::Tombstone(
      zone, current->entry.serial, distribution::ZoneCatalog::NewVersionId());
  tombstone.read_at = read_at;
  auto written = catalog_->PublishTombstone(tombstone, current->revision, current->entry.version);
  if (!written.ok()) {
    if (written.status().code() == StatusCode::kConflict) {
      // The entry changed since it was read: transfer again (the zone may be back).
      metrics_->Publish("conflict");
      return Outcome::kAgain;
    }
    metrics_->Publish("failed");
    logger_->warn("catalog: cannot write the tombstone of {}: {}", zone,
                  written.status().message());
    MutexLock lock(mutex_);
    released_.insert(zone);
    return Outcome::kRetry;
  }
  metrics_->tombstones.Increment();
  logger_->info("catalog: {} deleted (the primary's API confirmed it is gone)", zone);
  return Outcome::kDone;
}

}  // namespace pdnsd
