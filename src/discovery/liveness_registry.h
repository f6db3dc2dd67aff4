// LivenessRegistry: what the health-checker knows of every service from its heartbeats.
//
// States as the seed's Consul checks: passing; warning while the reported 1-minute load is
// above 10; critical after 3 intervals without a heartbeat; deregistered (forgotten) after 10.
// Passing and warning count as active. A forgotten service is still listed as departed for an
// hour (kDepartedRetention), so that people see what went away. Statically configured secondaries
// ([Secondaries] Hosts, ID = SHA-256(host)) are active even without heartbeats (an original Go
// syncer sends none). Time (monotonic for the states, wall for when a heartbeat arrived) comes from
// an injected Clock (core/clock.h) so tests need not wait. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/thread_annotations.h"
#include "discovery/heartbeat.h"

namespace pdnsd {

enum class Liveness { kPassing, kWarning, kCritical, kDeregistered };
const char* LivenessName(Liveness state);  // "passing", "warning", "critical", "deregistered"

struct ServiceRecord {
  Heartbeat last;                                     // the last heartbeat seen
  std::chrono::steady_clock::time_point last_seen{};  // when it arrived
  std::chrono::system_clock::time_point last_seen_wall{};
  Liveness state = Liveness::kPassing;
  bool static_host = false;  // from [Secondaries] Hosts
  bool ever_heard = false;   // a heartbeat arrived at least once
};

class LivenessRegistry {
 public:
  // REQUIRES: `clock` outlives the registry.
  LivenessRegistry(std::chrono::milliseconds interval, Clock& clock);

  // What a heartbeat meant: a service seen for the first time (or again after it was
  // deregistered), a restart (new boot id), or just one more beat.
  enum class Change { kNew, kRestarted, kKnown };
  Change Observe(const Heartbeat& heartbeat);

  // Registers a static secondary (no heartbeat needed); its id is SHA-256(host).
  void AddStaticSecondary(const std::string& host);

  // Active secondaries (syncers passing or warning, plus static hosts), sorted by id.
  std::vector<ServiceRecord> ActiveSecondaries() const;
  // Every known service with its current state; deregistered ones are dropped here.
  std::vector<ServiceRecord> Snapshot();
  // The services dropped by Snapshot() within the last kDepartedRetention (state
  // kDeregistered), by id; one that sends a heartbeat again leaves this list.
  std::vector<ServiceRecord> Departed();
  std::optional<Liveness> StateOf(const std::string& id) const;

 private:
  Liveness Evaluate(const ServiceRecord& record) const REQUIRES(mutex_);

  // Drops departed services forgotten longer than kDepartedRetention ago.
  void PruneDeparted() REQUIRES(mutex_);

  std::chrono::milliseconds interval_;
  Clock& clock_;
  mutable Mutex mutex_;
  std::map<std::string, ServiceRecord> services_ GUARDED_BY(mutex_);  // by id
  std::map<std::string, ServiceRecord> departed_ GUARDED_BY(mutex_);  // by id
};

inline constexpr std::chrono::hours kDepartedRetention{1};

}  // namespace pdnsd
