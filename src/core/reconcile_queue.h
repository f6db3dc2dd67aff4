// ReconcileQueue: the set of zones marked "to reconcile", handed to workers one zone at a time.
//
// Marks coalesce: marking a zone that is already pending only moves its due time earlier, so
// ten events before a worker is free make one reconcile. A zone being reconciled is never
// handed to a second worker; if it is marked meanwhile, it becomes due again once the first
// worker calls Done(). Mark() never blocks on a worker and never drops a zone. Due times are
// on the Clock given to the constructor (core/clock.h). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/thread_annotations.h"

namespace pdnsd {

class ReconcileQueue {
 public:
  // `clock` must outlive the queue.
  explicit ReconcileQueue(Clock& clock) : clock_(clock) {}

  // Marks `zone`, due after `delay`.
  void Mark(const std::string& zone, std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      EXCLUDES(mutex_);
  // Waits for a due zone that no worker holds and hands it to the caller, who must call
  // Done(zone) afterwards. Returns nullopt once Close() was called.
  std::optional<std::string> Take() EXCLUDES(mutex_);
  void Done(const std::string& zone) EXCLUDES(mutex_);
  // Wakes every waiting Take() with nullopt; later Takes return nullopt at once.
  void Close() EXCLUDES(mutex_);

  // True when `zone` is marked (due now or later), also while a worker holds it.
  bool marked(const std::string& zone) const EXCLUDES(mutex_);
  size_t pending() const EXCLUDES(mutex_);
  size_t in_progress() const EXCLUDES(mutex_);

 private:
  Clock& clock_;
  mutable Mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Clock::TimePoint> due_ GUARDED_BY(mutex_);
  std::set<std::pair<Clock::TimePoint, std::string>> order_ GUARDED_BY(mutex_);
  std::set<std::string> held_ GUARDED_BY(mutex_);
  bool closed_ GUARDED_BY(mutex_) = false;
};

// The delay before the `attempt`th retry (>= 1) of a zone whose work failed: 100 ms doubling
// with each attempt, at most `max` (the syncer's reconciles, the provider's catalog
// publishes).
std::chrono::milliseconds RetryBackoff(int attempt, std::chrono::milliseconds max);

}  // namespace pdnsd
