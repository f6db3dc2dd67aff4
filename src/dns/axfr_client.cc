#include "dns/axfr_client.h"

#include <sys/socket.h>

#include <string>

#include "dns/wire.h"

namespace pdnsd {

using dnswire::Clock;
using dnswire::Deadline;
using dnswire::IoResult;
using dnswire::PktPtr;

StatusOr<TransferSummary> StreamZoneTransfer(const HostPort& primary, std::string_view zone,
                                             std::chrono::milliseconds timeout,
                                             const TransferRecordSink& take) {
  const Deadline deadline = Clock::now() + timeout;
  const std::string server = primary.ToString();
  const std::string what = "AXFR of " + std::string(zone) + " from " + server;

  auto address = dnswire::ResolveHostPort(primary);
  if (!address.ok()) return address.status();
  auto query = dnswire::NewQuery(zone, LDNS_RR_TYPE_AXFR);
  if (!query.ok()) return query.status();
  const std::string query_wire = dnswire::PacketToWire(query->get());
  if (query_wire.empty()) return Status::Internal("cannot encode the AXFR query");
  const ldns_rdf* qname = ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(query->get()), 0));

  auto fd = dnswire::NewSocket(address->family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  Status connected = dnswire::ConnectTcp(fd->get(), *address, deadline);
  if (!connected.ok()) return Status(connected.code(), what + ": " + connected.message());
  IoResult io = dnswire::WriteTcpMessage(fd->get(), query_wire, deadline, nullptr);
  if (io != IoResult::kOk) return dnswire::IoStatus(io, what);

  TransferSummary transfer;
  bool opened = false;  // the opening SOA was seen
  for (;;) {
    std::string message;
    io = dnswire::ReadTcpMessage(fd->get(), deadline, deadline, nullptr, &message);
    if (io == IoResult::kClosed) return Status::Unavailable(what + ": truncated transfer");
    if (io != IoResult::kOk) return dnswire::IoStatus(io, what);
    PktPtr packet =
        dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(message.data()), message.size());
    if (!packet) return Status::Unavailable(what + ": malformed message");
    if (!dnswire::MatchesQuery(query->get(), packet.get())) {
      return Status::Unavailable(what + ": answer does not match the query");
    }
    const auto rcode = ldns_pkt_get_rcode(packet.get());
    if (rcode == LDNS_RCODE_NOTAUTH || rcode == LDNS_RCODE_REFUSED ||
        rcode == LDNS_RCODE_NXDOMAIN) {
      return Status::NotFound(what + ": refused or not authoritative (rcode " +
                              std::to_string(rcode) + ")");
    }
    if (rcode != LDNS_RCODE_NOERROR) {
      return Status::Unavailable(what + ": failed (rcode " + std::to_string(rcode) + ")");
    }
    const ldns_rr_list* answers = ldns_pkt_answer(packet.get());
    const size_t count = answers == nullptr ? 0 : ldns_rr_list_rr_count(answers);
    for (size_t i = 0; i < count; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answers, i);
      const bool is_soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
      bool closing = false;
      if (!opened) {
        if (!is_soa || ldns_dname_compare(ldns_rr_owner(rr), qname) != 0) {
          return Status::Unavailable(what + ": the transfer does not start with the zone's SOA");
        }
        opened = true;
        transfer.serial = dnswire::SoaSerial(rr);
      } else if (is_soa) {
        // The closing SOA ends the transfer (RFC 5936 2.2); nothing may follow it.
        if (i + 1 != count) return Status::Unavailable(what + ": records after the closing SOA");
        if (dnswire::SoaSerial(rr) != transfer.serial) {
          return Status::Unavailable(what + ": the zone changed during the transfer");
        }
        closing = true;
      }
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) transfer.has_rrsig = true;
      const std::string text = dnswire::RrToString(rr);
      if (text.empty()) return Status::Internal(what + ": cannot print a record");
      if (Status s = take(text); !s.ok()) return s;
      ++transfer.records;
      if (closing) return transfer;
    }
    if (!opened) return Status::Unavailable(what + ": empty first message");
  }
}

StatusOr<ZoneTransfer> TransferZone(const HostPort& primary, std::string_view zone,
                                    std::chrono::milliseconds timeout) {
  ZoneTransfer transfer;
  StatusOr<TransferSummary> summary =
      StreamZoneTransfer(primary, zone, timeout, [&](std::string_view record) {
        transfer.records.emplace_back(record);
        return Status::Ok();
      });
  if (!summary.ok()) return summary.status();
  transfer.serial = summary->serial;
  transfer.has_rrsig = summary->has_rrsig;
  // The closing SOA is kept apart (ZoneTransfer).
  transfer.closing_soa = std::move(transfer.records.back());
  transfer.records.pop_back();
  return transfer;
}

std::string ZoneText(const std::vector<std::string>& records) {
  size_t size = 0;
  for (const auto& record : records) size += record.size() + 1;
  std::string text;
  text.reserve(size);
  for (const auto& record : records) {
    text += record;
    text += '\n';
  }
  return text;
}

std::string AxfrZoneData(const ZoneTransfer& transfer) {
  std::string text = ZoneText(transfer.records);
  if (!transfer.closing_soa.empty()) {
    text += transfer.closing_soa;
    text += '\n';
  }
  return text;
}

}  // namespace pdnsd
