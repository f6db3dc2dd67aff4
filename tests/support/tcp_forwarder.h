// TcpForwarder: a loopback TCP relay between a client and a server, to cut a client off the
// network and let it back without touching either process (the fault suite's "syncer cut off
// from NATS"). Cut() closes every relayed connection and refuses new ones (the listening
// socket is closed, so connects fail as to a dead host's port); Restore() listens again on the
// same port. Threads are owned and joined by Cut() and the destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/net.h"
#include "core/status.h"

namespace pdnsd::testing {

class TcpForwarder {
 public:
  TcpForwarder();
  ~TcpForwarder();
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  // Listens on a free port of `target`'s host and relays every connection to `target`.
  Status Start(const HostPort& target);
  // Closes the listener and every relayed connection; joins the threads.
  void Cut();
  // Listens again on the same port.
  Status Restore();

  HostPort address() const { return {target_.host, port_}; }
  // "nats://host:port" of the relay, for a client's broker URL.
  std::string nats_url() const;

 private:
  struct Pair;
  Status Listen();
  void AcceptLoop();

  HostPort target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> cut_{false};
  std::thread acceptor_;
  std::mutex pairs_mutex_;
  std::vector<std::unique_ptr<Pair>> pairs_;  // guarded by pairs_mutex_
};

}  // namespace pdnsd::testing
