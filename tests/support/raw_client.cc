#include "support/raw_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>

#include "dns/wire.h"

namespace pdnsd::testing {

int ConnectRaw(const HostPort& server, int type) { return ConnectRawFrom(server, "", type); }

int ConnectRawFrom(const HostPort& server, const std::string& source, int type) {
  auto address = dnswire::ResolveHostPort(server);
  if (!address.ok()) return -1;
  const int fd = socket(address->family(), type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!source.empty()) {
    auto local = dnswire::ResolveHostPort(HostPort{source, 0});
    if (!local.ok() || bind(fd, local->get(), local->length) != 0) {
      close(fd);
      return -1;
    }
  }
  if (connect(fd, address->get(), address->length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendBytes(int fd, const std::string& data) {
  return send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

std::string Framed(const std::string& message) {
  std::string framed;
  framed += static_cast<char>(message.size() >> 8);
  framed += static_cast<char>(message.size() & 0xff);
  return framed + message;
}

std::optional<std::string> RecvFramed(int fd) {
  const auto deadline = dnswire::Clock::now() + std::chrono::seconds(5);
  std::string message;
  if (dnswire::ReadTcpMessage(fd, deadline, deadline, nullptr, &message) !=
      dnswire::IoResult::kOk) {
    return std::nullopt;
  }
  return message;
}

std::optional<std::string> UdpExchange(const HostPort& server, const std::string& source,
                                       const std::string& query) {
  const int fd = ConnectRawFrom(server, source, SOCK_DGRAM);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> answer;
  if (SendBytes(fd, query)) {
    char buffer[65535];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) answer = std::string(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

bool PeerClosed(int fd) {
  char byte;
  return recv(fd, &byte, 1, 0) == 0;
}

}  // namespace pdnsd::testing
