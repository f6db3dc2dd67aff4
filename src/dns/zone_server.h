// ZoneServer: the syncer's small SOA/AXFR endpoint (TCP and UDP, one address).
//
// It answers only SOA (UDP and TCP) and AXFR (TCP) queries for zones its ZoneSource knows;
// any other query type gets REFUSED, garbage bytes or a truncated message close that TCP
// connection (or are dropped on UDP) and nothing else. A zone the source cannot deliver gets
// SERVFAIL (source unavailable) or NOTAUTH (source says NotFound) at once, never a hang.
// Large AXFR answers are split into messages of about 16 KiB.
//
// Who may ask (ZoneServerOptions; client_access.h): a client outside the allow-list gets
// REFUSED to every query (UDP and TCP; its TCP connection is closed after that one answer)
// and the source is never asked for it; refusals are logged once per client address per
// interval and counted (ZoneServerObserver::OnRefused). With a TSIG key, every query must
// carry a valid TSIG of that key (unsigned: REFUSED; another key: NOTAUTH + BADKEY; bad MAC:
// NOTAUTH + BADSIG; RFC 8945 5.2) and every answer message is signed.
//
// Connections: one I/O thread accepts TCP connections and reads queries from all of them
// with poll(); an idle connection costs a descriptor, not a thread. A complete query from an
// allowed client goes to a bounded pool of workers, which build and write the answer and
// hand the connection back. DecideAdmission (client_access.h) admits or closes a new
// connection from the counts: slots reserved for allowed clients, per-address limits; a
// connection that has not sent a complete query within its timeout is closed.
//
// Threads: Start() spawns the I/O thread, one UDP thread and the workers; Stop() closes the
// sockets and joins all of them. The source and the observer are called from the UDP thread
// and the workers and must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/logging.h"
#include "core/net.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "core/worker_pool.h"
#include "dns/client_access.h"
#include "dns/tsig.h"

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
  // A client refused: `reason` is "not_allowed" (outside the allow-list), "tsig" (no valid
  // TSIG) or "connection_limit" (closed at accept, DecideAdmission).
  virtual void OnRefused(std::string_view reason) { (void)reason; }
};

struct ZoneServerOptions {
  // Default: loopback only (127.0.0.1 and ::1).
  ClientAllowList allow = DefaultAllowList();
  ConnectionLimits limits;
  std::optional<TsigKey> tsig;  // REQUIRES: validated (ValidateTsigKey)
  // Workers answering TCP queries of allowed clients (each AXFR holds one while it is
  // written).
  int workers = 8;
  std::chrono::milliseconds refusal_log_interval{60000};

  static ClientAllowList DefaultAllowList();
};

class ZoneServer {
 public:
  // REQUIRES: source and observer outlive the server.
  ZoneServer(HostPort listen, ZoneSource* source, ZoneServerObserver* observer, Logger logger,
             ZoneServerOptions options = {});
  ~ZoneServer();  // calls Stop()
  ZoneServer(const ZoneServer&) = delete;
  ZoneServer& operator=(const ZoneServer&) = delete;

  // Binds TCP and UDP on the address (port 0: the same free port for both) and starts serving.
  Status Start();
  // Stops accepting, closes every connection, joins every thread. Idempotent.
  void Stop();
  // The bound address (valid after a successful Start()).
  HostPort address() const { return bound_; }
  // The answer messages (wire format) to one query from an allowed client, as the sockets
  // send them; empty when it must be dropped. Needs no Start(): the fuzz target drives it.
  std::vector<std::string> Answer(const uint8_t* query, size_t length, bool over_tcp);

 private:
  struct Connection;
  struct Finished {  // a worker is done with a connection
    uint64_t id;
    bool keep_open;
  };
  void UdpLoop();
  void IoLoop();
  // I/O thread: accepts what is waiting on the listening socket.
  void AcceptPending();
  // I/O thread: reads what `connection` sent; false when it must be closed.
  bool ReadFrom(Connection& connection);
  // Worker: answers one query of an allowed client and writes the answer.
  bool ServeQuery(int fd, const ClientAddress& client, const std::string& query);
  // A refusal of `client` for `reason`: the metric, and a log line at most once per interval.
  void NoteRefused(const ClientAddress& client, std::string_view reason, std::string_view detail)
      EXCLUDES(refusal_log_mutex_);
  void Wake();

  HostPort listen_;
  HostPort bound_;
  ZoneSource* source_;
  ZoneServerObserver* observer_;
  Logger logger_;
  ZoneServerOptions options_;
  std::atomic<bool> stopping_{false};
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: workers and Stop() wake the I/O thread
  std::thread udp_thread_;
  std::thread io_thread_;
  std::unique_ptr<WorkerPool> workers_;
  // Owned by the I/O thread (and by Stop() after joining it).
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::map<ClientAddress, size_t> per_address_;
  size_t outsiders_ = 0;
  bool accept_paused_ = false;  // accept() ran out of descriptors
  uint64_t next_id_ = 1;
  Mutex finished_mutex_;
  std::vector<Finished> finished_ GUARDED_BY(finished_mutex_);
  Mutex refusal_log_mutex_;
  RefusalLogLimiter refusal_log_ GUARDED_BY(refusal_log_mutex_);
};

}  // namespace pdnsd
