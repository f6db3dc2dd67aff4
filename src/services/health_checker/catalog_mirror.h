// CatalogMirror: the health-checker's copy of the JetStream catalog (docs/architecture.md,
// "The health-checker", "Catalog mode"): zone -> serial, digest, tombstone, kept by one owned
// thread that binds to the catalog (never creating it: the zone-provider does) and follows it
// with a CatalogWatcher from revision 0.
//
// Until the catalog exists (no JetStream, or no provider has created it yet: NotFound) the
// thread tries to bind again every `retry`, after any other failure (a timeout, e.g. an account
// that may not use the JetStream API) every minute, and the checker works as without
// JetStream; the first failure is logged once (info), binding later once. Read() is a consistent
// snapshot; it is usable for comparisons once `caught_up`: the watcher delivered everything the
// broker had when the mirror last (re)started following, so a missing entry means the catalog has
// none. Thread-safe. REQUIRES: the Bus and the Clock outlive the mirror; Stop() before the Bus
// goes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/thread_annotations.h"
#include "distribution/catalog.h"
#include "services/health_checker/catalog_plan.h"

namespace pdnsd {

class CatalogMirror {
 public:
  struct Snapshot {
    bool bound = false;      // the catalog exists and is followed
    bool caught_up = false;  // `zones` holds the whole catalog as of `revision`
    uint64_t revision = 0;   // the last revision applied
    CatalogZones zones;      // versions and tombstones
  };

  CatalogMirror(Bus& bus, distribution::CatalogOptions options, Clock& clock, Logger logger,
                std::chrono::milliseconds retry = std::chrono::seconds(2));
  ~CatalogMirror();  // Stop()
  CatalogMirror(const CatalogMirror&) = delete;
  CatalogMirror& operator=(const CatalogMirror&) = delete;

  void Start();
  void Stop() EXCLUDES(mutex_);

  Snapshot Read() const EXCLUDES(mutex_);
  // The zone's entry when the mirror is caught up and has one; `usable` false when the mirror
  // cannot tell (not bound or not caught up).
  struct Lookup {
    bool usable = false;
    std::optional<CatalogZone> zone;
  };
  Lookup Find(const std::string& zone) const EXCLUDES(mutex_);
  // The zone text of the zone's current version in the catalog, when its serial is `serial`
  // (Conflict when the entry moved on or is a tombstone; NotFound: no entry;
  // Unavailable: not bound). Reads the chunks from JetStream.
  StatusOr<std::string> ReadText(const std::string& zone, uint32_t serial) const EXCLUDES(mutex_);

 private:
  void Run() EXCLUDES(mutex_);
  // Waits `duration` on the clock or until Stop(); false once stopping.
  bool Pause(std::chrono::milliseconds duration) EXCLUDES(mutex_);

  Bus& bus_;
  const distribution::CatalogOptions options_;
  Clock& clock_;
  Logger logger_;
  const std::chrono::milliseconds retry_;
  std::thread thread_;

  mutable Mutex mutex_;
  std::condition_variable wake_;  // waits on mutex_: Stop() ends a Pause
  bool stopping_ GUARDED_BY(mutex_) = false;
  Snapshot snapshot_ GUARDED_BY(mutex_);
  // Set once bound; shared so that ReadText() works outside the lock. Reset by Stop().
  std::shared_ptr<distribution::ZoneCatalog> catalog_ GUARDED_BY(mutex_);
};

}  // namespace pdnsd
