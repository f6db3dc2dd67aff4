// HttpListener: one cpp-httplib server bound to one address and served on an owned thread.
//
// Every HTTP endpoint of the services (the api-proxy, the metrics endpoint, the health-checker's
// status page) is served through this, so all of them fail the same way on a port in use:
// cpp-httplib's default socket options set SO_REUSEPORT (docs/stack-notes.md), which lets a second
// process bind a port already in use and the kernel split connections between both. The
// listener sets SO_REUSEADDR only (a restart can rebind a port in TIME_WAIT), so Start() fails
// with "address already in use" while any other socket listens there.
//
// Threads: Start() spawns the accept thread (cpp-httplib's own worker pool serves the
// connections); Stop() ends and joins it. Start() and Stop() are called from one thread.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "core/net.h"
#include "core/status.h"

namespace httplib {
class Server;
}

namespace pdnsd {

class HttpListener {
 public:
  // `what` names the endpoint in errors ("metrics endpoint", ...). The caller registers its
  // routes and settings on server() before Start().
  HttpListener(std::unique_ptr<httplib::Server> server, std::string what);
  ~HttpListener();  // calls Stop()
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  httplib::Server& server() { return *server_; }

  // Binds `listen` (port 0: any free port) and serves on the accept thread. A port in use:
  // Unavailable "cannot listen for <what> on <address>: address already in use".
  // REQUIRES: not started yet.
  Status Start(const HostPort& listen);
  // Stops accepting, waits for the accept thread. Idempotent.
  void Stop();
  // The bound address (after a successful Start()).
  HostPort address() const { return bound_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string what_;
  HostPort bound_;
  std::thread thread_;
};

}  // namespace pdnsd
