// ZoneServer: the syncer's small SOA/AXFR endpoint (TCP and UDP, one address).
//
// It answers only SOA (UDP and TCP) and AXFR (TCP) queries for zones its ZoneSource knows;
// any other query type gets REFUSED, garbage bytes or a truncated message close that TCP
// connection (or are dropped on UDP) and nothing else. A zone the source cannot deliver gets
// SERVFAIL (source unavailable) or NOTAUTH (source says NotFound) at once, never a hang.
// Large AXFR answers are split into messages of about 16 KiB.
//
// Threads: Start() spawns one UDP thread, one TCP accept thread and one thread per TCP
// connection; Stop() closes the sockets and joins all of them. The source and the observer
// are called from those threads and must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/logging.h"
#include "core/net.h"
#include "core/status.h"

#include "core/thread_annotations.h"

namespace pdnsd {

class ZoneSource {
 public:
  virtual ~ZoneSource() = default;
  // The zone text for `zone` (normalised): one RR per line in presentation format, SOA first,
  // with or without the transfer's closing SOA at the end (the AXFR answer has the SOA first
  // and last exactly once either way). With only_soa, just the SOA line. NotFound when the
  // zone does not exist at the primary.
  virtual StatusOr<std::string> FetchZone(const std::string& zone, bool only_soa) = 0;
};

class ZoneServerObserver {
 public:
  virtual ~ZoneServerObserver() = default;
  // Every query: qtype "soa" or "axfr" with permitted = true, or "*" with permitted = false
  // for anything refused (the original's metric labels).
  virtual void OnQuery(std::string_view qtype, bool permitted) = 0;
  // A complete AXFR of `zone` with `serial` was written to a client.
  virtual void OnTransferServed(const std::string& zone, uint32_t serial) = 0;
  // An AXFR of `zone` was answered with an error because the source could not deliver it.
  virtual void OnTransferFailed(const std::string& zone, const Status& why) = 0;
};

class ZoneServer {
 public:
  // REQUIRES: source and observer outlive the server.
  ZoneServer(HostPort listen, ZoneSource* source, ZoneServerObserver* observer, Logger logger);
  ~ZoneServer();  // calls Stop()
  ZoneServer(const ZoneServer&) = delete;
  ZoneServer& operator=(const ZoneServer&) = delete;

  // Binds TCP and UDP on the address (port 0: the same free port for both) and starts serving.
  Status Start();
  // Stops accepting, closes every connection, joins every thread. Idempotent.
  void Stop();
  // The bound address (valid after a successful Start()).
  HostPort address() const { return bound_; }
  // The answer messages (wire format) to one query, as the sockets send them; empty when it
  // must be dropped. Needs no Start(): the fuzz target drives it directly.
  std::vector<std::string> Answer(const uint8_t* query, size_t length, bool over_tcp);

 private:
  void UdpLoop();
  void AcceptLoop();
  void ServeConnection(int fd);

  HostPort listen_;
  HostPort bound_;
  ZoneSource* source_;
  ZoneServerObserver* observer_;
  Logger logger_;
  std::atomic<bool> stopping_{false};
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  std::thread udp_thread_;
  std::thread accept_thread_;
  struct Connection {
    int fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  Mutex connections_mutex_;
  std::list<std::unique_ptr<Connection>> connections_ GUARDED_BY(connections_mutex_);
};

}  // namespace pdnsd
