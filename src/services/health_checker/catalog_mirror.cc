#include "services/health_checker/catalog_mirror.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace pdnsd {

CatalogMirror::CatalogMirror(Bus& bus, distribution::CatalogOptions options, Clock& clock,
                             Logger logger, std::chrono::milliseconds retry)
    : bus_(bus),
      options_(std::move(options)),
      clock_(clock),
      logger_(std::move(logger)),
      retry_(retry) {}

CatalogMirror::~CatalogMirror() { Stop(); }

void CatalogMirror::Start() {
  thread_ = std::thread([this] { Run(); });
}

void CatalogMirror::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  MutexLock lock(mutex_);
  catalog_.reset();
}

StatusOr<std::string> CatalogMirror::ReadText(const std::string& zone, uint32_t serial) const {
  std::shared_ptr<distribution::ZoneCatalog> catalog;
  {
    MutexLock lock(mutex_);
    catalog = catalog_;
  }
  if (!catalog) return Status::Unavailable("the catalog is not bound");
  // A version replaced while its chunks are read is NotFound: read the entry again, once.
  for (int attempt = 0;; ++attempt) {
    auto record = catalog->Get(zone);
    if (!record.ok()) return record.status();
    if (record->entry.deleted || record->entry.serial != serial) {
      return Status::Conflict(zone + ": the catalog entry moved on");
    }
    auto text = catalog->ReadText(record->entry);
    if (text.ok() || text.status().code() != StatusCode::kNotFound || attempt == 1) return text;
  }
}

CatalogMirror::Snapshot CatalogMirror::Read() const {
  MutexLock lock(mutex_);
  return snapshot_;
}

CatalogMirror::Lookup CatalogMirror::Find(const std::string& zone) const {
  MutexLock lock(mutex_);
  Lookup lookup;
  lookup.usable = snapshot_.bound && snapshot_.caught_up;
  if (!lookup.usable) return lookup;
  if (auto it = snapshot_.zones.find(zone); it != snapshot_.zones.end()) lookup.zone = it->second;
  return lookup;
}

bool CatalogMirror::Pause(std::chrono::milliseconds duration) {
  MutexLock lock(mutex_);
  const Clock::TimePoint until = clock_.DeadlineAfter(duration);
  while (!stopping_ && clock_.Now() < until) clock_.WaitUntil(wake_, lock.native(), until);
  return !stopping_;
}

void CatalogMirror::Run() {
  // How long one Next() waits: also how soon Stop() is noticed while following.
  constexpr std::chrono::milliseconds kPoll{250};
  constexpr std::chrono::milliseconds kRetryAfterError{60000};
  std::shared_ptr<distribution::ZoneCatalog> catalog;
  std::unique_ptr<distribution::CatalogWatcher> watcher;
  bool told_absent = false;
  for (;;) {
    {
      MutexLock lock(mutex_);
      if (stopping_) return;
    }
    if (!catalog) {
      auto jetstream = JetStream::Open(bus_, options_.timeout);
      auto bound = jetstream.ok()
                       ? distribution::ZoneCatalog::Bind(std::move(*jetstream), options_)
                       : StatusOr<std::unique_ptr<distribution::ZoneCatalog>>(jetstream.status());
      if (!bound.ok()) {
        if (!told_absent) {
          logger_->info(
              "no JetStream catalog {} ({}): comparing secondaries with the primary only "
              "until it can be followed",
              options_.bucket, bound.status().message());
          told_absent = true;
        }
        // NotFound: no JetStream or no catalog yet (the provider creates it), cheap to ask
        // again. Anything else (a timeout, e.g. a broker account that may not use the
        // JetStream API) is asked again less often.
        if (!Pause(bound.status().code() == StatusCode::kNotFound ? retry_ : kRetryAfterError)) {
          return;
        }
        continue;
      }
      auto watch = (*bound)->Watch(0);
      if (!watch.ok()) {
        logger_->warn("cannot follow the catalog {}: {}", options_.bucket,
                      watch.status().message());
        if (!Pause(retry_)) return;
        continue;
      }
      catalog = std::move(*bound);
      watcher = std::move(*watch);
      logger_->info("following the JetStream catalog {} from revision 0", options_.bucket);
      MutexLock lock(mutex_);
      snapshot_ = Snapshot{};
      snapshot_.bound = true;
      catalog_ = catalog;
    }
    auto next = watcher->Next(kPoll);
    if (!next.ok()) {
      // Unavailable: the watcher subscribes again from its last revision on the next call;
      // InvalidArgument: that change was skipped. Either way the mirror goes on.
      logger_->warn("catalog {}: {}", options_.bucket, next.status().message());
      if (next.status().code() != StatusCode::kInvalidArgument && !Pause(kPoll)) return;
      continue;
    }
    MutexLock lock(mutex_);
    if (!next->has_value()) {
      // Nothing within the poll and nothing ever: an empty catalog. Otherwise a change with
      // nothing pending after it says so (a slow delivery is no proof).
      if (snapshot_.revision == 0) snapshot_.caught_up = true;
      continue;
    }
    const distribution::CatalogChange& change = **next;
    if (change.entry) {
      snapshot_.zones[change.zone] = CatalogZone{.serial = change.entry->serial,
                                                 .digest = change.entry->digest,
                                                 .deleted = change.entry->deleted};
    } else {
      snapshot_.zones.erase(change.zone);
    }
    snapshot_.revision = change.revision;
    if (change.pending == 0) snapshot_.caught_up = true;
  }
}

}  // namespace pdnsd
