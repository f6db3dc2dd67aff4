#include "support/tcp_forwarder.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "support/processes.h"

namespace pdnsd::testing {
namespace {

// A connected TCP socket to `target`, or -1.
int ConnectTo(const HostPort& target) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found) != 0) {
    return -1;
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

}  // namespace

// One relayed connection: the client's socket, the server's, and the thread copying both ways.
struct TcpForwarder::Pair {
  int client = -1;
  int server = -1;
  std::thread relay;

  // Copies until either side closes or Close() shuts the sockets down; then the other side
  // sees the close too (a server's restart reaches the client).
  void Relay() {
    Copy();
    shutdown(client, SHUT_RDWR);
    shutdown(server, SHUT_RDWR);
  }
  void Copy() {
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    char buffer[64 * 1024];
    while (true) {
      if (poll(fds, 2, 200) < 0 && errno != EINTR) return;
      for (int i = 0; i < 2; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) return;
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t m = write(fds[1 - i].fd, buffer + sent, static_cast<size_t>(n - sent));
          if (m <= 0) return;
          sent += m;
        }
      }
    }
  }
  void Close() {
    // Both ends see the connection reset at once, as when a link goes away with a RST.
    shutdown(client, SHUT_RDWR);
    shutdown(server, SHUT_RDWR);
    if (relay.joinable()) relay.join();
    close(client);
    close(server);
  }
};

TcpForwarder::TcpForwarder() = default;
TcpForwarder::~TcpForwarder() { Cut(); }

std::string TcpForwarder::nats_url() const { return "nats://" + address().ToString(); }

Status TcpForwarder::Start(const HostPort& target) {
  target_ = target;
  port_ = FreePort(target.host);
  return Listen();
}

Status TcpForwarder::Listen() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(target_.host.c_str(), std::to_string(port_).c_str(), &hints, &found) != 0) {
    return Status::InvalidArgument("bad forwarder address " + target_.host);
  }
  listener_ = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const bool bound = listener_ >= 0 && bind(listener_, found->ai_addr, found->ai_addrlen) == 0 &&
                     listen(listener_, 64) == 0;
  freeaddrinfo(found);
  if (!bound) {
    const std::string why = std::strerror(errno);
    if (listener_ >= 0) close(listener_);
    listener_ = -1;
    return Status::Unavailable("forwarder cannot listen on port " + std::to_string(port_) + ": " +
                               why);
  }
  cut_ = false;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void TcpForwarder::AcceptLoop() {
  while (!cut_) {
    pollfd fd{listener_, POLLIN, 0};
    if (poll(&fd, 1, 100) <= 0) continue;
    const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = ConnectTo(target_);
    if (server < 0) {
      close(client);
      continue;
    }
    auto pair = std::make_unique<Pair>();
    pair->client = client;
    pair->server = server;
    Pair* raw = pair.get();
    std::lock_guard lock(pairs_mutex_);
    pairs_.push_back(std::move(pair));
    raw->relay = std::thread([raw] { raw->Relay(); });
  }
}

void TcpForwarder::Cut() {
  cut_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  if (listener_ >= 0) close(listener_);
  listener_ = -1;
  std::lock_guard lock(pairs_mutex_);
  for (auto& pair : pairs_) pair->Close();
  pairs_.clear();
}

Status TcpForwarder::Restore() {
  if (listener_ >= 0) return Status::Ok();
  return Listen();
}

}  // namespace pdnsd::testing
