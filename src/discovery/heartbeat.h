// Heartbeats: every service announces itself on the bus every `HealthPingIntervall`
// (docs/architecture.md, "Liveness"; the seed's Consul contract carried on NATS).
//
// Subject "<prefix>.<service>.<id>" (default prefix "heartbeat"); JSON body
// {"id","service","version","tags","host","load1","boot_id","sent_at"} plus, for syncers that
// advertise it, "dns_address". The boot id is random
// per process start, so a restarted service is recognised as such.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/logging.h"
#include "core/status.h"

#include "core/thread_annotations.h"

namespace pdnsd {

struct Heartbeat {
  std::string id;       // the service instance's ID (a syncer's secondary ID)
  std::string service;  // "pdns-secondary-syncer", ...
  std::string version;
  std::vector<std::string> tags;
  std::string host;     // hostname
  double load1 = 0;     // 1-minute load average of the host
  std::string boot_id;  // random per process start
  std::string sent_at;  // RFC 3339
  // Syncers: where their PowerDNS answers DNS ([PowerDNS] DNSAddress), so the health-checker
  // can look at the signatures it serves. Empty: not advertised.
  std::string dns_address;
};

std::string EncodeHeartbeat(const Heartbeat& heartbeat);
// InvalidArgument for malformed JSON, missing id/service/boot_id, wrong types, an id that is
// not one subject token, a negative or non-finite load.
StatusOr<Heartbeat> DecodeHeartbeat(std::string_view json);

// A random boot id (hex).
std::string NewBootId();
// The host's 1-minute load average (getloadavg), 0 when unknown.
double HostLoadAverage();

// Publishes `heartbeat` (with a fresh load and time) every `interval` on its own thread, the
// first one at once. Stop() (or the destructor) ends the thread within the interval's wait.
class HeartbeatSender {
 public:
  // load_source: where the load figure comes from (tests inject one); default HostLoadAverage.
  HeartbeatSender(Bus* bus, std::string subject_prefix, Heartbeat heartbeat,
                  std::chrono::milliseconds interval, Logger logger,
                  std::function<double()> load_source = HostLoadAverage);
  ~HeartbeatSender();
  HeartbeatSender(const HeartbeatSender&) = delete;
  HeartbeatSender& operator=(const HeartbeatSender&) = delete;

  void Start();
  void Stop();
  std::string subject() const;

 private:
  void Run(uint64_t generation);

  Bus* bus_;
  std::string subject_prefix_;
  Heartbeat heartbeat_;
  std::chrono::milliseconds interval_;
  Logger logger_;
  std::function<double()> load_source_;
  Mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ GUARDED_BY(mutex_) = false;
  uint64_t generation_ GUARDED_BY(mutex_) = 0;  // one per Start()
  std::thread thread_;
};

}  // namespace pdnsd
