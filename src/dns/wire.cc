#include "dns/wire.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pdnsd::dnswire {
namespace {

// Longest single poll() so that a stop flag is noticed quickly.
constexpr std::chrono::milliseconds kPollSlice{100};

std::string ErrnoText(int error) { return std::strerror(error); }

uint16_t RandomId() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) != static_cast<ssize_t>(sizeof id)) {
    // getrandom on Linux does not fail for 2 bytes once the pool is initialised; fall back
    // to something that still varies.
    id = static_cast<uint16_t>(Clock::now().time_since_epoch().count());
  }
  return id;
}

}  // namespace

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StatusOr<SockAddr> ResolveHostPort(const HostPort& host_port) {
  SockAddr result;
  const std::string& host = host_port.host;
  if (host.empty()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&result.storage);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    in->sin_port = htons(host_port.port);
    result.length = sizeof(sockaddr_in);
    return result;
  }
  {
    auto* in = reinterpret_cast<sockaddr_in*>(&result.storage);
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(host_port.port);
      result.length = sizeof(sockaddr_in);
      return result;
    }
  }
  {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(host_port.port);
      result.length = sizeof(sockaddr_in6);
      return result;
    }
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string port = std::to_string(host_port.port);
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0 || list == nullptr) {
    return Status::Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  std::memcpy(&result.storage, list->ai_addr, list->ai_addrlen);
  result.length = list->ai_addrlen;
  freeaddrinfo(list);
  return result;
}

StatusOr<HostPort> LocalAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return Status::Internal("getsockname: " + ErrnoText(errno));
  }
  char text[INET6_ADDRSTRLEN] = {};
  HostPort result;
  if (storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    result.port = ntohs(in->sin_port);
  } else if (storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    result.port = ntohs(in6->sin6_port);
  } else {
    return Status::Internal("unexpected address family");
  }
  result.host = text;
  return result;
}

StatusOr<UniqueFd> NewSocket(int family, int type) {
  UniqueFd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::Unavailable("socket: " + ErrnoText(errno));
  return fd;
}

Status ConnectTcp(int fd, const SockAddr& address, Deadline deadline) {
  if (::connect(fd, address.get(), address.length) == 0) return Status::Ok();
  if (errno != EINPROGRESS && errno != EINTR) {
    return Status::Unavailable("connect: " + ErrnoText(errno));
  }
  const IoResult ready = WaitReady(fd, POLLOUT, deadline, nullptr);
  if (ready == IoResult::kTimeout) return Status::Timeout("connect timed out");
  if (ready != IoResult::kOk) return Status::Unavailable("connect failed");
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return Status::Unavailable("connect: " + ErrnoText(error));
  return Status::Ok();
}

IoResult WaitReady(int fd, short events, Deadline deadline, const std::atomic<bool>* stop) {
  for (;;) {
    if (stop != nullptr && stop->load()) return IoResult::kStopped;
    const auto now = Clock::now();
    if (now >= deadline) return IoResult::kTimeout;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    const auto slice = std::min<std::chrono::milliseconds>(left, kPollSlice);
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(slice.count()));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return IoResult::kError;
    }
    if (rc == 0) continue;
    if (p.revents & POLLNVAL) return IoResult::kError;
    // POLLERR / POLLHUP: let the following read or write report what happened.
    return IoResult::kOk;
  }
}

IoResult SendAll(int fd, std::string_view data, Deadline deadline, const std::atomic<bool>* stop) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const IoResult ready = WaitReady(fd, POLLOUT, deadline, stop);
      if (ready != IoResult::kOk) return ready;
      continue;
    }
    return IoResult::kError;
  }
  return IoResult::kOk;
}

namespace {

// Reads exactly `length` bytes. kClosed only when the peer closed before the first byte and
// `eof_ok` is set.
IoResult RecvExact(int fd, uint8_t* buffer, size_t length, Deadline first_byte_deadline,
                   Deadline deadline, const std::atomic<bool>* stop, bool eof_ok) {
  size_t done = 0;
  while (done < length) {
    const ssize_t n = ::recv(fd, buffer + done, length - done, 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return (done == 0 && eof_ok) ? IoResult::kClosed : IoResult::kError;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const IoResult ready =
          WaitReady(fd, POLLIN, done == 0 ? first_byte_deadline : deadline, stop);
      if (ready != IoResult::kOk) return ready;
      continue;
    }
    return IoResult::kError;
  }
  return IoResult::kOk;
}

}  // namespace

IoResult ReadTcpMessage(int fd, Deadline first_byte_deadline, Deadline deadline,
                        const std::atomic<bool>* stop, std::string* message) {
  uint8_t prefix[2];
  IoResult result = RecvExact(fd, prefix, 2, first_byte_deadline, deadline, stop, true);
  if (result != IoResult::kOk) return result;
  const size_t length = (static_cast<size_t>(prefix[0]) << 8) | prefix[1];
  message->assign(length, '\0');
  if (length == 0) return IoResult::kOk;
  result = RecvExact(fd, reinterpret_cast<uint8_t*>(message->data()), length, deadline, deadline,
                     stop, false);
  return result;
}

IoResult WriteTcpMessage(int fd, std::string_view message, Deadline deadline,
                         const std::atomic<bool>* stop) {
  if (message.size() > 65535) return IoResult::kError;
  std::string framed;
  framed.reserve(message.size() + 2);
  framed += static_cast<char>((message.size() >> 8) & 0xff);
  framed += static_cast<char>(message.size() & 0xff);
  framed.append(message);
  return SendAll(fd, framed, deadline, stop);
}

Status IoStatus(IoResult result, const std::string& what) {
  switch (result) {
    case IoResult::kOk:
      return Status::Ok();
    case IoResult::kTimeout:
      return Status::Timeout(what + ": timed out");
    case IoResult::kClosed:
      return Status::Unavailable(what + ": connection closed by peer");
    case IoResult::kStopped:
      return Status::Unavailable(what + ": stopped");
    case IoResult::kError:
      break;
  }
  return Status::Unavailable(what + ": connection failed or closed mid-message");
}

std::string PacketToWire(const ldns_pkt* packet) {
  uint8_t* wire = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&wire, packet, &size) != LDNS_STATUS_OK || wire == nullptr) {
    free(wire);
    return {};
  }
  std::unique_ptr<uint8_t, LdnsDeleter> owned(wire);
  return std::string(reinterpret_cast<const char*>(wire), size);
}

PktPtr WireToPacket(const uint8_t* data, size_t length) {
  ldns_pkt* packet = nullptr;
  if (ldns_wire2pkt(&packet, data, length) != LDNS_STATUS_OK) {
    ldns_pkt_free(packet);
    return nullptr;
  }
  return PktPtr(packet);
}

StatusOr<PktPtr> NewQuery(std::string_view zone, ldns_rr_type type) {
  ldns_rdf* name = ldns_dname_new_frm_str(std::string(zone).c_str());
  if (name == nullptr) {
    return Status::InvalidArgument("not a domain name: \"" + std::string(zone) + "\"");
  }
  // ldns_pkt_query_new takes ownership of the name, also when it fails.
  PktPtr query(ldns_pkt_query_new(name, type, LDNS_RR_CLASS_IN, 0));
  if (!query) return Status::Internal("cannot build a DNS query");
  ldns_pkt_set_id(query.get(), RandomId());
  return query;
}

bool MatchesQuery(const ldns_pkt* query, const ldns_pkt* response) {
  if (ldns_pkt_id(response) != ldns_pkt_id(query) || !ldns_pkt_qr(response)) return false;
  if (ldns_pkt_get_opcode(response) != ldns_pkt_get_opcode(query)) return false;
  const ldns_rr_list* response_question = ldns_pkt_question(response);
  if (response_question == nullptr || ldns_rr_list_rr_count(response_question) == 0) return true;
  if (ldns_rr_list_rr_count(response_question) != 1) return false;
  const ldns_rr* asked = ldns_rr_list_rr(ldns_pkt_question(query), 0);
  const ldns_rr* got = ldns_rr_list_rr(response_question, 0);
  return ldns_rr_get_type(asked) == ldns_rr_get_type(got) &&
         ldns_rr_get_class(asked) == ldns_rr_get_class(got) &&
         ldns_dname_compare(ldns_rr_owner(asked), ldns_rr_owner(got)) == 0;
}

std::string RrToString(const ldns_rr* rr) {
  // Without comments: the default format appends ";{id = ...}" to DNSKEY records.
  std::unique_ptr<char, LdnsDeleter> text(ldns_rr2str_fmt(ldns_output_format_nocomments, rr));
  if (!text) return {};
  std::string result(text.get());
  while (!result.empty() && (result.back() == '\n' || result.back() == ' ')) result.pop_back();
  return result;
}

uint32_t SoaSerial(const ldns_rr* rr) {
  if (rr == nullptr || ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 3) {
    return 0;
  }
  const ldns_rdf* serial = ldns_rr_rdf(rr, 2);
  if (serial == nullptr || ldns_rdf_get_type(serial) != LDNS_RDF_TYPE_INT32) return 0;
  return ldns_rdf2native_int32(serial);
}

std::string DnameToString(const ldns_rdf* dname) {
  std::unique_ptr<char, LdnsDeleter> text(ldns_rdf2str(dname));
  return text ? std::string(text.get()) : std::string();
}

}  // namespace pdnsd::dnswire
