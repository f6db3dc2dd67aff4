// InstanceClaim: one running instance per ID, for services whose [Service] ID names something
// only one of them may drive (a secondary-syncer's ID is its secondary: two syncers with one
// ID would both answer its zone-state requests and split its zone data between them).
//
// At start, Claim() asks on the claim subject "<heartbeat prefix>-claim.<service>.<id>"
// (ClaimSubject) with this instance's heartbeat. No instance with the ID runs: the broker
// answers "no responders" at once and the ID is ours. One runs: it answers with its own
// heartbeat and Claim() fails naming its host and boot id (the running one logs who it
// refused). From then on this instance answers claims itself and listens to the heartbeats of
// its ID; one with another boot id (two instances started at the same moment, or one that does
// not answer claims) is an error: logged once per other instance, counted every time.
//
// Thread-safe. The bus must outlive the claim.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "bus/bus.h"
#include "core/logging.h"
#include "core/status.h"
#include "discovery/heartbeat.h"

namespace prometheus {
class Counter;
}

#include "core/thread_annotations.h"

namespace pdnsd {

// "<prefix>-claim.<service>.<id>": outside "<prefix>.>", where the health-checker would take
// a claim for a heartbeat.
std::string ClaimSubject(const std::string& heartbeat_prefix, const std::string& service,
                         const std::string& id);

enum class ClaimVerdict {
  kFree,       // no other instance answered: the ID is ours
  kTaken,      // another instance with the ID runs: do not start
  kUnchecked,  // could not tell (broker down, unreadable answer): start, heartbeats will tell
};

struct ClaimDecision {
  ClaimVerdict verdict;
  std::string reason;  // for the log line: who holds the ID, or why it could not be checked
};

// What the answer to our claim request means (pure). `reply` is what Bus::Request returned;
// `broker_connected` whether the bus was connected when it was asked.
ClaimDecision DecideClaim(const Heartbeat& ours, const StatusOr<std::string>& reply,
                          bool broker_connected);

// True when `seen`, a heartbeat on our own subject, comes from another instance with our ID
// (pure).
bool IsOtherInstance(const Heartbeat& ours, const Heartbeat& seen);

class InstanceClaim {
 public:
  // `collisions` (may be null) counts heartbeats of other instances with our ID.
  InstanceClaim(Bus* bus, std::string heartbeat_prefix, Heartbeat ours,
                prometheus::Counter* collisions, Logger logger);
  ~InstanceClaim();  // unsubscribes
  InstanceClaim(const InstanceClaim&) = delete;
  InstanceClaim& operator=(const InstanceClaim&) = delete;

  // The start check (one request, answered at once when the ID is free), then answering claims
  // and watching heartbeats. AlreadyExists naming the other instance when the ID is taken.
  Status Claim();

 private:
  void OnClaim(const BusMessage& message);
  void OnHeartbeat(const BusMessage& message);

  Bus* bus_;
  std::string heartbeat_prefix_;
  Heartbeat ours_;
  prometheus::Counter* collisions_;
  Logger logger_;
  Mutex mutex_;
  std::set<std::string> reported_ GUARDED_BY(mutex_);  // boot ids already logged
  std::unique_ptr<Subscription> claims_;
  std::unique_ptr<Subscription> heartbeats_;
};

}  // namespace pdnsd
