// The absence rule: when may a secondary delete a zone although the zone-provider sent no error
// reply saying the primary lacks it (docs/architecture.md, "Deleting without an error reply")?
//
// Our zone-provider answers a request for a zone the primary does not have with a not_found
// error reply: that deletes at once. An original Go zone-provider sends no reply at all then
// (nor on any other error), so a secondary in a fleet with original providers sees only
// silence. Silence counts as absence only when
//   1. the request for Z timed out although a provider listens (not NATS "no responders"),
//   2. right after, the provider answered with data a request for a control zone: another zone
//      this secondary holds, not itself suspected (so the provider and the primary work), and
//   3. the same held on kSilencesForAbsence consecutive attempts (the worker's retry backoff
//      lies between them).
// Anything else on the way (data, an error reply, no responders, a control that fails or no
// control zone at all) keeps the zone. A forged delete event, a provider that is down or slow,
// so never delete a zone the primary has.
//
// The decision is a pure function; AbsenceLedger keeps what it needs between attempts.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

#include "core/thread_annotations.h"

namespace pdnsd {

// How a zone-data request (only_soa) ended.
enum class ZoneReply {
  kData,         // a reply with zone data: the primary has the zone
  kNotFound,     // a not_found error reply (our provider): the primary does not have it
  kSilence,      // no reply within the timeout although a provider listens
  kUnavailable,  // no responders, broker down, another error reply, a malformed reply
};

// From the status of the request: Ok -> kData, NotFound -> kNotFound, Timeout (the bus's "no
// complete reply in time") -> kSilence, anything else -> kUnavailable.
ZoneReply ClassifyZoneReply(const Status& status);

// The control request made after a silence.
enum class ControlReply {
  kNone,      // no control zone to ask
  kAnswered,  // a control zone was answered with data
  kFailed,    // every control zone asked got no data
};

enum class AbsenceVerdict {
  kPresent,    // the primary has the zone: sync it
  kAbsent,     // the primary does not have it: delete it locally
  kSuspected,  // silence while the provider works: try again to confirm, keep the zone
  kUnknown,    // cannot tell: keep the zone, try again
};

struct AbsenceDecision {
  AbsenceVerdict verdict;
  int silences;  // confirmed silences on record for the zone after this attempt
};

constexpr int kSilencesForAbsence = 2;

// `control` is only looked at for kSilence. `silences_before`: the zone's confirmed silences
// from earlier attempts (AbsenceLedger).
AbsenceDecision DecideAbsence(ZoneReply reply, ControlReply control, int silences_before);

// The zones to ask as control for `zone`, best first, at most `max`: the zone last answered
// with data when this secondary holds it, then the others of `local_zones` in order; never
// `zone` itself nor a zone in `suspected`.
std::vector<std::string> ControlZones(const std::string& zone,
                                      const std::vector<std::string>& local_zones,
                                      const std::set<std::string>& suspected,
                                      const std::string& last_answered, size_t max);

// Per-zone confirmed silences and the zone last answered with data. Thread-safe.
class AbsenceLedger {
 public:
  int Silences(const std::string& zone) const;
  // 0 forgets the zone.
  void SetSilences(const std::string& zone, int silences);
  // A reply with data for `zone`: forgets its silences, remembers it as last answered.
  void Answered(const std::string& zone);
  std::set<std::string> Suspected() const;
  std::string LastAnswered() const;

 private:
  mutable Mutex mutex_;
  std::map<std::string, int> silences_ GUARDED_BY(mutex_);
  std::string last_answered_ GUARDED_BY(mutex_);
};

}  // namespace pdnsd
