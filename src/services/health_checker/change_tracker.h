// ChangeTracker: whether each change made through the api-proxy is served by every secondary
// (docs/architecture.md, "Change status"). Pure bookkeeping: no I/O, time is given by the
// caller. The health-checker feeds it the zone events that carry a change id, the syncers'
// sync reports (model/messages.h, ZoneSyncReport) and its own event checks, and answers the
// proxy's GET /changes from it.
//
// A secondary has a change when it applied data the primary served after the write was
// answered: a sync report of the zone whose `read_at` is at or after the change's write time
// (for a deletion also a "deleted" report without `read_at` received after it), or an event
// check that found the secondary at the primary's serial after the write. Having a change means
// having every earlier change of the zone too. A change is INSYNC when every active secondary has
// it; an inactive secondary does not hold it PENDING (it is shown DOWN).
//
// A report can overtake the event it answers (they reach the health-checker on different
// subscriptions): a report that completed nothing is kept for kEarlyReportWindow and applied to
// a change added within it.
//
// Bounded: at most `max_changes` changes, none older than `max_age`; the oldest go first.
// Thread-safe: every method takes the tracker's lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "model/messages.h"

namespace pdnsd {

struct ChangeTrackerLimits {
  size_t max_changes = 100000;
  std::chrono::seconds max_age{24 * 3600};
};

// One secondary's view of one change.
struct SecondaryChangeStatus {
  enum class State { kInSync, kPending, kFailed, kDown };
  std::string id;
  State state = State::kPending;
  std::optional<std::chrono::system_clock::time_point> served_at;  // kInSync
  std::string error;  // kFailed: the last failed attempt's reason
};

struct ChangeStatus {
  std::string id;
  std::string zone;
  ZoneEventType type = ZoneEventType::kChange;
  std::chrono::system_clock::time_point written_at;
  bool in_sync = false;            // every active secondary has it
  std::optional<uint32_t> serial;  // the serial the first secondary that had it reported
  std::vector<SecondaryChangeStatus> secondaries;  // by id
};

// "INSYNC" / "PENDING", and per secondary also "FAILED" / "DOWN".
const char* ChangeStateName(bool in_sync);
const char* SecondaryChangeStateName(SecondaryChangeStatus::State state);
// The JSON of GET /changes/<id> (docs/architecture.md, "Change status").
std::string EncodeChangeStatus(const ChangeStatus& status);
// {"changes":[...]} for GET /changes?zone=, newest first.
std::string EncodeChangeList(const std::vector<ChangeStatus>& changes);

// What one secondary does not serve yet: the changes held for it that it has not had.
struct SecondaryBacklog {
  size_t changes = 0;
  size_t zones = 0;                       // distinct zones of those changes
  std::chrono::nanoseconds oldest_age{};  // of the oldest of them; 0 when none
  bool operator==(const SecondaryBacklog&) const = default;
};

// A change newly served by a secondary, and its propagation lag (received - written).
struct ServedLag {
  std::string secondary;
  std::chrono::nanoseconds lag;
};

class ChangeTracker {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  static constexpr std::chrono::seconds kEarlyReportWindow{10};
  explicit ChangeTracker(ChangeTrackerLimits limits = {});

  // Records a change; `now` ages the history out. Returns the secondaries that already had it
  // (early reports). A known id changes nothing (`*added` false).
  std::vector<ServedLag> Add(const std::string& id, const std::string& zone, ZoneEventType type,
                             TimePoint written_at, TimePoint now, bool* added = nullptr)
      EXCLUDES(mutex_);

  // A report from `secondary` (the id its subject named), received at `received_at`. Returns
  // each change it completes on `secondary`.
  std::vector<ServedLag> Report(const std::string& secondary, const ZoneSyncReport& report,
                                TimePoint received_at) EXCLUDES(mutex_);

  // The health-checker saw `secondary` serve `zone` as the primary did at `primary_read_at`
  // (the same serial, or both without the zone): changes written before that are complete on
  // it, served at `observed_at`.
  void Observe(const std::string& secondary, const std::string& zone, TimePoint primary_read_at,
               TimePoint observed_at) EXCLUDES(mutex_);

  // The status of a change for the secondaries `active` (ids) and every other secondary that
  // reported on its zone (DOWN unless it has the change); nullopt for an unknown id.
  std::optional<ChangeStatus> Get(const std::string& id, const std::set<std::string>& active) const
      EXCLUDES(mutex_);
  // The zone's changes still held, newest first, at most `limit`.
  std::vector<ChangeStatus> ForZone(const std::string& zone, const std::set<std::string>& active,
                                    size_t limit) const EXCLUDES(mutex_);
  // The newest changes of every zone, newest first, at most `limit` (the status page).
  std::vector<ChangeStatus> Latest(const std::set<std::string>& active, size_t limit) const
      EXCLUDES(mutex_);
  // How long the oldest change not yet INSYNC has been waiting at `now`; nullopt: none.
  std::optional<std::chrono::nanoseconds> OldestPendingAge(const std::set<std::string>& active,
                                                           TimePoint now) const EXCLUDES(mutex_);
  // For each secondary of `active` (all of them, zeros when nothing is pending) its backlog
  // at `now`: it moves with every change added and every report, not only at periodic checks.
  std::map<std::string, SecondaryBacklog> Backlog(const std::set<std::string>& active,
                                                  TimePoint now) const EXCLUDES(mutex_);
  size_t size() const EXCLUDES(mutex_);
  // Zones with something held for them (changes, reporters, failures): bounded by the changes.
  size_t zones_held() const EXCLUDES(mutex_);

 private:
  struct Change {
    std::string id;
    std::string zone;
    ZoneEventType type;
    TimePoint written_at;
    std::map<std::string, TimePoint> served;  // secondary -> when it had the change
    std::optional<uint32_t> serial;
  };
  struct Failure {
    TimePoint at;
    std::string error;
  };
  // Marks every change of `zone` written at or before `upto` as served on `secondary` at
  // `served_at` (those it already has keep their time); returns the lags of the newly served.
  std::vector<ServedLag> Complete(const std::string& secondary, const std::string& zone,
                                  TimePoint upto, TimePoint served_at,
                                  std::optional<uint32_t> serial) REQUIRES(mutex_);
  struct EarlyReport {
    TimePoint upto;
    TimePoint received_at;
    std::optional<uint32_t> serial;
  };
  void KeepEarly(const std::string& secondary, const std::string& zone, EarlyReport report)
      REQUIRES(mutex_);
  void ExpireEarly(TimePoint now) REQUIRES(mutex_);
  ChangeStatus StatusOf(const Change& change, const std::set<std::string>& active) const
      REQUIRES(mutex_);
  void Expire(TimePoint now) REQUIRES(mutex_);

  const ChangeTrackerLimits limits_;
  mutable Mutex mutex_;
  // Oldest first; ids index into it by sequence number (front's is first_sequence_).
  std::deque<Change> changes_ GUARDED_BY(mutex_);
  uint64_t first_sequence_ GUARDED_BY(mutex_) = 0;
  std::map<std::string, uint64_t> by_id_ GUARDED_BY(mutex_);
  std::map<std::string, std::vector<uint64_t>> by_zone_ GUARDED_BY(mutex_);  // ascending
  // zone -> secondary -> its last failed attempt (cleared by a success).
  std::map<std::string, std::map<std::string, Failure>> failures_ GUARDED_BY(mutex_);
  // zone -> secondary -> its latest report that completed nothing, for kEarlyReportWindow;
  // early_order_ lists them by arrival for expiry.
  std::map<std::string, std::map<std::string, EarlyReport>> early_ GUARDED_BY(mutex_);
  struct EarlyKey {
    TimePoint received_at;
    std::string zone, secondary;
  };
  std::deque<EarlyKey> early_order_ GUARDED_BY(mutex_);
  // zone -> secondaries that ever reported on it (shown DOWN when inactive).
  std::map<std::string, std::set<std::string>> reporters_ GUARDED_BY(mutex_);
};

}  // namespace pdnsd
