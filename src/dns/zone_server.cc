#include "dns/zone_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <string_view>
#include <system_error>
#include <vector>

#include "dns/tsig_wire.h"
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
// Every answer message must be written within kWriteTimeout (queries: ConnectionLimits).
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::milliseconds kPollSlice{100};
// The I/O thread wakes at least this often (deadlines, stop).
constexpr std::chrono::milliseconds kMaxPollWait{1000};
// After accept() failed for want of descriptors, the listener rests this long.
constexpr std::chrono::milliseconds kAcceptPause{100};
// Refused addresses remembered for the once-per-interval log line.
constexpr size_t kRefusalLogAddresses = 4096;
// With port 0, how often to try finding a port free for both TCP and UDP.
constexpr int kBindAttempts = 10;
constexpr uint32_t kDefaultTtl = 3600;

// What answering a query led to, for the caller's observer calls and log lines.
// Takes one finished answer message as soon as it is encoded (it writes it to the client);
// false when it could not (the client went away, the server stops).
using AnswerSink = std::function<bool(const std::string& message)>;

struct AnswerOutcome {
  bool is_axfr = false;  // a complete AXFR answer: zone and serial, for OnTransferServed
  // Messages already given to the sink; after one, a failure can only close the connection
  // (an error reply cannot follow part of an answer).
  size_t streamed = 0;
  bool sink_failed = false;
  std::string zone;
  uint32_t serial = 0;
  // Set when the query was refused for want of a valid TSIG: what was wrong with it.
  const char* tsig_refusal = nullptr;
};

// Everything an answer needs from the server.
struct AnswerContext {
  ZoneSource* source;
  ZoneServerObserver* observer;
  spdlog::logger& log;
  const std::optional<TsigKey>& tsig;
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

// The wire format of `reply`, signed first when `signer` is set; empty on failure.
std::string ToWire(ldns_pkt* reply, dnswire::TsigSigner* signer) {
  if (signer != nullptr && !signer->Sign(reply)) return {};
  return dnswire::PacketToWire(reply);
}

std::vector<std::string> RcodeReply(const ldns_pkt* query, ldns_pkt_rcode rcode,
                                    dnswire::TsigSigner* signer) {
  PktPtr reply = NewReply(query, rcode, true);
  if (!reply) return {};
  std::string wire = ToWire(reply.get(), signer);
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
    // RFC 3597's "\# 0" form skips ldns's field count: a record with fewer fields than its
    // type has ("example. SOA \# 0") would be sent in a message no client can read.
    const ldns_rr_descriptor* descriptor = ldns_rr_descript(ldns_rr_get_type(rr.get()));
    if (descriptor != nullptr &&
        ldns_rr_rd_count(rr.get()) < ldns_rr_descriptor_minimum(descriptor)) {
      return Status::InvalidArgument("line " + std::to_string(line_number) + " (\"" + line +
                                     "\"): fewer fields than the record type has");
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
  // REQUIRES: `soa` is the zone's apex SOA; the encoder keeps its own copy. `signer` (may be
  // null) signs every message and outlives the encoder. With a `sink`, every message but the
  // last goes to it as soon as it is full, so a client reads the first message while the rest
  // is still encoded (PowerDNS gives up on a transfer after axfr-fetch-timeout, 10 s, without
  // data) and the answer is never held whole; `outcome` counts them.
  AxfrEncoder(const ldns_pkt* query, const ldns_rr* soa, dnswire::TsigSigner* signer,
              const AnswerSink* sink = nullptr, AnswerOutcome* outcome = nullptr)
      : query_(query),
        soa_(ldns_rr_clone(soa)),
        apex_(ldns_rr_owner(soa_.get())),
        signer_(signer),
        sink_(sink),
        outcome_(outcome) {
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
    if (!failed_) Flush(/*last=*/true);
    *served_records = records_ + 2;
    if (failed_) return {};
    return std::move(messages_);
  }

 private:
  void Flush(bool last = false) {
    std::string wire = ToWire(current_.get(), signer_);
    if (wire.empty() || wire.size() > 65535) {
      failed_ = true;
      return;
    }
    if (sink_ != nullptr && *sink_ && outcome_ != nullptr && !last) {
      if (!(*sink_)(wire)) {
        outcome_->sink_failed = true;
        failed_ = true;
        return;
      }
      ++outcome_->streamed;
    } else {
      messages_.push_back(std::move(wire));
    }
    if (last) return;
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
  dnswire::TsigSigner* signer_;
  const AnswerSink* sink_;
  AnswerOutcome* outcome_;
  PktPtr current_;
  size_t used_ = 0;
  size_t records_ = 0;
  bool failed_ = false;
  std::vector<std::string> messages_;
};

// Builds the answer messages for one query; empty when the query must be dropped (UDP) or
// the connection closed (TCP). With a `sink` (TCP), an AXFR's messages but the last go to it
// as they are encoded, and the rest is returned.
std::vector<std::string> BuildAnswer(const AnswerContext& context, const uint8_t* data,
                                     size_t length, bool over_tcp, AnswerOutcome* outcome,
                                     const AnswerSink* sink = nullptr) {
  PktPtr query = dnswire::WireToPacket(data, length);
  if (!query) {
    context.log.debug("dropping a malformed DNS message ({} octets)", length);
    return {};
  }
  if (ldns_pkt_qr(query.get())) {
    context.log.debug("dropping a DNS response sent to the zone server");
    return {};
  }
  // TSIG (RFC 8945 5.2): with a key configured every query must be signed with it; a signed
  // query without one cannot be verified (BADKEY).
  std::optional<dnswire::TsigSigner> signer;
  dnswire::RdfPtr request_mac;
  if (context.tsig || ldns_pkt_tsig(query.get()) != nullptr) {
    const time_t now = std::time(nullptr);
    const dnswire::TsigVerdict verdict =
        context.tsig
            ? dnswire::CheckRequestTsig(query.get(), data, length, *context.tsig, now, &request_mac)
            : dnswire::TsigVerdict::kBadKey;
    if (verdict != dnswire::TsigVerdict::kValid) {
      context.observer->OnQuery("*", false);
      outcome->tsig_refusal = dnswire::TsigVerdictText(verdict);
      if (verdict == dnswire::TsigVerdict::kUnsigned) {
        return RcodeReply(query.get(), LDNS_RCODE_REFUSED, nullptr);
      }
      PktPtr reply = NewReply(query.get(), LDNS_RCODE_NOTAUTH, true);
      if (!reply) return {};
      dnswire::SetTsigError(query.get(), reply.get(), verdict, now);
      std::string wire = dnswire::PacketToWire(reply.get());
      if (wire.empty()) return {};
      return {std::move(wire)};
    }
    signer.emplace(*context.tsig, dnswire::RdfPtr(ldns_rdf_clone(request_mac.get())));
  }
  dnswire::TsigSigner* const sign = signer ? &*signer : nullptr;
  auto refuse = [&](const char* why) {
    context.log.debug("refusing a query: {}", why);
    context.observer->OnQuery("*", false);
    return RcodeReply(query.get(), LDNS_RCODE_REFUSED, sign);
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
      return RcodeReply(query.get(), LDNS_RCODE_NOTAUTH, sign);
    }
    context.log.warn("{} {}: zone source failed: {}", label, *zone, text.status().ToString());
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL, sign);
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
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL, sign);
  }
  const uint32_t serial = dnswire::SoaSerial(soa.get());

  if (only_soa) {
    PktPtr reply = NewReply(query.get(), LDNS_RCODE_NOERROR, true);
    if (!reply) return {};
    ldns_pkt_set_aa(reply.get(), true);
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, soa.release());
    std::string wire = ToWire(reply.get(), sign);
    if (!over_tcp && wire.size() > kMaxUdpAnswer) {
      // Too big for classic UDP: truncated, the client retries over TCP.
      reply = NewReply(query.get(), LDNS_RCODE_NOERROR, true);
      if (!reply) return {};
      ldns_pkt_set_aa(reply.get(), true);
      ldns_pkt_set_tc(reply.get(), true);
      std::optional<dnswire::TsigSigner> again;
      if (signer) again.emplace(*context.tsig, std::move(request_mac));
      wire = ToWire(reply.get(), again ? &*again : nullptr);
    }
    if (wire.empty()) return {};
    context.log.debug("soa {}: serial {}", *zone, serial);
    return {std::move(wire)};
  }

  // Records are parsed and packed one at a time, so the zone is never held parsed whole.
  AxfrEncoder encoder(query.get(), soa.get(), sign, sink, outcome);
  const Status encoded =
      ForEachRecord(*text, qname, [&](RrPtr rr) { return encoder.Add(std::move(rr)); });
  if (outcome->sink_failed) return {};  // the client went away: nothing more to write
  if (!encoded.ok()) {
    context.log.error("{} {}: zone data from the source does not parse: {}", label, *zone,
                      encoded.message());
    if (outcome->streamed > 0) return {};
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL, sign);
  }
  size_t count = 0;
  std::vector<std::string> messages = encoder.Finish(&count);
  if (outcome->sink_failed) return {};
  if (messages.empty()) {
    context.log.error("axfr {}: cannot encode the answer", *zone);
    if (outcome->streamed > 0) return {};
    return RcodeReply(query.get(), LDNS_RCODE_SERVFAIL, sign);
  }
  context.log.debug("axfr {}: serial {}, {} records in {} messages", *zone, serial, count,
                    outcome->streamed + messages.size());
  outcome->is_axfr = true;
  outcome->zone = *zone;
  outcome->serial = serial;
  return messages;
}

// The answer to a query from a client outside the allow-list: REFUSED, the source never
// asked; empty for garbage and responses (dropped, or the connection closed).
std::string RefusedAnswer(const uint8_t* data, size_t length) {
  PktPtr query = dnswire::WireToPacket(data, length);
  if (!query || ldns_pkt_qr(query.get())) return {};
  std::vector<std::string> reply = RcodeReply(query.get(), LDNS_RCODE_REFUSED, nullptr);
  return reply.empty() ? std::string() : std::move(reply.front());
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Sends a small framed message without waiting: it fits an empty socket buffer; a client that
// does not read loses it.
void SendFramedNow(int fd, const std::string& message) {
  if (message.empty() || message.size() > 65535) return;
  std::string framed;
  framed += static_cast<char>((message.size() >> 8) & 0xff);
  framed += static_cast<char>(message.size() & 0xff);
  framed += message;
  (void)::send(fd, framed.data(), framed.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

struct ZoneServer::Connection {
  uint64_t id = 0;
  int fd = -1;
  ClientAddress client;
  bool allowed = false;
  bool busy = false;    // a worker has it (not polled)
  std::string pending;  // bytes of the query being read, length prefix included
  Clock::time_point deadline;
};

ClientAllowList ZoneServerOptions::DefaultAllowList() {
  auto list = ClientAllowList::Parse({"127.0.0.1", "::1"});
  return list.ok() ? *list : ClientAllowList();
}

ZoneServer::ZoneServer(HostPort listen, ZoneSource* source, ZoneServerObserver* observer,
                       Logger logger, ZoneServerOptions options)
    : listen_(std::move(listen)),
      source_(source),
      observer_(observer),
      logger_(logger ? std::move(logger) : std::make_shared<spdlog::logger>("zone-server")),
      options_(std::move(options)),
      refusal_log_(options_.refusal_log_interval, kRefusalLogAddresses) {}

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
    if (::listen(tcp.get(), 1024) != 0) {
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
  dnswire::UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return Status::Internal("cannot make an eventfd: " + ErrnoText(errno));

  stopping_ = false;
  tcp_fd_ = tcp.Release();
  udp_fd_ = udp.Release();
  wake_fd_ = wake.Release();
  bound_ = bound;
  try {
    workers_ = std::make_unique<WorkerPool>(std::max(1, options_.workers));
    udp_thread_ = std::thread([this] { UdpLoop(); });
    io_thread_ = std::thread([this] { IoLoop(); });
  } catch (const std::system_error& e) {
    Stop();
    return Status::Internal(std::string("cannot start zone server threads: ") + e.what());
  }
  logger_->info("zone server listening on {} (TCP and UDP); clients allowed: {}; TSIG: {}",
                bound_.ToString(), options_.allow.ToString(),
                options_.tsig ? options_.tsig->name + " (" + options_.tsig->algorithm + ")"
                              : std::string("off"));
  return Status::Ok();
}

void ZoneServer::Stop() {
  stopping_ = true;
  Wake();
  // shutdown() wakes the UDP thread in poll/recv at once; the short poll slices are the
  // fallback.
  if (udp_fd_ >= 0) ::shutdown(udp_fd_, SHUT_RDWR);
  if (io_thread_.joinable()) io_thread_.join();
  if (udp_thread_.joinable()) udp_thread_.join();
  // Workers writing an answer notice stopping_ within a poll slice.
  for (auto& [id, connection] : connections_) ::shutdown(connection->fd, SHUT_RDWR);
  if (workers_) workers_->Stop();
  workers_.reset();
  for (auto& [id, connection] : connections_) ::close(connection->fd);
  connections_.clear();
  per_address_.clear();
  outsiders_ = 0;
  for (int* fd : {&tcp_fd_, &udp_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void ZoneServer::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)::write(wake_fd_, &one, sizeof one);
}

void ZoneServer::NoteRefused(const ClientAddress& client, std::string_view reason,
                             std::string_view detail) {
  observer_->OnRefused(reason);
  uint64_t suppressed = 0;
  bool log = false;
  {
    MutexLock lock(refusal_log_mutex_);
    log = refusal_log_.Note(client, Clock::now(), &suppressed);
  }
  if (!log) return;
  logger_->warn(
      "SOA/AXFR endpoint refused {}: {} ({} more refusals of this address since its "
      "last line; at most one line per address every {} s)",
      client.ToString(), detail, suppressed,
      std::chrono::duration_cast<std::chrono::seconds>(options_.refusal_log_interval).count());
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
    ClientAddress client;
    if (!ClientAddress::FromSockaddr(peer, &client)) continue;
    std::string answer;
    RunCatching(logger_, "a UDP query", [&] {
      if (!options_.allow.Allows(client)) {
        answer = RefusedAnswer(buffer.data(), static_cast<size_t>(n));
        if (!answer.empty()) {
          NoteRefused(client, "not_allowed", "UDP query from outside the allow-list (REFUSED)");
        }
        return;
      }
      const AnswerContext context{source_, observer_, *logger_, options_.tsig};
      AnswerOutcome outcome;
      std::vector<std::string> messages =
          BuildAnswer(context, buffer.data(), static_cast<size_t>(n), false, &outcome);
      if (outcome.tsig_refusal != nullptr) {
        NoteRefused(client, "tsig", std::string("UDP query ") + outcome.tsig_refusal);
      }
      if (!messages.empty()) answer = std::move(messages.front());
    });
    if (answer.empty()) continue;
    if (::sendto(udp_fd_, answer.data(), answer.size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&peer), peer_length) < 0) {
      logger_->debug("UDP answer not sent: {}", ErrnoText(errno));
    }
  }
}

void ZoneServer::IoLoop() {
  std::vector<pollfd> polled;
  std::vector<uint64_t> polled_ids;  // connection of polled[i + 2]
  Clock::time_point accept_paused_until{};
  while (!stopping_) {
    const auto now = Clock::now();
    polled.clear();
    polled_ids.clear();
    polled.push_back({wake_fd_, POLLIN, 0});
    polled.push_back({now < accept_paused_until ? -1 : tcp_fd_, POLLIN, 0});
    Clock::time_point next_deadline = now + kMaxPollWait;
    for (auto& [id, connection] : connections_) {
      if (connection->busy) continue;
      polled.push_back({connection->fd, POLLIN, 0});
      polled_ids.push_back(id);
      next_deadline = std::min(next_deadline, connection->deadline);
    }
    if (now < accept_paused_until) next_deadline = std::min(next_deadline, accept_paused_until);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - now);
    const int rc = ::poll(polled.data(), polled.size(),
                          static_cast<int>(std::max<int64_t>(0, wait.count()) + 1));
    if (stopping_) break;
    if (rc < 0 && errno != EINTR) {
      logger_->error("zone server poll failed: {}", ErrnoText(errno));
      std::this_thread::sleep_for(kPollSlice);
      continue;
    }
    auto close_connection = [&](uint64_t id) {
      auto it = connections_.find(id);
      if (it == connections_.end()) return;
      Connection& connection = *it->second;
      ::close(connection.fd);
      if (!connection.allowed) --outsiders_;
      auto count = per_address_.find(connection.client);
      if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
      connections_.erase(it);
    };
    // Connections the workers are done with.
    if (polled[0].revents != 0) {
      uint64_t drained = 0;
      (void)::read(wake_fd_, &drained, sizeof drained);
      std::vector<Finished> finished;
      {
        MutexLock lock(finished_mutex_);
        finished.swap(finished_);
      }
      for (const Finished& done : finished) {
        auto it = connections_.find(done.id);
        if (it == connections_.end()) continue;
        if (!done.keep_open) {
          close_connection(done.id);
          continue;
        }
        it->second->busy = false;
        it->second->deadline = Clock::now() + options_.limits.allowed_query_timeout;
      }
    }
    for (size_t i = 2; i < polled.size(); ++i) {
      if (polled[i].revents == 0) continue;
      auto it = connections_.find(polled_ids[i - 2]);
      if (it == connections_.end()) continue;
      bool keep = false;
      RunCatching(logger_, "reading a TCP query", [&] { keep = ReadFrom(*it->second); });
      if (!keep) close_connection(polled_ids[i - 2]);
    }
    // Connections that did not send a complete query in time.
    const auto after = Clock::now();
    std::vector<uint64_t> expired;
    for (auto& [id, connection] : connections_) {
      if (!connection->busy && connection->deadline <= after) expired.push_back(id);
    }
    for (uint64_t id : expired) {
      logger_->debug("closing a TCP connection from {}: no complete query in time",
                     connections_[id]->client.ToString());
      close_connection(id);
    }
    if (polled[1].revents != 0) {
      RunCatching(logger_, "accepting TCP connections", [&] { AcceptPending(); });
      if (accept_paused_) {
        accept_paused_ = false;
        accept_paused_until = Clock::now() + kAcceptPause;
      }
    }
  }
}

void ZoneServer::AcceptPending() {
  // A bounded batch per round, so that reading queries is never starved by a connect flood.
  for (int batch = 0; batch < 256; ++batch) {
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof peer;
    const int fd = ::accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        logger_->warn("accept failed: {}", ErrnoText(errno));
        accept_paused_ = true;
      }
      return;
    }
    ClientAddress client;
    if (!ClientAddress::FromSockaddr(peer, &client)) {
      ::close(fd);
      continue;
    }
    const bool allowed = options_.allow.Allows(client);
    ConnectionCounts counts;
    counts.total = connections_.size();
    counts.outsiders = outsiders_;
    auto count = per_address_.find(client);
    counts.from_address = count == per_address_.end() ? 0 : count->second;
    const Admission admission = DecideAdmission(allowed, counts, options_.limits);
    if (admission != Admission::kAdmit) {
      ::close(fd);
      NoteRefused(client, "connection_limit",
                  std::string("TCP connection from ") +
                      (allowed ? "an allowed client" : "outside the allow-list") +
                      " closed at accept: " + AdmissionText(admission));
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->id = next_id_++;
    connection->fd = fd;
    connection->client = client;
    connection->allowed = allowed;
    connection->deadline = Clock::now() + (allowed ? options_.limits.allowed_query_timeout
                                                   : options_.limits.outsider_query_timeout);
    ++per_address_[client];
    if (!allowed) ++outsiders_;
    connections_.emplace(connection->id, std::move(connection));
  }
}

bool ZoneServer::ReadFrom(Connection& connection) {
  for (;;) {
    size_t want = 2;
    if (connection.pending.size() >= 2) {
      const auto* prefix = reinterpret_cast<const uint8_t*>(connection.pending.data());
      want = 2 + ((static_cast<size_t>(prefix[0]) << 8) | prefix[1]);
    }
    if (connection.pending.size() == want && want > 2) break;       // a complete query
    if (connection.pending.size() == 2 && want == 2) return false;  // a zero-length message
    char buffer[4096];
    const size_t room = std::min(sizeof buffer, want - connection.pending.size());
    const ssize_t n = ::recv(connection.fd, buffer, room, MSG_DONTWAIT);
    if (n == 0) return false;  // closed (before or in the middle of a query)
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    connection.pending.append(buffer, static_cast<size_t>(n));
  }
  std::string query = connection.pending.substr(2);
  connection.pending.clear();
  if (!connection.allowed) {
    const std::string refused =
        RefusedAnswer(reinterpret_cast<const uint8_t*>(query.data()), query.size());
    if (!refused.empty()) {
      observer_->OnQuery("*", false);
      NoteRefused(connection.client, "not_allowed",
                  "TCP query from outside the allow-list (REFUSED, connection closed)");
      SendFramedNow(connection.fd, refused);
    }
    return false;  // one answer, then closed
  }
  connection.busy = true;
  const uint64_t id = connection.id;
  const int fd = connection.fd;
  const ClientAddress client = connection.client;
  const bool submitted = workers_->Submit([this, id, fd, client, query = std::move(query)] {
    bool keep_open = false;
    RunCatching(logger_, "a TCP query", [&] { keep_open = ServeQuery(fd, client, query); });
    {
      MutexLock lock(finished_mutex_);
      finished_.push_back({id, keep_open});
    }
    Wake();
  });
  return submitted;
}

bool ZoneServer::ServeQuery(int fd, const ClientAddress& client, const std::string& query) {
  const AnswerContext context{source_, observer_, *logger_, options_.tsig};
  AnswerOutcome outcome;
  const AnswerSink write = [&](const std::string& part) {
    return dnswire::WriteTcpMessage(fd, part, Clock::now() + kWriteTimeout, &stopping_) ==
           IoResult::kOk;
  };
  std::vector<std::string> answer =
      BuildAnswer(context, reinterpret_cast<const uint8_t*>(query.data()), query.size(), true,
                  &outcome, &write);
  if (outcome.tsig_refusal != nullptr) {
    NoteRefused(client, "tsig", std::string("TCP query ") + outcome.tsig_refusal);
  }
  if (outcome.sink_failed) {
    logger_->debug("TCP client went away while an answer was written");
    return false;
  }
  if (answer.empty()) return false;  // garbage, or an AXFR cut short: close this connection
  for (const std::string& part : answer) {
    if (dnswire::WriteTcpMessage(fd, part, Clock::now() + kWriteTimeout, &stopping_) !=
        IoResult::kOk) {
      logger_->debug("TCP client went away while an answer was written");
      return false;
    }
  }
  if (outcome.is_axfr) observer_->OnTransferServed(outcome.zone, outcome.serial);
  return outcome.tsig_refusal == nullptr;
}

std::vector<std::string> ZoneServer::Answer(const uint8_t* query, size_t length, bool over_tcp) {
  const AnswerContext context{source_, observer_, *logger_, options_.tsig};
  AnswerOutcome outcome;
  return BuildAnswer(context, query, length, over_tcp, &outcome);
}

}  // namespace pdnsd
