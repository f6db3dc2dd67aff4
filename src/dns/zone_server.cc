#include "dns/zone_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include "dns/wire.h"
#include "model/zone_name.h"

namespace pdnsd {
namespace {

using dnswire::Clock;
using dnswire::IoResult;
using dnswire::PktPtr;
using dnswire::RdfPtr;
using dnswire::RrPtr;

// An AXFR answer is split into messages of about this many octets (docs/stack-notes.md).
constexpr size_t kMessageBudget = 16 * 1024;
constexpr size_t kHeaderSize = 12;
// Classic DNS over UDP without EDNS.
constexpr size_t kMaxUdpAnswer = 512;
// An idle TCP connection is closed after this long; a started message must be complete in
// kReadTimeout; every answer message must be written within kWriteTimeout.
constexpr std::chrono::seconds kIdleTimeout{30};
constexpr std::chrono::seconds kReadTimeout{10};
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::milliseconds kPollSlice{100};
// Connections beyond this many are closed at once.
constexpr size_t kMaxConnections = 256;
// With port 0, how often to try finding a port free for both TCP and UDP.
constexpr int kBindAttempts = 10;
constexpr uint32_t kDefaultTtl = 3600;

// What a complete AXFR answer carried, for OnTransferServed.
struct ServedTransfer {
  bool is_axfr = false;
  std::string zone;
  uint32_t serial = 0;
};

// Everything an answer needs from the server.
struct AnswerContext {
  ZoneSource* source;
  ZoneServerObserver* observer;
  spdlog::logger& log;
};

// A reply skeleton for `query`: same id, opcode and RD; QR set; the question echoed when
// `with_question`.
PktPtr NewReply(const ldns_pkt* query, ldns_pkt_rcode rcode, bool with_question) {
  PktPtr reply(ldns_pkt_new());
  if (!reply) return nullptr;
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(query));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_opcode(reply.get(), ldns_pkt_get_opcode(query));
  ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(query));
  ldns_pkt_set_rcode(reply.get(), static_cast<uint8_t>(rcode));
  if (with_question) {
    const ldns_rr_list* question = ldns_pkt_question(query);
    const size_t count = question == nullptr ? 0 : ldns_rr_list_rr_count(question);
    for (size_t i = 0; i < count; ++i) {
      // ldns_pkt_push_rr takes ownership: push a clone.
      ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION,
                       ldns_rr_clone(ldns_rr_list_rr(question, i)));
    }
  }
  return reply;
}

std::vector<std::string> RcodeReply(const ldns_pkt* query, ldns_pkt_rcode rcode) {
  PktPtr reply = NewReply(query, rcode, true);
  if (!reply) return {};
  std::string wire = dnswire::PacketToWire(reply.get());
  if (wire.empty()) return {};
  return {std::move(wire)};
}

// Parses zone text (one RR per line), handing each record to `take` in order; stops when
// `take` returns false. Empty lines, comments and $-directives are skipped. On failure returns
// an error naming the first bad line. Holds one record at a time: a zone of tens of MB is
// never held parsed as a whole (tests/fault/large_zone_test.cc).
template <typename Take>
Status ForEachRecord(const std::string& text, const ldns_rdf* origin, Take&& take) {
  size_t start = 0;
  size_t line_number = 0;
  std::string line;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    line.assign(text, start, end - start);
    start = end + 1;
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;                // empty line
    if (line[first] == ';' || line[first] == '$') continue;  // comment, directive
    ldns_rr* parsed = nullptr;
    const ldns_status status =
        ldns_rr_new_frm_str(&parsed, line.c_str(), kDefaultTtl, origin, nullptr);
    RrPtr rr(parsed);
    // ldns turns some garbage ("two words") into a TYPE0 record instead of failing.
    if (status != LDNS_STATUS_OK || !rr || ldns_rr_get_type(rr.get()) == 0) {
      const char* reason =
          status != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(status) : "not a resource record";
      return Status::InvalidArgument("line " + std::to_string(line_number) + " (\"" + line +
                                     "\"): " + (reason != nullptr ? reason : "parse error"));
    }
    if (!take(std::move(rr))) break;
  }
  return Status::Ok();
}

bool IsApexSoa(const ldns_rr* rr, const ldns_rdf* apex) {
  return ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
         ldns_dname_compare(ldns_rr_owner(rr), apex) == 0;
}

// Packs SOA, records..., SOA into messages of about kMessageBudget octets as the records come;
// only the first message carries the question. Every SOA of the apex handed to Add() is left
// out (Finish() closes with the opening SOA), so zone data with or without the closing SOA (the
// original provider sends it) gives SOA first and last exactly once each.
class AxfrEncoder {
 public:
  // REQUIRES: `soa` is the zone's apex SOA; the encoder keeps its own copy.
  AxfrEncoder(const ldns_pkt* query, const ldns_rr* soa)
      : query_(query), soa_(ldns_rr_clone(soa)), apex_(ldns_rr_owner(soa_.get())) {
    current_ = NewReply(query_, LDNS_RCODE_NOERROR, true);
    if (!current_) {
      failed_ = true;
      return;
    }
    ldns_pkt_set_aa(current_.get(), true);
    used_ = kHeaderSize;
    for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_question(query_)); ++i) {
      used_ += ldns_rr_uncompressed_size(ldns_rr_list_rr(ldns_pkt_question(query_), i));
    }
    Push(ldns_rr_clone(soa_.get()));
  }

  // False once encoding failed (the caller stops).
  bool Add(RrPtr rr) {
    if (failed_) return false;
    if (IsApexSoa(rr.get(), apex_)) return true;
    Push(rr.release());
    ++records_;
    return !failed_;
  }
  // The messages, empty on failure. *served_records: records sent, both SOAs included.
  std::vector<std::string> Finish(size_t* served_records) {
    Push(ldns_rr_clone(soa_.get()));
    if (!failed_) Flush();
    *served_records = records_ + 2;
    if (failed_) return {};
    return std::move(messages_);
  }

 private:
  void Flush() {
    std::string wire = dnswire::PacketToWire(current_.get());
    if (wire.empty() || wire.size() > 65535) {
      failed_ = true;
      return;
    }
    messages_.push_back(std::move(wire));
    current_ = NewReply(query_, LDNS_RCODE_NOERROR, false);
    if (!current_) {
      failed_ = true;
      return;
    }
    ldns_pkt_set_aa(current_.get(), true);
    used_ = kHeaderSize;
  }
  // Takes ownership of rr.
  void Push(ldns_rr* rr) {
    if (rr == nullptr) failed_ = true;
    if (failed_) {
      if (rr != nullptr) ldns_rr_free(rr);
      return;
    }
    const size_t size = ldns_rr_uncompressed_size(rr);
    if (ldns_pkt_ancount(current_.get()) > 0 && used_ + size > kMessageBudget) Flush();
    if (failed_) {
      ldns_rr_free(rr);
      return;
    }
    ldns_pkt_push_rr(current_.get(), LDNS_SECTION_ANSWER, rr);
    used_ += size;
  }

  const ldns_pkt* const query_;
  RrPtr soa_;
  const ldns_rdf* apex_;  // owned by soa_
  PktPtr current_;
  size_t used_ = 0;
  size_t records_ = 0;
  bool failed_ = false;
  std::vector<std::string> messages_;
};

// Builds the answer messages for one query; empty when the query must be dropped (UDP) or
// the connection closed (TCP).
std::vector<std::string> BuildAnswer(const AnswerContext& context, const uint8_t* data,
                                     size_t length, bool over_tcp, ServedTransfer* served) {
  PktPtr query = dnswire::WireToPacket(data, length);
  if (!query) {
    context.log.debug("dropping a malformed DNS message ({} octets)", length);
    return {};
  }
  if (ldns_pkt_qr(query.get())) {
    context.log.debug("dropping a DNS response sent to the zone server");
    return {};
  }
  auto refuse = [&](const char* why) {
    context.log.debug("refusing a query: {}", why);
    context.observer->OnQuery("*", false);
    return RcodeReply(query.get(), LDNS_RCODE_REFUSED);
  };
  if (ldns_pkt_get_opcode(query.get()) != LDNS_PACKET_QUERY) return refuse("opcode not QUERY");
  const ldns_rr_list* question = ldns_pkt_question(query.get());
  if (ldns_pkt_qdcount(query.get()) != 1 || question == nullptr ||
      ldns_rr_list_rr_count(question) != 1) {
    return refuse("QDCOUNT is not 1");
  }
  const ldns_rr* asked = ldns_rr_list_rr(question, 0);
  if (ldns_rr_get_class(asked) != LDNS_RR_CLASS_IN) return refuse("class not IN");
  const ldns_rr_type qtype = ldns_rr_get_type(asked);
  if (qtype != LDNS_RR_TYPE_SOA && qtype != LDNS_RR_TYPE_AXFR) return refuse("type not SOA/AXFR");
  if (qtype == LDNS_RR_TYPE_AXFR && !over_tcp) return refuse("AXFR over UDP");
  auto zone = NormalizeZoneName(dnswire::DnameToString(ldns_rr_owner(asked)));
  if (!zone.ok()) return refuse("bad zone name");

  const bool only_soa = qtype == LDNS_RR_TYPE_SOA;
  const char* label = only_soa ? "soa" : "axfr";
  context.observer->OnQuery(label, true);
  auto text = context.source->FetchZone(*zone, only_soa);
  if (!text.ok() && !only_soa) context.observer->OnTransferFailed(*zone, text.status());
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      context.log.debug("{} {}: not found at the source", label, *zone);
      return RcodeReply(query.get(), LDNS_RCODE_NOTAUTH);
    }
    context.log.warn("{} {}: zone source failed: {}", label, *zone, text.status().ToString());
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL);
  }
  const ldns_rdf* qname = ldns_rr_owner(asked);
  // The apex SOA: the first one in the text (the source puts it first).
  RrPtr soa;
  Status parsed = ForEachRecord(*text, qname, [&](RrPtr rr) {
    if (!IsApexSoa(rr.get(), qname)) return true;
    soa = std::move(rr);
    return false;
  });
  if (parsed.ok() && !soa) parsed = Status::InvalidArgument("no SOA");
  if (!parsed.ok()) {
    context.log.error("{} {}: zone data from the source is not usable: {}", label, *zone,
                      parsed.message());
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL);
  }
  const uint32_t serial = dnswire::SoaSerial(soa.get());

  if (only_soa) {
    PktPtr reply = NewReply(query.get(), LDNS_RCODE_NOERROR, true);
    if (!reply) return {};
    ldns_pkt_set_aa(reply.get(), true);
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, soa.release());
    std::string wire = dnswire::PacketToWire(reply.get());
    if (!over_tcp && wire.size() > kMaxUdpAnswer) {
      // Too big for classic UDP: truncated, the client retries over TCP.
      reply = NewReply(query.get(), LDNS_RCODE_NOERROR, true);
      if (!reply) return {};
      ldns_pkt_set_aa(reply.get(), true);
      ldns_pkt_set_tc(reply.get(), true);
      wire = dnswire::PacketToWire(reply.get());
    }
    if (wire.empty()) return {};
    context.log.debug("soa {}: serial {}", *zone, serial);
    return {std::move(wire)};
  }

  // Records are parsed and packed one at a time, so the zone is never held parsed whole.
  AxfrEncoder encoder(query.get(), soa.get());
  if (Status s = ForEachRecord(*text, qname, [&](RrPtr rr) { return encoder.Add(std::move(rr)); });
      !s.ok()) {
    context.log.error("{} {}: zone data from the source does not parse: {}", label, *zone,
                      s.message());
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL);
  }
  size_t count = 0;
  std::vector<std::string> messages = encoder.Finish(&count);
  if (messages.empty()) {
    context.log.error("axfr {}: cannot encode the answer", *zone);
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL);
  }
  context.log.debug("axfr {}: serial {}, {} records in {} messages", *zone, serial, count,
                    messages.size());
  if (served != nullptr) {
    served->is_axfr = true;
    served->zone = *zone;
    served->serial = serial;
  }
  return messages;
}

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

ZoneServer::ZoneServer(HostPort listen, ZoneSource* source, ZoneServerObserver* observer,
                       Logger logger)
    : listen_(std::move(listen)),
      source_(source),
      observer_(observer),
      logger_(logger ? std::move(logger) : std::make_shared<spdlog::logger>("zone-server")) {}

ZoneServer::~ZoneServer() { Stop(); }

Status ZoneServer::Start() {
  if (tcp_fd_ >= 0 || udp_fd_ >= 0) return Status::Internal("zone server already started");
  auto address = dnswire::ResolveHostPort(listen_);
  if (!address.ok()) return address.status();
  const std::string where = listen_.ToString();

  dnswire::UniqueFd tcp;
  dnswire::UniqueFd udp;
  HostPort bound;
  for (int attempt = 1;; ++attempt) {
    auto tcp_socket = dnswire::NewSocket(address->family(), SOCK_STREAM);
    if (!tcp_socket.ok()) return tcp_socket.status();
    tcp = std::move(*tcp_socket);
    const int one = 1;
    setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp.get(), address->get(), address->length) != 0) {
      return Status::Unavailable("cannot bind TCP " + where + ": " + ErrnoText(errno));
    }
    if (::listen(tcp.get(), 128) != 0) {
      return Status::Unavailable("cannot listen on TCP " + where + ": " + ErrnoText(errno));
    }
    auto local = dnswire::LocalAddress(tcp.get());
    if (!local.ok()) return local.status();
    bound = *local;

    auto udp_socket = dnswire::NewSocket(address->family(), SOCK_DGRAM);
    if (!udp_socket.ok()) return udp_socket.status();
    udp = std::move(*udp_socket);
    dnswire::SockAddr udp_address = *address;
    if (udp_address.family() == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&udp_address.storage)->sin6_port = htons(bound.port);
    } else {
      reinterpret_cast<sockaddr_in*>(&udp_address.storage)->sin_port = htons(bound.port);
    }
    if (::bind(udp.get(), udp_address.get(), udp_address.length) == 0) break;
    const int error = errno;
    if (listen_.port == 0 && error == EADDRINUSE && attempt < kBindAttempts) {
      logger_->debug("UDP port {} is taken, trying another port", bound.port);
      continue;
    }
    return Status::Unavailable("cannot bind UDP " + bound.ToString() + ": " + ErrnoText(error));
  }

  stopping_ = false;
  tcp_fd_ = tcp.Release();
  udp_fd_ = udp.Release();
  bound_ = bound;
  try {
    udp_thread_ = std::thread([this] { UdpLoop(); });
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  } catch (const std::system_error& e) {
    Stop();
    return Status::Internal(std::string("cannot start zone server threads: ") + e.what());
  }
  logger_->info("zone server listening on {} (TCP and UDP)", bound_.ToString());
  return Status::Ok();
}

void ZoneServer::Stop() {
  stopping_ = true;
  // shutdown() wakes threads blocked in poll/accept/recv at once; the short poll slices are
  // the fallback.
  if (tcp_fd_ >= 0) ::shutdown(tcp_fd_, SHUT_RDWR);
  if (udp_fd_ >= 0) ::shutdown(udp_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  if (udp_thread_.joinable()) udp_thread_.join();
  std::list<std::unique_ptr<Connection>> connections;
  {
    MutexLock lock(connections_mutex_);
    for (auto& connection : connections_) ::shutdown(connection->fd, SHUT_RDWR);
    connections.swap(connections_);
  }
  for (auto& connection : connections) {
    if (connection->thread.joinable()) connection->thread.join();
    ::close(connection->fd);
  }
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  if (udp_fd_ >= 0) ::close(udp_fd_);
  tcp_fd_ = -1;
  udp_fd_ = -1;
}

void ZoneServer::UdpLoop() {
  std::vector<uint8_t> buffer(65535);
  while (!stopping_) {
    pollfd p{udp_fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(kPollSlice.count()));
    if (rc <= 0 || stopping_) continue;
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    const ssize_t n = ::recvfrom(udp_fd_, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (n <= 0) continue;  // EAGAIN, or woken by shutdown()
    std::vector<std::string> answer;
    RunCatching(logger_, "a UDP query",
                [&] { answer = Answer(buffer.data(), static_cast<size_t>(n), false); });
    if (answer.empty()) continue;
    if (::sendto(udp_fd_, answer.front().data(), answer.front().size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&peer), peer_length) < 0) {
      logger_->debug("UDP answer not sent: {}", ErrnoText(errno));
    }
  }
}

void ZoneServer::AcceptLoop() {
  while (!stopping_) {
    // Reap finished connections so that the list does not grow.
    {
      MutexLock lock(connections_mutex_);
      for (auto it = connections_.begin(); it != connections_.end();) {
        if ((*it)->done) {
          (*it)->thread.join();
          ::close((*it)->fd);
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
    }
    pollfd p{tcp_fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(kPollSlice.count()));
    if (rc <= 0 || stopping_) continue;
    const int fd = ::accept4(tcp_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        logger_->warn("accept failed: {}", ErrnoText(errno));
        std::this_thread::sleep_for(kPollSlice);
      }
      continue;
    }
    MutexLock lock(connections_mutex_);
    if (connections_.size() >= kMaxConnections) {
      logger_->warn("too many TCP connections ({}), closing a new one", connections_.size());
      ::close(fd);
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    Connection* raw = connection.get();
    try {
      raw->thread = std::thread([this, raw] {
        RunCatching(logger_, "a TCP connection", [&] { ServeConnection(raw->fd); });
        raw->done = true;
      });
    } catch (const std::system_error& e) {
      logger_->warn("cannot start a connection thread: {}", e.what());
      ::close(fd);
      continue;
    }
    connections_.push_back(std::move(connection));
  }
}

void ZoneServer::ServeConnection(int fd) {
  const AnswerContext context{source_, observer_, *logger_};
  for (;;) {
    const auto now = Clock::now();
    std::string message;
    const IoResult read = dnswire::ReadTcpMessage(
        fd, now + kIdleTimeout, now + kIdleTimeout + kReadTimeout, &stopping_, &message);
    if (read != IoResult::kOk) {
      if (read == IoResult::kError) logger_->debug("TCP client sent a truncated message");
      break;
    }
    ServedTransfer served;
    std::vector<std::string> answer = BuildAnswer(
        context, reinterpret_cast<const uint8_t*>(message.data()), message.size(), true, &served);
    if (answer.empty()) break;  // garbage: close this connection
    bool written = true;
    for (const std::string& part : answer) {
      if (dnswire::WriteTcpMessage(fd, part, Clock::now() + kWriteTimeout, &stopping_) !=
          IoResult::kOk) {
        written = false;
        break;
      }
    }
    if (!written) {
      logger_->debug("TCP client went away while an answer was written");
      break;
    }
    if (served.is_axfr) observer_->OnTransferServed(served.zone, served.serial);
  }
  // The peer sees the end at once; the descriptor is closed when the thread is reaped.
  ::shutdown(fd, SHUT_RDWR);
}

std::vector<std::string> ZoneServer::Answer(const uint8_t* query, size_t length, bool over_tcp) {
  const AnswerContext context{source_, observer_, *logger_};
  return BuildAnswer(context, query, length, over_tcp, nullptr);
}

}  // namespace pdnsd
