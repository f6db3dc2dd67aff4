#include "dns/soa_query.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "dns/wire.h"

namespace pdnsd {
namespace {

using dnswire::Clock;
using dnswire::Deadline;
using dnswire::IoResult;
using dnswire::PktPtr;

constexpr size_t kUdpBufferSize = 65535;

// Interprets an answer to the SOA query: the SOA record, NotFound or Unavailable.
StatusOr<SoaRecord> SoaFromAnswer(const ldns_pkt* query, const ldns_pkt* answer,
                                  std::string_view zone, const std::string& server) {
  const std::string where = " for " + std::string(zone) + " from " + server;
  switch (ldns_pkt_get_rcode(answer)) {
    case LDNS_RCODE_NOERROR:
      break;
    case LDNS_RCODE_REFUSED:
    case LDNS_RCODE_NOTAUTH:
    case LDNS_RCODE_NXDOMAIN:
      return Status::NotFound("not authoritative (rcode " +
                              std::to_string(ldns_pkt_get_rcode(answer)) + ")" + where);
    default:
      return Status::Unavailable("SOA query failed (rcode " +
                                 std::to_string(ldns_pkt_get_rcode(answer)) + ")" + where);
  }
  const ldns_rdf* qname = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(query), 0));
  const ldns_rr_list* answers = ldns_pkt_answer(answer);
  const size_t count = answers == nullptr ? 0 : ldns_rr_list_rr_count(answers);
  for (size_t i = 0; i < count; ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(answers, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
        ldns_dname_compare(ldns_rr_owner(rr), qname) == 0 && ldns_rr_rd_count(rr) >= 3) {
      SoaRecord soa{dnswire::SoaSerial(rr), dnswire::RrToString(rr), 0};
      for (size_t j = 0; j < count; ++j) {
        const ldns_rr* sig = ldns_rr_list_rr(answers, j);
        if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(sig) < 9) continue;
        if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)) != LDNS_RR_TYPE_SOA) continue;
        const int64_t expiration = ldns_rdf2native_int32(ldns_rr_rrsig_expiration(sig));
        if (soa.rrsig_expiration == 0 || expiration < soa.rrsig_expiration) {
          soa.rrsig_expiration = expiration;
        }
      }
      return soa;
    }
  }
  return Status::NotFound("no SOA in the answer" + where);
}

StatusOr<PktPtr> QueryTcp(const dnswire::SockAddr& address, const std::string& query_wire,
                          const ldns_pkt* query, Deadline deadline, const std::string& server) {
  auto fd = dnswire::NewSocket(address.family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  Status connected = dnswire::ConnectTcp(fd->get(), address, deadline);
  if (!connected.ok()) return Status(connected.code(), server + ": " + connected.message());
  IoResult io = dnswire::WriteTcpMessage(fd->get(), query_wire, deadline, nullptr);
  if (io != IoResult::kOk) return dnswire::IoStatus(io, "sending SOA query to " + server);
  std::string message;
  io = dnswire::ReadTcpMessage(fd->get(), deadline, deadline, nullptr, &message);
  if (io != IoResult::kOk) return dnswire::IoStatus(io, "reading SOA answer from " + server);
  PktPtr answer =
      dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(message.data()), message.size());
  if (!answer) return Status::Unavailable("malformed SOA answer from " + server);
  if (!dnswire::MatchesQuery(query, answer.get())) {
    return Status::Unavailable("SOA answer from " + server + " does not match the query");
  }
  return answer;
}

StatusOr<PktPtr> QueryUdp(const dnswire::SockAddr& address, const std::string& query_wire,
                          const ldns_pkt* query, Deadline deadline, const std::string& server,
                          std::chrono::milliseconds timeout) {
  auto fd = dnswire::NewSocket(address.family(), SOCK_DGRAM);
  if (!fd.ok()) return fd.status();
  // A connected UDP socket only receives from the server and reports ICMP unreachable.
  if (::connect(fd->get(), address.get(), address.length) != 0) {
    return Status::Unavailable("connect to " + server + ": " + std::strerror(errno));
  }
  // Resend a lost query a few times within the timeout.
  const auto resend_interval =
      std::max<std::chrono::milliseconds>(timeout / 3, std::chrono::milliseconds(200));
  std::string buffer(kUdpBufferSize, '\0');
  Deadline next_send = Clock::now();
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) return Status::Timeout("no answer to the SOA query from " + server);
    if (now >= next_send) {
      const ssize_t sent = ::send(fd->get(), query_wire.data(), query_wire.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN && errno != EINTR) {
        return Status::Unavailable("sending SOA query to " + server + ": " + std::strerror(errno));
      }
      next_send = now + resend_interval;
    }
    const IoResult ready =
        dnswire::WaitReady(fd->get(), POLLIN, std::min(deadline, next_send), nullptr);
    if (ready == IoResult::kTimeout) continue;  // resend or give up, see above
    if (ready != IoResult::kOk) return Status::Unavailable("poll failed for " + server);
    const ssize_t n = ::recv(fd->get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status::Unavailable("SOA query to " + server + ": " + std::strerror(errno));
    }
    PktPtr answer =
        dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(buffer.data()), size_t(n));
    // Malformed or unrelated datagrams (late answers to an earlier query) are ignored.
    if (!answer || !dnswire::MatchesQuery(query, answer.get())) continue;
    return answer;
  }
}

}  // namespace

StatusOr<SoaRecord> QuerySoa(const HostPort& server, std::string_view zone,
                             std::chrono::milliseconds timeout, bool dnssec) {
  const Deadline deadline = Clock::now() + timeout;
  const std::string server_name = server.ToString();
  auto address = dnswire::ResolveHostPort(server);
  if (!address.ok()) return address.status();
  auto query = dnswire::NewQuery(zone, LDNS_RR_TYPE_SOA);
  if (!query.ok()) return query.status();
  if (dnssec) {
    ldns_pkt_set_edns_udp_size(query->get(), 1232);
    ldns_pkt_set_edns_do(query->get(), true);
  }
  const std::string query_wire = dnswire::PacketToWire(query->get());
  if (query_wire.empty()) return Status::Internal("cannot encode the SOA query");

  auto answer = QueryUdp(*address, query_wire, query->get(), deadline, server_name, timeout);
  if (!answer.ok()) return answer.status();
  if (ldns_pkt_tc(answer->get())) {
    answer = QueryTcp(*address, query_wire, query->get(), deadline, server_name);
    if (!answer.ok()) return answer.status();
  }
  return SoaFromAnswer(query->get(), answer->get(), zone, server_name);
}

StatusOr<uint32_t> QuerySoaSerial(const HostPort& server, std::string_view zone,
                                  std::chrono::milliseconds timeout) {
  auto soa = QuerySoa(server, zone, timeout);
  if (!soa.ok()) return soa.status();
  return soa->serial;
}

}  // namespace pdnsd
