#include "support/original_peers.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/logging.h"
#include "dns/axfr_client.h"
#include "dns/soa_query.h"
#include "dns/wire.h"
#include "model/messages.h"

namespace pdnsd::testing {

using dnswire::Clock;
using dnswire::IoResult;
using dnswire::PktPtr;

// ---------------------------------------------------------------------------------------------
// OriginalZoneProvider

OriginalZoneProvider::OriginalZoneProvider(Bus* bus, HostPort primary_dns,
                                           PdnsApiOptions primary_api)
    : bus_(bus), primary_dns_(std::move(primary_dns)), api_(std::move(primary_api)) {}

OriginalZoneProvider::~OriginalZoneProvider() { Stop(); }

Status OriginalZoneProvider::Start() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = false;
  }
  workers_ = std::make_unique<WorkerPool>(16);
  auto subscription = bus_->Subscribe("zonedata.*", "worker", [this](const BusMessage& message) {
    workers_->Submit([this, message] { Serve(message); });
  });
  if (!subscription.ok()) return subscription.status();
  subscription_ = std::move(*subscription);
  return bus_->Flush(std::chrono::seconds(5));
}

void OriginalZoneProvider::Stop() {
  subscription_.reset();
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (workers_) workers_->Stop();
  workers_.reset();
}

StatusOr<std::string> OriginalZoneProvider::Payload(const std::string& data) {
  auto request = DecodeZoneDataRequest(data);
  if (!request.ok()) return request.status();
  std::string zone_data;
  if (request->only_soa) {
    // The original asks over TCP; ours starts with UDP. The answer is the same SOA line.
    auto soa = QuerySoa(primary_dns_, request->zone, std::chrono::seconds(2));
    if (!soa.ok()) return soa.status();
    zone_data = soa->text;
  } else {
    auto transfer = TransferZone(primary_dns_, request->zone, std::chrono::seconds(10));
    if (!transfer.ok()) return transfer.status();
    zone_data = AxfrZoneData(*transfer);
    if (!zone_data.empty() && zone_data.back() == '\n') zone_data.pop_back();
  }
  auto details = api_.GetZone(request->zone);
  if (!details.ok()) return details.status();
  const nlohmann::json reply = {{"zone", request->zone},
                                {"zone_data", zone_data},
                                {"dnssec_enabled", details->dnssec},
                                {"presigned_records", details->dnssec},
                                {"replied_at", FormatRfc3339(std::chrono::system_clock::now())}};
  return reply.dump();
}

void OriginalZoneProvider::Serve(const BusMessage& message) {
  auto payload = Payload(message.data);
  if (!payload.ok()) {
    ++silences_;  // the original logs the error and returns: no reply
    return;
  }
  {
    std::unique_lock lock(stop_mutex_);
    const auto delay = std::chrono::milliseconds(reply_delay_ms_.load());
    if (stop_cv_.wait_for(lock, delay, [this] { return stopping_; })) return;
  }
  if (!message.reply.empty() && bus_->Respond(message, *payload).ok()) ++replies_;
}

// ---------------------------------------------------------------------------------------------
// OriginalSyncerEndpoint

OriginalSyncerEndpoint::OriginalSyncerEndpoint(Bus* bus, std::string zone_data_subject,
                                               std::chrono::milliseconds request_timeout)
    : bus_(bus), subject_(std::move(zone_data_subject)), request_timeout_(request_timeout) {}

OriginalSyncerEndpoint::~OriginalSyncerEndpoint() { Stop(); }

Status OriginalSyncerEndpoint::Start() {
  auto address = dnswire::ResolveHostPort({"127.0.0.1", 0});
  if (!address.ok()) return address.status();
  auto fd = dnswire::NewSocket(address->family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  if (::bind(fd->get(), address->get(), address->length) != 0 || ::listen(fd->get(), 16) != 0) {
    return Status::Unavailable("cannot listen for the original syncer endpoint");
  }
  auto local = dnswire::LocalAddress(fd->get());
  if (!local.ok()) return local.status();
  address_ = *local;
  listen_fd_ = fd->Release();
  stopping_ = false;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void OriginalSyncerEndpoint::Stop() {
  stopping_ = true;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void OriginalSyncerEndpoint::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0 || stopping_) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    ServeConnection(fd);  // one at a time is enough for the tests
    ::close(fd);
  }
}

StatusOr<std::string> OriginalSyncerEndpoint::RequestZoneData(const std::string& zone,
                                                              bool only_soa) {
  auto raw =
      bus_->Request(subject_, EncodeZoneDataRequest({zone, only_soa, "", false}), request_timeout_);
  if (!raw.ok()) return raw.status();
  // Go's json.Unmarshal into its reply struct: unknown fields (an error reply's) are ignored,
  // a missing zone_data stays "".
  const auto doc = nlohmann::json::parse(*raw, nullptr, false);
  if (!doc.is_object()) return Status::InvalidArgument("reply is not a JSON object");
  auto field = doc.find("zone_data");
  if (field == doc.end() || field->is_null()) return std::string();
  if (!field->is_string()) return Status::InvalidArgument("zone_data is not a string");
  return field->get<std::string>();
}

void OriginalSyncerEndpoint::ServeConnection(int fd) {
  auto logger = MakeTestLogger("original-syncer");
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string message;
  if (dnswire::ReadTcpMessage(fd, deadline, deadline, &stopping_, &message) != IoResult::kOk) {
    return;
  }
  PktPtr query =
      dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(message.data()), message.size());
  if (!query || ldns_pkt_qdcount(query.get()) != 1) return;
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(query.get()), 0);
  const ldns_rr_type qtype = ldns_rr_get_type(question);
  const std::string zone = dnswire::DnameToString(ldns_rr_owner(question));

  PktPtr reply(ldns_pkt_new());
  ldns_pkt_set_id(reply.get(), ldns_pkt_id(query.get()));
  ldns_pkt_set_qr(reply.get(), true);
  ldns_pkt_set_opcode(reply.get(), ldns_pkt_get_opcode(query.get()));
  ldns_pkt_set_rd(reply.get(), ldns_pkt_rd(query.get()));
  ldns_pkt_push_rr(reply.get(), LDNS_SECTION_QUESTION, ldns_rr_clone(question));
  auto send = [&] {
    const std::string wire = dnswire::PacketToWire(reply.get());
    if (wire.empty() || wire.size() > 65535) {
      logger->error("{}: the answer does not fit one message", zone);
      return false;
    }
    return dnswire::WriteTcpMessage(fd, wire, Clock::now() + std::chrono::seconds(10),
                                    &stopping_) == IoResult::kOk;
  };

  if (qtype != LDNS_RR_TYPE_AXFR && qtype != LDNS_RR_TYPE_SOA) {
    ldns_pkt_set_rcode(reply.get(), LDNS_RCODE_REFUSED);
    send();
    return;
  }
  const bool only_soa = qtype == LDNS_RR_TYPE_SOA;
  auto zone_data = RequestZoneData(zone, only_soa);
  if (!zone_data.ok()) {
    logger->error("{}: {}", zone, zone_data.status().ToString());
    return;  // nothing written
  }
  // miekg/dns's zone parser: one record per line, every line a record.
  std::vector<ldns_rr*> records;
  size_t start = 0;
  while (start <= zone_data->size()) {
    size_t end = zone_data->find('\n', start);
    if (end == std::string::npos) end = zone_data->size();
    const std::string line = zone_data->substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, line.c_str(), 3600, nullptr, nullptr) != LDNS_STATUS_OK) {
      logger->error("{}: zone data does not parse: {}", zone, line);
      for (ldns_rr* r : records) ldns_rr_free(r);
      return;
    }
    records.push_back(rr);
    if (only_soa) break;  // dns.NewRR: the first record
  }
  if (only_soa) {
    if (records.empty()) {
      // dns.NewRR("") is (nil, nil); Msg.Insert then calls Header() on the nil record.
      logger->error("{}: no record in the SOA reply: the original syncer crashes here", zone);
      ++crashes_;
      return;
    }
    ldns_pkt_push_rr(reply.get(), LDNS_SECTION_AUTHORITY, records.front());
    send();
    return;
  }
  ldns_pkt_set_aa(reply.get(), true);
  for (ldns_rr* rr : records) ldns_pkt_push_rr(reply.get(), LDNS_SECTION_ANSWER, rr);
  if (send()) ++transfers_;
}

}  // namespace pdnsd::testing
