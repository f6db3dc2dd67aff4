// Internal helpers of the dns module: RAII for file descriptors and ldns objects, socket
// addresses from HostPort, and deadline-bounded socket I/O for TCP length-prefixed DNS
// messages (RFC 1035 4.2.2). Not part of the module's public interface.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

// Before ldns: without __bool_true_false_are_defined, ldns/common.h #defines bool, true and
// false in C++, which breaks later standard headers (<optional>'s operator<=>).
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include "core/net.h"
#include "core/status.h"

namespace pdnsd::dnswire {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// ldns objects with their matching free functions.
struct LdnsDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
  void operator()(char* s) const { free(s); }     // strings from ldns_*2str
  void operator()(uint8_t* w) const { free(w); }  // buffers from ldns_*2wire
};
using PktPtr = std::unique_ptr<ldns_pkt, LdnsDeleter>;
using RrPtr = std::unique_ptr<ldns_rr, LdnsDeleter>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsDeleter>;

// A resolved socket address.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Numeric IPv4/IPv6 addresses ("127.0.0.1", "::1"); other names go through getaddrinfo
// (not bounded by any deadline). An empty host is the wildcard address.
StatusOr<SockAddr> ResolveHostPort(const HostPort& host_port);
// The address bound to / connected on `fd` as a HostPort ("::1" without brackets).
StatusOr<HostPort> LocalAddress(int fd);

// A socket of `type` (SOCK_STREAM / SOCK_DGRAM) for `family`, non-blocking, close-on-exec.
StatusOr<UniqueFd> NewSocket(int family, int type);
// Non-blocking connect bounded by `deadline`.
Status ConnectTcp(int fd, const SockAddr& address, Deadline deadline);

// Outcome of the low-level I/O below.
enum class IoResult {
  kOk,
  kClosed,   // the peer closed the connection before the first byte of a message
  kTimeout,  // the deadline passed
  kStopped,  // `stop` became true
  kError,    // an error or a close in the middle of a message
};

// Waits until `fd` is ready for `events` (POLLIN / POLLOUT). Polls in short slices so that a
// set `stop` (may be null) is noticed quickly.
IoResult WaitReady(int fd, short events, Deadline deadline, const std::atomic<bool>* stop);

// Writes all of `data`.
IoResult SendAll(int fd, std::string_view data, Deadline deadline, const std::atomic<bool>* stop);

// Reads one length-prefixed message into `message`. The first byte must arrive before
// `first_byte_deadline`; the rest of the message before `deadline`.
IoResult ReadTcpMessage(int fd, Deadline first_byte_deadline, Deadline deadline,
                        const std::atomic<bool>* stop, std::string* message);
// Writes one length-prefixed message. REQUIRES: message.size() <= 65535.
IoResult WriteTcpMessage(int fd, std::string_view message, Deadline deadline,
                         const std::atomic<bool>* stop);

// Maps an IoResult to a Status for a client; `what` names the operation ("reading from x").
Status IoStatus(IoResult result, const std::string& what);

// Wire format of `packet`, or empty on failure.
std::string PacketToWire(const ldns_pkt* packet);
// Parses a DNS message; null when malformed.
PktPtr WireToPacket(const uint8_t* data, size_t length);

// A query packet for `zone` / `type` (class IN) with a random id, no flags set.
StatusOr<PktPtr> NewQuery(std::string_view zone, ldns_rr_type type);
// True when `response` answers `query`: same id, QR set, same opcode and, when the response
// carries a question, the same question (names compared case-insensitively).
bool MatchesQuery(const ldns_pkt* query, const ldns_pkt* response);

// Presentation format of `rr` without comments and without the trailing newline.
std::string RrToString(const ldns_rr* rr);
// The serial of a SOA record (0 if `rr` is not a well-formed SOA).
uint32_t SoaSerial(const ldns_rr* rr);
// The name as presentation text ("example.org.").
std::string DnameToString(const ldns_rdf* dname);

}  // namespace pdnsd::dnswire
