#include "core/http_listener.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace pdnsd {
namespace {

void SetReuseAddress(int fd) {
  const int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

// Why binding `listen` fails: the same bind cpp-httplib made (same options), done again to
// learn errno, which cpp-httplib does not report.
std::string BindFailure(const HostPort& listen) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(listen.port);
  if (int rc = getaddrinfo(listen.host.c_str(), port.c_str(), &hints, &result); rc != 0) {
    return gai_strerror(rc);
  }
  std::string reason = "bind failed";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      reason = std::strerror(errno);
      continue;
    }
    SetReuseAddress(fd);
    const bool bound = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    const int error = errno;
    if (bound && ::listen(fd, 1) != 0) {
      reason = std::strerror(errno);
    } else if (!bound) {
      reason = std::strerror(error);
    }
    close(fd);
    if (!bound) break;
  }
  freeaddrinfo(result);
  // strerror says "Address already in use"; operators grep for the lower-case phrase.
  for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return reason;
}

}  // namespace

HttpListener::HttpListener(std::unique_ptr<httplib::Server> server, std::string what)
    : server_(std::move(server)), what_(std::move(what)) {}

HttpListener::~HttpListener() { Stop(); }

Status HttpListener::Start(const HostPort& listen) {
  // Replaces cpp-httplib's defaults, which set SO_REUSEPORT (see the header).
  server_->set_socket_options(SetReuseAddress);
  int port = listen.port;
  if (port == 0) {
    port = server_->bind_to_any_port(listen.host);
  } else if (!server_->bind_to_port(listen.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Status::Unavailable("cannot listen for " + what_ + " on " + listen.ToString() + ": " +
                               BindFailure(listen));
  }
  bound_ = {listen.host, static_cast<uint16_t>(port)};
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs, so a Stop() right after Start() would leave
  // the thread serving forever: return only once it runs (a few microseconds).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return Status::Ok();
}

void HttpListener::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace pdnsd
