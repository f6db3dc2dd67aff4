// Tests of src/dns: ZoneServer served over real sockets, queried by our own clients
// (QuerySoaSerial, TransferZone), by dig as an independent client and by a real PowerDNS
// secondary (pdns_server + sqlite3) that transfers zones from the ZoneServer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <stdbool.h>  // before ldns, see dns/wire.h

#include <ldns/ldns.h>

#include "core/logging.h"
#include "core/net.h"
#include "core/status.h"
#include "dns/axfr_client.h"
#include "dns/soa_query.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "dns/zone_server.h"
#include "model/zone_name.h"
#include "support/processes.h"
#include "support/raw_client.h"

namespace pdnsd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kRfc2317Zone[] = "0/25.2.0.192.in-addr.arpa.";

// ---------------------------------------------------------------------------------------
// Test doubles

class FakeSource : public ZoneSource {
 public:
  void SetZone(const std::string& zone, std::vector<std::string> records) {
    std::lock_guard<std::mutex> lock(mutex_);
    zones_[zone] = std::move(records);
    raw_.erase(zone);
  }
  // Zone text served as is (for malformed data).
  void SetRawZone(const std::string& zone, std::string text) {
    std::lock_guard<std::mutex> lock(mutex_);
    raw_[zone] = std::move(text);
  }
  void SetError(const std::string& zone, Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_[zone] = std::move(status);
  }
  std::vector<std::pair<std::string, bool>> fetches() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fetches_;
  }

  StatusOr<std::string> FetchZone(const std::string& zone, bool only_soa) override {
    std::lock_guard<std::mutex> lock(mutex_);
    fetches_.emplace_back(zone, only_soa);
    if (auto it = errors_.find(zone); it != errors_.end()) return it->second;
    if (auto it = raw_.find(zone); it != raw_.end()) return it->second;
    auto it = zones_.find(zone);
    if (it == zones_.end()) return Status::NotFound("no zone " + zone);
    if (only_soa) return it->second.front() + "\n";
    return ZoneText(it->second);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> zones_;
  std::map<std::string, std::string> raw_;
  std::map<std::string, Status> errors_;
  std::vector<std::pair<std::string, bool>> fetches_;
};

class FakeObserver : public ZoneServerObserver {
 public:
  void OnQuery(std::string_view qtype, bool permitted) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++queries_[std::string(qtype) + (permitted ? "/ok" : "/refused")];
  }
  void OnTransferServed(const std::string& zone, uint32_t serial) override {
    std::lock_guard<std::mutex> lock(mutex_);
    transfers_.emplace_back(zone, serial);
    changed_.notify_all();
  }
  void OnTransferFailed(const std::string& zone, const Status&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_.push_back(zone);
  }
  std::vector<std::string> failed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failed_;
  }
  int queries(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = queries_.find(key);
    return it == queries_.end() ? 0 : it->second;
  }
  std::vector<std::pair<std::string, uint32_t>> transfers() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return transfers_;
  }
  // Waits until a transfer of zone/serial was reported.
  bool WaitForTransfer(const std::string& zone, uint32_t serial, std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, wait, [&] {
      for (const auto& t : transfers_) {
        if (t.first == zone && t.second == serial) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, int> queries_;
  std::vector<std::pair<std::string, uint32_t>> transfers_;
  std::vector<std::string> failed_;
};

// ---------------------------------------------------------------------------------------
// Zone data in the exact presentation format ldns prints (so a round trip compares equal).

std::string Soa(const std::string& zone, uint32_t serial) {
  return zone + "\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. " +
         std::to_string(serial) + " 10800 3600 604800 3600";
}

std::vector<std::string> SmallZone(const std::string& zone, uint32_t serial) {
  return {Soa(zone, serial), zone + "\t3600\tIN\tNS\tns1.example.net.",
          "www." + zone + "\t300\tIN\tA\t192.0.2.1", "www." + zone + "\t300\tIN\tAAAA\t2001:db8::1",
          "txt." + zone + "\t300\tIN\tTXT\t\"hello world\" \"second string\""};
}

// About `count` records: SOA, NS, then PTR / TXT / A records.
std::vector<std::string> BigZone(const std::string& zone, uint32_t serial, int count) {
  std::vector<std::string> records = {Soa(zone, serial), zone + "\t3600\tIN\tNS\tns1.example.net.",
                                      zone + "\t3600\tIN\tNS\tns2.example.net."};
  for (int i = 0; static_cast<int>(records.size()) < count; ++i) {
    const std::string owner = std::to_string(i) + "." + zone;
    switch (i % 3) {
      case 0:
        records.push_back(owner + "\t3600\tIN\tPTR\thost" + std::to_string(i) + ".example.net.");
        break;
      case 1:
        records.push_back(owner + "\t300\tIN\tTXT\t\"record number " + std::to_string(i) + "\"");
        break;
      default:
        records.push_back(owner + "\t60\tIN\tA\t192.0.2." + std::to_string(i % 250));
        break;
    }
  }
  return records;
}

// ---------------------------------------------------------------------------------------
// Small helpers: commands, raw sockets, queries

// stdout and stderr of a shell command.
testing::CommandResult Run(const std::string& command) {
  testing::CommandResult result;
  result.output = testing::RunCommand(command + " 2>&1", &result.exit_code);
  return result;
}

bool HaveCommand(const std::string& name) {
  return Run("command -v " + name + " >/dev/null").exit_code == 0;
}

std::string Dig(const HostPort& server, const std::string& args) {
  return Run("dig -p " + std::to_string(server.port) + " @" + server.host + " +time=3 +tries=1 " +
             args)
      .output;
}

std::string DigStatus(const std::string& output) {
  std::smatch m;
  static const std::regex kStatus("status: ([A-Z]+)");
  if (std::regex_search(output, m, kStatus)) return m[1];
  return "";
}

using testing::ConnectRaw;
using testing::Framed;
using testing::PeerClosed;
using testing::RecvFramed;
using testing::SendBytes;

std::string QueryWire(const std::string& zone, ldns_rr_type type, uint16_t* id = nullptr) {
  auto query = dnswire::NewQuery(zone, type);
  if (!query.ok()) return "";
  if (id != nullptr) *id = ldns_pkt_id(query->get());
  return dnswire::PacketToWire(query->get());
}

dnswire::PktPtr Parse(const std::string& wire) {
  return dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
}

// ---------------------------------------------------------------------------------------
// Fixture: a ZoneServer on 127.0.0.1, port 0

class ZoneServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.SetZone("example.test.", SmallZone("example.test.", 2024010101));
    server_ = std::make_unique<ZoneServer>(HostPort{"127.0.0.1", 0}, &source_, &observer_,
                                           MakeTestLogger("zone-server-test"));
    const Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    address_ = server_->address();
    ASSERT_NE(address_.port, 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  FakeSource source_;
  FakeObserver observer_;
  std::unique_ptr<ZoneServer> server_;
  HostPort address_;
};

TEST_F(ZoneServerTest, SoaSerialOverUdp) {
  auto serial = QuerySoaSerial(address_, "example.test.", 2000ms);
  ASSERT_TRUE(serial.ok()) << serial.status().ToString();
  EXPECT_EQ(*serial, 2024010101u);
  EXPECT_EQ(observer_.queries("soa/ok"), 1);
  ASSERT_EQ(source_.fetches().size(), 1u);
  EXPECT_EQ(source_.fetches()[0], std::make_pair(std::string("example.test."), true));
}

TEST_F(ZoneServerTest, QueryNamesAreNormalised) {
  auto serial = QuerySoaSerial(address_, "EXAMPLE.Test.", 2000ms);
  ASSERT_TRUE(serial.ok()) << serial.status().ToString();
  EXPECT_EQ(*serial, 2024010101u);
  auto transfer = TransferZone(address_, "Example.TEST.", 2000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  for (const auto& fetch : source_.fetches()) EXPECT_EQ(fetch.first, "example.test.");
}

TEST_F(ZoneServerTest, SmallTransferRoundTrip) {
  auto transfer = TransferZone(address_, "example.test.", 2000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(transfer->serial, 2024010101u);
  EXPECT_EQ(transfer->records, SmallZone("example.test.", 2024010101));
  EXPECT_FALSE(transfer->has_rrsig);
  EXPECT_TRUE(observer_.WaitForTransfer("example.test.", 2024010101, 2s));
  EXPECT_EQ(observer_.queries("axfr/ok"), 1);
  EXPECT_EQ(ZoneText(transfer->records), ZoneText(SmallZone("example.test.", 2024010101)));
}

TEST_F(ZoneServerTest, LargeRfc2317ZoneRoundTripInManyMessages) {
  const auto records = BigZone(kRfc2317Zone, 7, 3000);
  source_.SetZone(kRfc2317Zone, records);
  auto transfer = TransferZone(address_, kRfc2317Zone, 5000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(transfer->serial, 7u);
  ASSERT_EQ(transfer->records.size(), records.size());
  EXPECT_EQ(transfer->records, records);
  EXPECT_TRUE(observer_.WaitForTransfer(kRfc2317Zone, 7, 2s));

  // Count the messages on the wire: several, each well below 64 KiB, only the first with
  // the question.
  const int fd = ConnectRaw(address_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendBytes(fd, Framed(QueryWire(kRfc2317Zone, LDNS_RR_TYPE_AXFR))));
  int messages = 0;
  int soas = 0;
  size_t answers = 0;
  while (soas < 2) {
    auto message = RecvFramed(fd);
    ASSERT_TRUE(message.has_value()) << "after " << messages << " messages";
    EXPECT_LE(message->size(), 20000u);
    auto packet = Parse(*message);
    ASSERT_TRUE(packet);
    EXPECT_TRUE(ldns_pkt_aa(packet.get()));
    EXPECT_EQ(ldns_pkt_qdcount(packet.get()), messages == 0 ? 1 : 0);
    for (size_t i = 0; i < ldns_pkt_ancount(packet.get()); ++i) {
      if (ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(packet.get()), i)) == LDNS_RR_TYPE_SOA) {
        ++soas;
      }
    }
    answers += ldns_pkt_ancount(packet.get());
    ++messages;
  }
  close(fd);
  EXPECT_GE(messages, 5);
  EXPECT_EQ(answers, records.size() + 1);
}

TEST_F(ZoneServerTest, SignedZoneHasRrsigAndNoKeyComments) {
  const std::string zone = "signed.test.";
  const std::string key =
      "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";
  const std::vector<std::string> records = {
      Soa(zone, 5),
      zone + "\t3600\tIN\tDNSKEY\t257 3 13 " + key,
      zone + "\t3600\tIN\tRRSIG\tSOA 13 2 3600 20250101000000 20240101000000 2371 " + zone + " " +
          key,
  };
  source_.SetZone(zone, records);
  auto transfer = TransferZone(address_, zone, 2000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_TRUE(transfer->has_rrsig);
  EXPECT_EQ(transfer->records, records);  // in particular no ";{id = ...}" after the DNSKEY
}

TEST_F(ZoneServerTest, DirectivesCommentsAndBlankLinesAreSkipped) {
  source_.SetRawZone("raw.test.", "$ORIGIN raw.test.\n$TTL 300\n\n; a comment\r\n" +
                                      Soa("raw.test.", 9) +
                                      "\r\n   \nwww 300 IN A 192.0.2.7 ; trailing comment\n");
  auto transfer = TransferZone(address_, "raw.test.", 2000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(transfer->records, (std::vector<std::string>{Soa("raw.test.", 9),
                                                         "www.raw.test.\t300\tIN\tA\t192.0.2.7"}));
}

// The answer records of a whole AXFR read off the wire, in order, as "TYPE owner serial"
// for SOAs and "TYPE owner" otherwise; stops after the second SOA or on error.
std::vector<std::string> AxfrOnTheWire(const HostPort& server, const std::string& zone,
                                       int* messages = nullptr) {
  std::vector<std::string> seen;
  const int fd = ConnectRaw(server);
  if (fd < 0 || !SendBytes(fd, Framed(QueryWire(zone, LDNS_RR_TYPE_AXFR))))
    return {"no connection"};
  int soas = 0;
  int count = 0;
  while (soas < 2) {
    auto message = RecvFramed(fd);
    if (!message) break;
    ++count;
    auto packet = Parse(*message);
    if (!packet) break;
    for (size_t i = 0; i < ldns_pkt_ancount(packet.get()); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(packet.get()), i);
      char* type = ldns_rr_type2str(ldns_rr_get_type(rr));
      std::string entry = std::string(type) + " " + dnswire::DnameToString(ldns_rr_owner(rr));
      free(type);
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
        ++soas;
        entry += " " + std::to_string(dnswire::SoaSerial(rr));
      }
      seen.push_back(entry);
    }
  }
  // Nothing follows the closing SOA: the server waits for the next query.
  timeval short_wait{0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof short_wait);
  char byte;
  if (recv(fd, &byte, 1, MSG_DONTWAIT) > 0) seen.push_back("bytes after the closing SOA");
  close(fd);
  if (messages != nullptr) *messages = count;
  return seen;
}

TEST_F(ZoneServerTest, ZoneDataWithOrWithoutClosingSoaServesEachSoaOnce) {
  const std::vector<std::string> golden = {
      "SOA example.test. 2024010101", "NS example.test.",      "A www.example.test.",
      "AAAA www.example.test.",       "TXT txt.example.test.", "SOA example.test. 2024010101"};
  // As our provider sent it before, and as the original provider sends it (closing SOA kept).
  const std::string without = ZoneText(SmallZone("example.test.", 2024010101));
  const std::string with = without + Soa("example.test.", 2024010101);  // no final newline
  for (const std::string& text : {without, with, with + "\n"}) {
    SCOPED_TRACE(text);
    source_.SetRawZone("example.test.", text);
    EXPECT_EQ(AxfrOnTheWire(address_, "example.test."), golden);
    auto transfer = TransferZone(address_, "example.test.", 2000ms);
    ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
    EXPECT_EQ(transfer->records, SmallZone("example.test.", 2024010101));
    EXPECT_EQ(transfer->closing_soa, Soa("example.test.", 2024010101));
    auto serial = QuerySoaSerial(address_, "example.test.", 2000ms);
    ASSERT_TRUE(serial.ok()) << serial.status().ToString();
    EXPECT_EQ(*serial, 2024010101u);
  }
}

TEST_F(ZoneServerTest, LargeZoneDataWithClosingSoaServesEachSoaOnce) {
  const auto records = BigZone(kRfc2317Zone, 11, 3000);
  std::vector<std::string> with_closing = records;
  with_closing.push_back(records.front());
  source_.SetZone(kRfc2317Zone, with_closing);
  int messages = 0;
  const auto seen = AxfrOnTheWire(address_, kRfc2317Zone, &messages);
  EXPECT_GE(messages, 5);
  ASSERT_EQ(seen.size(), records.size() + 1);
  EXPECT_EQ(seen.front(), std::string("SOA ") + kRfc2317Zone + " 11");
  EXPECT_EQ(seen.back(), seen.front());
  EXPECT_EQ(std::count(seen.begin(), seen.end(), seen.front()), 2);
  auto transfer = TransferZone(address_, kRfc2317Zone, 5000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(transfer->records, records);
}

TEST_F(ZoneServerTest, UnparsableZoneDataIsServfail) {
  // The last: RFC 3597's empty rdata for a type that has fields (fuzz/corpus/zone_server/
  // zone-text-soa-empty-unknown-format, with the SOA itself).
  for (const std::string bad :
       {"this is no record at all", "two words", "www.bad.test. 300 IN A \\# 0"}) {
    source_.SetRawZone("bad.test.", Soa("bad.test.", 1) + "\n" + bad + "\n");
    auto transfer = TransferZone(address_, "bad.test.", 2000ms);
    ASSERT_FALSE(transfer.ok()) << bad;
    EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable) << transfer.status().ToString();
    EXPECT_NE(transfer.status().message().find("rcode 2"), std::string::npos)
        << transfer.status().ToString();
  }
  source_.SetRawZone("nosoa.test.", "www.nosoa.test.\t300\tIN\tA\t192.0.2.1\n");
  auto transfer = TransferZone(address_, "nosoa.test.", 2000ms);
  EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable);
  source_.SetRawZone("emptysoa.test.", "emptysoa.test. 300 IN SOA \\# 0\n");
  transfer = TransferZone(address_, "emptysoa.test.", 2000ms);
  EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable) << transfer.status().ToString();
  EXPECT_FALSE(QuerySoaSerial(address_, "emptysoa.test.", 2000ms).ok());
}

TEST_F(ZoneServerTest, UnknownZoneIsNotAuthAtOnce) {
  const auto start = Clock::now();
  auto transfer = TransferZone(address_, "unknown.test.", 5000ms);
  ASSERT_FALSE(transfer.ok());
  EXPECT_EQ(transfer.status().code(), StatusCode::kNotFound) << transfer.status().ToString();
  auto serial = QuerySoaSerial(address_, "unknown.test.", 5000ms);
  ASSERT_FALSE(serial.ok());
  EXPECT_EQ(serial.status().code(), StatusCode::kNotFound) << serial.status().ToString();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(observer_.transfers().empty());
  // The failed AXFR (not the SOA query) is reported, so a waiting syncer need not time out.
  EXPECT_EQ(observer_.failed(), std::vector<std::string>{"unknown.test."});
}

TEST_F(ZoneServerTest, SourceFailureIsServfail) {
  source_.SetError("down.test.", Status::Unavailable("primary down"));
  auto serial = QuerySoaSerial(address_, "down.test.", 2000ms);
  ASSERT_FALSE(serial.ok());
  EXPECT_EQ(serial.status().code(), StatusCode::kUnavailable) << serial.status().ToString();
  auto transfer = TransferZone(address_, "down.test.", 2000ms);
  ASSERT_FALSE(transfer.ok());
  EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable) << transfer.status().ToString();
}

TEST_F(ZoneServerTest, AxfrOverUdpIsRefused) {
  const int fd = ConnectRaw(address_, SOCK_DGRAM);
  ASSERT_GE(fd, 0);
  uint16_t id = 0;
  ASSERT_TRUE(SendBytes(fd, QueryWire("example.test.", LDNS_RR_TYPE_AXFR, &id)));
  std::string buffer(4096, '\0');
  const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
  close(fd);
  ASSERT_GT(n, 0);
  buffer.resize(static_cast<size_t>(n));
  auto answer = Parse(buffer);
  ASSERT_TRUE(answer);
  EXPECT_EQ(ldns_pkt_id(answer.get()), id);
  EXPECT_EQ(ldns_pkt_get_rcode(answer.get()), LDNS_RCODE_REFUSED);
  EXPECT_EQ(observer_.queries("*/refused"), 1);
  EXPECT_EQ(observer_.queries("axfr/ok"), 0);
  EXPECT_TRUE(source_.fetches().empty());
}

// Sends `query` over UDP and returns the rcode of the answer (-1 if none).
int UdpRcode(const HostPort& server, const std::string& query) {
  const int fd = ConnectRaw(server, SOCK_DGRAM);
  if (fd < 0) return -1;
  SendBytes(fd, query);
  std::string buffer(4096, '\0');
  const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
  close(fd);
  if (n <= 0) return -1;
  buffer.resize(static_cast<size_t>(n));
  auto answer = Parse(buffer);
  return answer ? ldns_pkt_get_rcode(answer.get()) : -1;
}

TEST_F(ZoneServerTest, OtherQueriesAreRefused) {
  // Type A.
  EXPECT_EQ(UdpRcode(address_, QueryWire("example.test.", LDNS_RR_TYPE_A)), LDNS_RCODE_REFUSED);
  // Class CH.
  {
    dnswire::PktPtr query(ldns_pkt_query_new(ldns_dname_new_frm_str("example.test."),
                                             LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_CH, 0));
    EXPECT_EQ(UdpRcode(address_, dnswire::PacketToWire(query.get())), LDNS_RCODE_REFUSED);
  }
  // Opcode NOTIFY.
  {
    auto query = dnswire::NewQuery("example.test.", LDNS_RR_TYPE_SOA);
    ASSERT_TRUE(query.ok());
    ldns_pkt_set_opcode(query->get(), LDNS_PACKET_NOTIFY);
    EXPECT_EQ(UdpRcode(address_, dnswire::PacketToWire(query->get())), LDNS_RCODE_REFUSED);
  }
  // No question.
  {
    dnswire::PktPtr query(ldns_pkt_new());
    ldns_pkt_set_id(query.get(), 4711);
    EXPECT_EQ(UdpRcode(address_, dnswire::PacketToWire(query.get())), LDNS_RCODE_REFUSED);
  }
  // Two questions.
  {
    auto query = dnswire::NewQuery("example.test.", LDNS_RR_TYPE_SOA);
    ASSERT_TRUE(query.ok());
    ldns_pkt_push_rr(query->get(), LDNS_SECTION_QUESTION,
                     ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(query->get()), 0)));
    EXPECT_EQ(UdpRcode(address_, dnswire::PacketToWire(query->get())), LDNS_RCODE_REFUSED);
  }
  EXPECT_EQ(observer_.queries("*/refused"), 5);
  EXPECT_TRUE(source_.fetches().empty());
}

TEST_F(ZoneServerTest, GarbageClosesOnlyThatConnection) {
  // An idle connection opened before the garbage must stay usable.
  const int idle = ConnectRaw(address_);
  ASSERT_GE(idle, 0);

  const std::vector<std::string> garbage = {
      Framed("hello"),                             // too short for a DNS header
      Framed(std::string(40, '\xff')),             // header claims records that are absent
      std::string("\x00\x64", 2) + "0123456789",   // length 100, 10 octets, then close
      std::string("\x00", 1),                      // half a length prefix
      Framed(std::string(12, '\0')).substr(0, 7),  // truncated header
  };
  for (size_t i = 0; i < garbage.size(); ++i) {
    const int fd = ConnectRaw(address_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendBytes(fd, garbage[i]));
    if (i < 2) {
      EXPECT_TRUE(PeerClosed(fd)) << "garbage " << i;  // the server closes at once
    }
    close(fd);
  }

  // The idle connection still answers, and new ones too.
  ASSERT_TRUE(SendBytes(idle, Framed(QueryWire("example.test.", LDNS_RR_TYPE_SOA))));
  auto message = RecvFramed(idle);
  ASSERT_TRUE(message.has_value());
  auto answer = Parse(*message);
  ASSERT_TRUE(answer);
  EXPECT_EQ(ldns_pkt_get_rcode(answer.get()), LDNS_RCODE_NOERROR);
  close(idle);
  auto serial = QuerySoaSerial(address_, "example.test.", 2000ms);
  EXPECT_TRUE(serial.ok()) << serial.status().ToString();
  auto transfer = TransferZone(address_, "example.test.", 2000ms);
  EXPECT_TRUE(transfer.ok()) << transfer.status().ToString();
}

TEST_F(ZoneServerTest, GarbageOverUdpIsDropped) {
  const int fd = ConnectRaw(address_, SOCK_DGRAM);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendBytes(fd, "garbage"));
  ASSERT_TRUE(SendBytes(fd, std::string(40, '\xff')));
  uint16_t id = 0;
  ASSERT_TRUE(SendBytes(fd, QueryWire("example.test.", LDNS_RR_TYPE_SOA, &id)));
  std::string buffer(4096, '\0');
  const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
  close(fd);
  ASSERT_GT(n, 0);
  buffer.resize(static_cast<size_t>(n));
  auto answer = Parse(buffer);
  ASSERT_TRUE(answer);
  EXPECT_EQ(ldns_pkt_id(answer.get()), id);  // the first answer is the good query's
  EXPECT_TRUE(ldns_pkt_aa(answer.get()));
  ASSERT_EQ(ldns_pkt_ancount(answer.get()), 1);
  EXPECT_EQ(dnswire::SoaSerial(ldns_rr_list_rr(ldns_pkt_answer(answer.get()), 0)), 2024010101u);
}

TEST_F(ZoneServerTest, SeveralQueriesOnOneTcpConnection) {
  const int fd = ConnectRaw(address_);
  ASSERT_GE(fd, 0);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", LDNS_RR_TYPE_SOA))));
    auto message = RecvFramed(fd);
    ASSERT_TRUE(message.has_value()) << round;
    auto soa = Parse(*message);
    ASSERT_TRUE(soa);
    EXPECT_EQ(ldns_pkt_ancount(soa.get()), 1);

    ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", LDNS_RR_TYPE_AXFR))));
    int soas = 0;
    while (soas < 2) {
      auto part = RecvFramed(fd);
      ASSERT_TRUE(part.has_value()) << round;
      auto packet = Parse(*part);
      ASSERT_TRUE(packet);
      for (size_t i = 0; i < ldns_pkt_ancount(packet.get()); ++i) {
        if (ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(packet.get()), i)) ==
            LDNS_RR_TYPE_SOA) {
          ++soas;
        }
      }
    }
  }
  // A refused query does not end the connection either.
  ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", LDNS_RR_TYPE_MX))));
  auto refused = RecvFramed(fd);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(ldns_pkt_get_rcode(Parse(*refused).get()), LDNS_RCODE_REFUSED);
  ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", LDNS_RR_TYPE_SOA))));
  EXPECT_TRUE(RecvFramed(fd).has_value());
  close(fd);
  EXPECT_EQ(observer_.transfers().size(), 3u);
}

TEST_F(ZoneServerTest, ManySequentialConnectionsAreReaped) {
  // More connections than the server keeps at once: finished ones must be reaped.
  for (int i = 0; i < 300; ++i) {
    const int fd = ConnectRaw(address_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", LDNS_RR_TYPE_SOA))));
    ASSERT_TRUE(RecvFramed(fd).has_value()) << "connection " << i;
    close(fd);
  }
}

TEST_F(ZoneServerTest, StopIsFastWithOpenConnections) {
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    const int fd = ConnectRaw(address_);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  ASSERT_TRUE(SendBytes(fds[0], std::string("\x00\x30\x01", 3)));  // a message started
  std::this_thread::sleep_for(100ms);                              // let the server accept them all
  const auto start = Clock::now();
  server_->Stop();
  const auto took = Clock::now() - start;
  EXPECT_LT(took, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
  for (int fd : fds) {
    EXPECT_TRUE(PeerClosed(fd));
    close(fd);
  }
  server_->Stop();  // idempotent
  EXPECT_EQ(QuerySoaSerial(address_, "example.test.", 300ms).status().code() == StatusCode::kOk,
            false);
}

TEST_F(ZoneServerTest, DigIsAnIndependentClient) {
  if (!HaveCommand("dig")) GTEST_SKIP() << "dig not installed";
  const auto records = BigZone(kRfc2317Zone, 99, 3000);
  source_.SetZone(kRfc2317Zone, records);

  const std::string axfr = Dig(address_, std::string(kRfc2317Zone) + " AXFR");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(axfr, m, std::regex(R"(XFR size: (\d+) records \(messages (\d+))")))
      << axfr.substr(0, 2000);
  EXPECT_EQ(std::stoul(m[1]), records.size() + 1);  // dig counts both SOAs
  EXPECT_GT(std::stoi(m[2]), 1);
  EXPECT_TRUE(std::regex_search(
      axfr, std::regex(
                R"(\n1\.0/25\.2\.0\.192\.in-addr\.arpa\.\s+300\s+IN\s+TXT\s+"record number 1"\n)")))
      << axfr.substr(0, 2000);

  const std::string soa_tcp = Dig(address_, "example.test. SOA +tcp");
  EXPECT_EQ(DigStatus(soa_tcp), "NOERROR") << soa_tcp;
  EXPECT_NE(soa_tcp.find("flags: qr aa"), std::string::npos) << soa_tcp;
  EXPECT_NE(soa_tcp.find("2024010101 10800 3600 604800 3600"), std::string::npos) << soa_tcp;

  const std::string soa_udp = Dig(address_, "example.test. SOA +norecurse");
  EXPECT_EQ(DigStatus(soa_udp), "NOERROR") << soa_udp;
  EXPECT_NE(soa_udp.find("2024010101"), std::string::npos) << soa_udp;

  EXPECT_EQ(DigStatus(Dig(address_, "example.test. A")), "REFUSED");
  EXPECT_EQ(DigStatus(Dig(address_, "example.test. A +tcp")), "REFUSED");
  EXPECT_EQ(DigStatus(Dig(address_, "example.test. SOA -c CH")), "REFUSED");
  EXPECT_EQ(DigStatus(Dig(address_, "unknown.test. SOA")), "NOTAUTH");
  // dig reports a failed AXFR without the rcode; it always uses TCP for AXFR (+notcp too).
  const std::string failed_axfr = Dig(address_, "unknown.test. AXFR");
  EXPECT_NE(failed_axfr.find("Transfer failed"), std::string::npos) << failed_axfr;
}

// ---------------------------------------------------------------------------------------
// IPv6

TEST(ZoneServerIpv6Test, ServesOnLoopbackV6) {
  FakeSource source;
  FakeObserver observer;
  source.SetZone("six.test.", SmallZone("six.test.", 66));
  ZoneServer server(HostPort{"::1", 0}, &source, &observer, MakeTestLogger("zone-server-v6"));
  const Status started = server.Start();
  if (!started.ok()) GTEST_SKIP() << "no IPv6 loopback: " << started.ToString();
  EXPECT_EQ(server.address().host, "::1");
  auto serial = QuerySoaSerial(server.address(), "six.test.", 2000ms);
  ASSERT_TRUE(serial.ok()) << serial.status().ToString();
  EXPECT_EQ(*serial, 66u);
  auto transfer = TransferZone(server.address(), "six.test.", 2000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(transfer->records, SmallZone("six.test.", 66));
  if (HaveCommand("dig")) {
    EXPECT_EQ(DigStatus(Dig(server.address(), "six.test. SOA")), "NOERROR");
  }
}

// ---------------------------------------------------------------------------------------
// Clients against peers that misbehave

TEST(DnsClientTest, TimeoutWhenNobodyAnswers) {
  // A UDP socket that never reads and a TCP listener that never accepts, on one port.
  const testing::HeldPort silent;
  const HostPort peer{"127.0.0.1", silent.port()};

  auto start = Clock::now();
  auto serial = QuerySoaSerial(peer, "example.test.", 400ms);
  auto took = Clock::now() - start;
  EXPECT_EQ(serial.status().code(), StatusCode::kTimeout) << serial.status().ToString();
  EXPECT_GE(took, 390ms);
  EXPECT_LT(took, 5s) << "the timeout was not kept";

  start = Clock::now();
  auto transfer = TransferZone(peer, "example.test.", 400ms);
  took = Clock::now() - start;
  EXPECT_EQ(transfer.status().code(), StatusCode::kTimeout) << transfer.status().ToString();
  EXPECT_LT(took, 5s) << "the timeout was not kept";
}

TEST(DnsClientTest, UnavailableWhenNothingListens) {
  const HostPort peer{"127.0.0.1", testing::FreePort()};
  auto transfer = TransferZone(peer, "example.test.", 1000ms);
  EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable) << transfer.status().ToString();
  auto serial = QuerySoaSerial(peer, "example.test.", 1000ms);
  EXPECT_EQ(serial.status().code(), StatusCode::kUnavailable) << serial.status().ToString();
}

// A one-shot TCP peer that answers the first query with `messages(query)` and closes.
class FakeTcpPeer {
 public:
  using Script = std::function<std::vector<std::string>(const ldns_pkt* query)>;
  explicit FakeTcpPeer(Script script) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    listen(listen_fd_, 4);
    address_ = HostPort{"127.0.0.1", ntohs(address.sin_port)};
    thread_ = std::thread([this, script = std::move(script)] {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (auto query = RecvFramed(fd)) {
        auto packet = Parse(*query);
        if (packet) {
          for (const auto& message : script(packet.get())) SendBytes(fd, message);
        }
      }
      close(fd);
    });
  }
  ~FakeTcpPeer() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }
  HostPort address() const { return address_; }

 private:
  int listen_fd_ = -1;
  HostPort address_;
  std::thread thread_;
};

// A framed answer to `query` carrying `records` (presentation format) and `rcode`.
std::string AnswerMessage(const ldns_pkt* query, const std::vector<std::string>& records,
                          ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR) {
  dnswire::PktPtr answer(ldns_pkt_new());
  ldns_pkt_set_id(answer.get(), ldns_pkt_id(query));
  ldns_pkt_set_qr(answer.get(), true);
  ldns_pkt_set_rcode(answer.get(), rcode);
  for (const auto& text : records) {
    ldns_rr* rr = nullptr;
    EXPECT_EQ(ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr), LDNS_STATUS_OK);
    ldns_pkt_push_rr(answer.get(), LDNS_SECTION_ANSWER, rr);
  }
  return Framed(dnswire::PacketToWire(answer.get()));
}

TEST(DnsClientTest, TruncatedTransferIsUnavailable) {
  FakeTcpPeer peer([](const ldns_pkt* query) {
    return std::vector<std::string>{
        AnswerMessage(query, {Soa("example.test.", 3), "www.example.test. 300 IN A 192.0.2.1"})};
  });
  auto transfer = TransferZone(peer.address(), "example.test.", 2000ms);
  EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable) << transfer.status().ToString();
}

TEST(DnsClientTest, TransferMustStartWithTheZonesSoa) {
  FakeTcpPeer peer([](const ldns_pkt* query) {
    return std::vector<std::string>{
        AnswerMessage(query, {"www.example.test. 300 IN A 192.0.2.1", Soa("example.test.", 3)})};
  });
  auto transfer = TransferZone(peer.address(), "example.test.", 2000ms);
  EXPECT_EQ(transfer.status().code(), StatusCode::kUnavailable) << transfer.status().ToString();
}

TEST(DnsClientTest, RefusedTransferIsNotFound) {
  FakeTcpPeer peer([](const ldns_pkt* query) {
    return std::vector<std::string>{AnswerMessage(query, {}, LDNS_RCODE_REFUSED)};
  });
  auto transfer = TransferZone(peer.address(), "example.test.", 2000ms);
  EXPECT_EQ(transfer.status().code(), StatusCode::kNotFound) << transfer.status().ToString();
}

TEST(DnsClientTest, TransferAcrossMessagesFromAnotherServer) {
  // SOA alone in the first message, the closing SOA alone in the last.
  FakeTcpPeer peer([](const ldns_pkt* query) {
    return std::vector<std::string>{
        AnswerMessage(query, {Soa("example.test.", 3)}),
        AnswerMessage(query, {"www.example.test.\t300\tIN\tA\t192.0.2.1"}),
        AnswerMessage(query, {Soa("example.test.", 3)}),
    };
  });
  auto transfer = TransferZone(peer.address(), "example.test.", 2000ms);
  ASSERT_TRUE(transfer.ok()) << transfer.status().ToString();
  EXPECT_EQ(transfer->records,
            (std::vector<std::string>{Soa("example.test.", 3),
                                      "www.example.test.\t300\tIN\tA\t192.0.2.1"}));
}

TEST(DnsClientTest, SoaQueryFallsBackToTcpWhenTruncated) {
  // TCP answers with serial 42; UDP on the same port only ever says "truncated".
  FakeTcpPeer peer([](const ldns_pkt* query) {
    return std::vector<std::string>{AnswerMessage(query, {Soa("example.test.", 42)})};
  });
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(peer.address().port);
  ASSERT_EQ(bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::thread udp_peer([udp] {
    timeval tv{5, 0};
    setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string buffer(4096, '\0');
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const ssize_t n = recvfrom(udp, buffer.data(), buffer.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n <= 0) return;
    buffer.resize(static_cast<size_t>(n));
    auto query = Parse(buffer);
    if (!query) return;
    dnswire::PktPtr answer(ldns_pkt_new());
    ldns_pkt_set_id(answer.get(), ldns_pkt_id(query.get()));
    ldns_pkt_set_qr(answer.get(), true);
    ldns_pkt_set_tc(answer.get(), true);
    const std::string wire = dnswire::PacketToWire(answer.get());
    sendto(udp, wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&from), from_length);
  });
  auto serial = QuerySoaSerial(peer.address(), "example.test.", 2000ms);
  udp_peer.join();
  close(udp);
  ASSERT_TRUE(serial.ok()) << serial.status().ToString();
  EXPECT_EQ(*serial, 42u);
}

TEST(DnsClientTest, ZoneTextJoinsLines) {
  EXPECT_EQ(ZoneText({}), "");
  EXPECT_EQ(ZoneText({"a", "b"}), "a\nb\n");
}

TEST(DnsClientTest, AxfrZoneDataKeepsTheClosingSoa) {
  ZoneTransfer transfer;
  transfer.records = {"z.\t1\tIN\tSOA\ta. b. 7 1 1 1 1", "z.\t1\tIN\tNS\ta."};
  transfer.closing_soa = "z.\t1\tIN\tSOA\ta. b. 7 1 1 1 1";
  EXPECT_EQ(
      AxfrZoneData(transfer),
      "z.\t1\tIN\tSOA\ta. b. 7 1 1 1 1\nz.\t1\tIN\tNS\ta.\nz.\t1\tIN\tSOA\ta. b. 7 1 1 1 1\n");
}

// ---------------------------------------------------------------------------------------
// A real PowerDNS secondary transfers zones from the ZoneServer.

// A PowerDNS secondary as the harness starts it (tests/support/processes.h), with its caches off
// and one thread per role.
testing::PdnsOptions SecondaryOptions() {
  testing::PdnsOptions options = testing::PdnsOptions().WithName("dns-test").Secondary();
  for (const char* line : {"cache-ttl=0", "query-cache-ttl=0", "negquery-cache-ttl=0",
                           "distributor-threads=1", "receiver-threads=1"}) {
    options.WithConfig(line);
  }
  return options;
}

// Polls dig against `server` until it serves `serial` for `zone` (within `wait`).
bool WaitForServedSerial(const HostPort& server, const std::string& zone, uint32_t serial,
                         std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  while (Clock::now() < deadline) {
    const std::string out = Dig(server, "+short " + zone + " SOA");
    std::istringstream fields(out);
    std::string mname, rname;
    uint32_t served = 0;
    if (fields >> mname >> rname >> served && served == serial) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(PowerDnsSecondaryTest, TransfersZonesFromTheZoneServer) {
  if (!HaveCommand("/usr/sbin/pdns_server") || !HaveCommand("sqlite3") || !HaveCommand("dig")) {
    GTEST_SKIP() << "pdns_server, sqlite3 or dig missing";
  }
  FakeSource source;
  FakeObserver observer;
  source.SetZone("example.test.", SmallZone("example.test.", 2024010101));
  source.SetZone(kRfc2317Zone, BigZone(kRfc2317Zone, 1000, 3000));
  // Zone data as the original zone-provider (and ours) sends it: the closing SOA included.
  source.SetRawZone("closing.test.",
                    ZoneText(SmallZone("closing.test.", 77)) + Soa("closing.test.", 77));
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer,
                    MakeTestLogger("zone-server-pdns"));
  ASSERT_TRUE(server.Start().ok());

  testing::PdnsServer pdns;
  const Status started = pdns.Start(SecondaryOptions());
  ASSERT_TRUE(started.ok()) << started.ToString();
  const std::string master = "\"" + server.address().ToString() + "\"";

  struct Case {
    std::string zone;
    uint32_t serial;
  };
  for (const Case& c :
       {Case{"example.test.", 2024010101}, Case{kRfc2317Zone, 1000}, Case{"closing.test.", 77}}) {
    SCOPED_TRACE(c.zone);
    const std::string id = ZoneNameToApiId(c.zone);
    const testing::HttpResponse created =
        pdns.Api("POST", "/api/v1/servers/localhost/zones",
                 "{\"name\":\"" + c.zone + "\",\"kind\":\"Slave\",\"masters\":[" + master + "]}");
    ASSERT_EQ(created.status, 201) << created.error << created.body;
    const testing::HttpResponse retrieved =
        pdns.Api("PUT", "/api/v1/servers/localhost/zones/" + id + "/axfr-retrieve");
    ASSERT_EQ(retrieved.status, 200) << retrieved.error << retrieved.body;
    EXPECT_TRUE(WaitForServedSerial(pdns.dns_address(), c.zone, c.serial, 10s)) << pdns.LogTail();
    EXPECT_TRUE(observer.WaitForTransfer(c.zone, c.serial, 2s));
  }
  EXPECT_EQ(Dig(pdns.dns_address(), "+short www.example.test. A"), "192.0.2.1\n");
  EXPECT_EQ(Dig(pdns.dns_address(), std::string("+short 2995.") + kRfc2317Zone + " TXT"),
            "\"record number 2995\"\n");

  // A new serial at the source reaches the secondary with the next retrieval.
  source.SetZone(kRfc2317Zone, BigZone(kRfc2317Zone, 1001, 3100));
  ASSERT_EQ(pdns.Api("PUT", "/api/v1/servers/localhost/zones/" + ZoneNameToApiId(kRfc2317Zone) +
                                "/axfr-retrieve")
                .status,
            200);
  EXPECT_TRUE(WaitForServedSerial(pdns.dns_address(), kRfc2317Zone, 1001, 10s)) << pdns.LogTail();
  EXPECT_TRUE(observer.WaitForTransfer(kRfc2317Zone, 1001, 2s));
  EXPECT_EQ(Dig(pdns.dns_address(), std::string("+short 3050.") + kRfc2317Zone + " A"),
            "192.0.2.50\n");
  std::cerr << "PowerDNS asked: soa " << observer.queries("soa/ok") << ", axfr "
            << observer.queries("axfr/ok") << ", refused " << observer.queries("*/refused") << "\n";
}

// ---------------------------------------------------------------------------------------
// Who may ask: allow-list, connection limits, timeouts (dns/client_access.h), TSIG.

using testing::ConnectRawFrom;
using testing::UdpExchange;

// The rcode of a DNS answer in wire format, -1 when it does not parse.
int Rcode(const std::string& wire) {
  dnswire::PktPtr packet = Parse(wire);
  return packet ? static_cast<int>(ldns_pkt_get_rcode(packet.get())) : -1;
}

class CountingObserver : public FakeObserver {
 public:
  void OnRefused(std::string_view reason) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++refused_[std::string(reason)];
  }
  int refused(const std::string& reason) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = refused_.find(reason);
    return it == refused_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> refused_;
};

TEST(ZoneServerAccessTest, OutsidersAreRefusedAndTheSourceIsNeverAsked) {
  FakeSource source;
  CountingObserver observer;
  source.SetZone("example.test.", SmallZone("example.test.", 7));
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-access"));
  ASSERT_TRUE(server.Start().ok());
  const HostPort address = server.address();

  // UDP from 127.0.0.2 (not in the default allow-list, loopback 127.0.0.1 and ::1).
  for (int i = 0; i < 5; ++i) {
    auto answer = UdpExchange(address, "127.0.0.2", QueryWire("example.test.", LDNS_RR_TYPE_SOA));
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(Rcode(*answer), LDNS_RCODE_REFUSED);
  }
  // TCP: a REFUSED answer, then the connection is closed.
  for (ldns_rr_type type : {LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_AXFR}) {
    const int fd = ConnectRawFrom(address, "127.0.0.3");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", type))));
    auto answer = RecvFramed(fd);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(Rcode(*answer), LDNS_RCODE_REFUSED);
    EXPECT_TRUE(PeerClosed(fd));
    close(fd);
  }
  EXPECT_TRUE(source.fetches().empty());
  EXPECT_EQ(observer.refused("not_allowed"), 7);
  // The allowed address is served all along.
  auto serial = QuerySoaSerial(address, "example.test.", 2s);
  ASSERT_TRUE(serial.ok()) << serial.status().ToString();
  EXPECT_EQ(*serial, 7u);
}

TEST(ZoneServerAccessTest, AllowListNamesWhoMayAsk) {
  FakeSource source;
  CountingObserver observer;
  source.SetZone("example.test.", SmallZone("example.test.", 7));
  ZoneServerOptions options;
  options.allow = *ClientAllowList::Parse({"127.0.0.8/29"});  // 127.0.0.8 - 127.0.0.15
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-allow"),
                    options);
  ASSERT_TRUE(server.Start().ok());
  struct Case {
    const char* source;
    int rcode;
  };
  for (const Case& c :
       {Case{"127.0.0.9", LDNS_RCODE_NOERROR}, Case{"127.0.0.15", LDNS_RCODE_NOERROR},
        Case{"127.0.0.16", LDNS_RCODE_REFUSED}, Case{"127.0.0.1", LDNS_RCODE_REFUSED}}) {
    auto answer =
        UdpExchange(server.address(), c.source, QueryWire("example.test.", LDNS_RR_TYPE_SOA));
    ASSERT_TRUE(answer.has_value()) << c.source;
    EXPECT_EQ(Rcode(*answer), c.rcode) << c.source;
  }
}

TEST(ZoneServerAccessTest, ConnectionWithoutACompleteQueryIsClosedInTime) {
  FakeSource source;
  CountingObserver observer;
  ZoneServerOptions options;
  options.limits.allowed_query_timeout = 500ms;
  options.limits.outsider_query_timeout = 300ms;
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-timeout"),
                    options);
  ASSERT_TRUE(server.Start().ok());
  struct Case {
    const char* source;
    std::string sent;  // nothing, half a length prefix, a prefix and part of the query
  };
  const std::string query = Framed(QueryWire("example.test.", LDNS_RR_TYPE_SOA));
  for (const Case& c : {Case{"127.0.0.1", ""}, Case{"127.0.0.1", query.substr(0, 1)},
                        Case{"127.0.0.1", query.substr(0, 7)}, Case{"127.0.0.2", ""}}) {
    const auto start = Clock::now();
    const int fd = ConnectRawFrom(server.address(), c.source);
    ASSERT_GE(fd, 0);
    if (!c.sent.empty()) {
      ASSERT_TRUE(SendBytes(fd, c.sent));
    }
    EXPECT_TRUE(PeerClosed(fd)) << c.source << " sent " << c.sent.size();  // within 5 s
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::cerr << c.source << " sent " << c.sent.size() << " octets: closed after " << took.count()
              << " ms\n";
    close(fd);
  }
}

TEST(ZoneServerAccessTest, OutsidersFillingTheirSlotsNeverShutOutTheAllowedClient) {
  FakeSource source;
  CountingObserver observer;
  source.SetZone("example.test.", SmallZone("example.test.", 9));
  ZoneServerOptions options;
  options.limits.max_connections = 40;
  options.limits.max_outsiders = 10;
  options.limits.per_outsider_address = 2;
  options.limits.outsider_query_timeout = 30s;  // they stay for the whole test
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-slots"),
                    options);
  ASSERT_TRUE(server.Start().ok());
  std::vector<int> outsiders;
  for (int i = 0; i < 100; ++i) {
    const std::string from = "127.0.1." + std::to_string(1 + i % 50);
    const int fd = ConnectRawFrom(server.address(), from);
    if (fd >= 0) outsiders.push_back(fd);
  }
  // Allowed clients: 20 connections at once, each answered.
  std::vector<int> allowed;
  for (int i = 0; i < 20; ++i) {
    const int fd = ConnectRawFrom(server.address(), "127.0.0.1");
    ASSERT_GE(fd, 0);
    allowed.push_back(fd);
  }
  for (int fd : allowed) {
    ASSERT_TRUE(SendBytes(fd, Framed(QueryWire("example.test.", LDNS_RR_TYPE_SOA))));
    auto answer = RecvFramed(fd);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(Rcode(*answer), LDNS_RCODE_NOERROR);
  }
  for (int fd : allowed) close(fd);
  // 10 outsiders held their slots, the other 90 were closed at accept.
  int open = 0;
  for (int fd : outsiders) {
    timeval tv{0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte;
    if (recv(fd, &byte, 1, 0) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++open;
    close(fd);
  }
  EXPECT_EQ(open, 10);
  EXPECT_EQ(observer.refused("connection_limit"), 90);
}

// TSIG: a test key, signed queries made with ldns as a client would.
constexpr char kKeyName[] = "syncer-test.";
constexpr char kSecret[] = "a2V5LWZvci10ZXN0cy1vbmx5LTMyLW9jdGV0cy1sb25nISE=";
constexpr char kOtherSecret[] = "b3RoZXIta2V5LWZvci10ZXN0cy0zMi1vY3RldHMtbG9uZyE=";

// A query signed with `name`/`secret`; *mac: its MAC (for checking the answer).
std::string SignedQuery(const std::string& zone, ldns_rr_type type, const char* name,
                        const char* secret, dnswire::RdfPtr* mac) {
  auto query = dnswire::NewQuery(zone, type);
  if (!query.ok()) return "";
  if (ldns_pkt_tsig_sign(query->get(), name, secret, 300, "hmac-sha256.", nullptr) !=
      LDNS_STATUS_OK) {
    return "";
  }
  if (mac != nullptr)
    *mac = dnswire::RdfPtr(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(query->get()), 3)));
  return dnswire::PacketToWire(query->get());
}

// Verifies a sequence of answer messages signed with kSecret: the first against the request's
// MAC, each later one against the previous MAC (RFC 8945 5.3.1).
bool AnswersVerify(const std::vector<std::string>& messages, const ldns_rdf* request_mac) {
  dnswire::RdfPtr previous(ldns_rdf_clone(request_mac));
  for (size_t i = 0; i < messages.size(); ++i) {
    dnswire::PktPtr packet = Parse(messages[i]);
    if (!packet || ldns_pkt_tsig(packet.get()) == nullptr) return false;
    if (!ldns_pkt_tsig_verify_next(
            packet.get(), reinterpret_cast<const uint8_t*>(messages[i].data()), messages[i].size(),
            kKeyName, kSecret, previous.get(), i == 0 ? 0 : 1)) {
      return false;
    }
    previous = dnswire::RdfPtr(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(packet.get()), 3)));
  }
  return !messages.empty();
}

// The TSIG error code of an answer (-1 without a TSIG record).
int TsigError(const std::string& wire) {
  dnswire::PktPtr packet = Parse(wire);
  if (!packet || ldns_pkt_tsig(packet.get()) == nullptr) return -1;
  return ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(packet.get()), 5));
}

ZoneServerOptions TsigOptions() {
  ZoneServerOptions options;
  options.tsig = *ValidateTsigKey({kKeyName, "hmac-sha256", kSecret});
  return options;
}

TEST(ZoneServerTsigTest, SignedQueriesAreAnsweredWithSignedMessages) {
  FakeSource source;
  CountingObserver observer;
  source.SetZone(kRfc2317Zone, BigZone(kRfc2317Zone, 1000, 3000));
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-tsig"),
                    TsigOptions());
  ASSERT_TRUE(server.Start().ok());
  dnswire::RdfPtr mac;
  // SOA over UDP.
  auto udp = UdpExchange(server.address(), "127.0.0.1",
                         SignedQuery(kRfc2317Zone, LDNS_RR_TYPE_SOA, kKeyName, kSecret, &mac));
  ASSERT_TRUE(udp.has_value());
  EXPECT_EQ(Rcode(*udp), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(AnswersVerify({*udp}, mac.get()));
  // AXFR over TCP: every message signed, the chain verifies.
  const int fd = ConnectRawFrom(server.address(), "127.0.0.1");
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(
      SendBytes(fd, Framed(SignedQuery(kRfc2317Zone, LDNS_RR_TYPE_AXFR, kKeyName, kSecret, &mac))));
  std::vector<std::string> messages;
  size_t soas = 0;
  while (soas < 2) {
    auto message = RecvFramed(fd);
    ASSERT_TRUE(message.has_value()) << "after " << messages.size() << " messages";
    dnswire::PktPtr packet = Parse(*message);
    ASSERT_TRUE(packet);
    const ldns_rr_list* answer = ldns_pkt_answer(packet.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      if (ldns_rr_get_type(ldns_rr_list_rr(answer, i)) == LDNS_RR_TYPE_SOA) ++soas;
    }
    messages.push_back(*message);
  }
  close(fd);
  EXPECT_GT(messages.size(), 5u);
  EXPECT_TRUE(AnswersVerify(messages, mac.get()));
  // A message altered in the middle breaks the chain.
  std::vector<std::string> altered = messages;
  altered[2][20] ^= 1;
  EXPECT_FALSE(AnswersVerify(altered, mac.get()));
}

TEST(ZoneServerTsigTest, UnsignedAndBadlySignedQueriesAreRefused) {
  FakeSource source;
  CountingObserver observer;
  source.SetZone("example.test.", SmallZone("example.test.", 7));
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-tsig-bad"),
                    TsigOptions());
  ASSERT_TRUE(server.Start().ok());
  struct Case {
    const char* what;
    std::string query;
    int rcode;
    int tsig_error;  // -1: no TSIG record in the answer
  };
  const Case cases[] = {
      {"unsigned", QueryWire("example.test.", LDNS_RR_TYPE_SOA), LDNS_RCODE_REFUSED, -1},
      {"another key name",
       SignedQuery("example.test.", LDNS_RR_TYPE_SOA, "intruder.", kSecret, nullptr),
       LDNS_RCODE_NOTAUTH, 17 /* BADKEY */},
      {"wrong secret",
       SignedQuery("example.test.", LDNS_RR_TYPE_SOA, kKeyName, kOtherSecret, nullptr),
       LDNS_RCODE_NOTAUTH, 16 /* BADSIG */},
  };
  for (const Case& c : cases) {
    for (bool tcp : {false, true}) {
      SCOPED_TRACE(std::string(c.what) + (tcp ? " over TCP" : " over UDP"));
      std::optional<std::string> answer;
      if (tcp) {
        const int fd = ConnectRawFrom(server.address(), "127.0.0.1");
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(SendBytes(fd, Framed(c.query)));
        answer = RecvFramed(fd);
        close(fd);
      } else {
        answer = UdpExchange(server.address(), "127.0.0.1", c.query);
      }
      ASSERT_TRUE(answer.has_value());
      EXPECT_EQ(Rcode(*answer), c.rcode);
      EXPECT_EQ(TsigError(*answer), c.tsig_error);
    }
  }
  // An AXFR with a bad signature transfers nothing.
  const int fd = ConnectRawFrom(server.address(), "127.0.0.1");
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendBytes(fd, Framed(SignedQuery("example.test.", LDNS_RR_TYPE_AXFR, kKeyName,
                                               kOtherSecret, nullptr))));
  auto answer = RecvFramed(fd);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(Rcode(*answer), LDNS_RCODE_NOTAUTH);
  EXPECT_TRUE(PeerClosed(fd));
  close(fd);
  EXPECT_TRUE(source.fetches().empty());
  EXPECT_EQ(observer.refused("tsig"), 7);
}

TEST(ZoneServerTsigTest, SignedQueryWithoutAKeyConfiguredIsBadKey) {
  FakeSource source;
  CountingObserver observer;
  source.SetZone("example.test.", SmallZone("example.test.", 7));
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer, MakeTestLogger("zs-nokey"));
  ASSERT_TRUE(server.Start().ok());
  auto answer =
      UdpExchange(server.address(), "127.0.0.1",
                  SignedQuery("example.test.", LDNS_RR_TYPE_SOA, kKeyName, kSecret, nullptr));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(Rcode(*answer), LDNS_RCODE_NOTAUTH);
  EXPECT_EQ(TsigError(*answer), 17);
}

// A real PowerDNS secondary with the key in its tsigkeys and AXFR-MASTER-TSIG on the zone
// signs its requests; the endpoint answers them signed and PowerDNS accepts the transfer.
// With another secret in PowerDNS the transfer is refused and nothing is served.
TEST(PowerDnsSecondaryTest, TransfersWithTsig) {
  if (!HaveCommand("/usr/sbin/pdns_server") || !HaveCommand("sqlite3") || !HaveCommand("dig")) {
    GTEST_SKIP() << "pdns_server, sqlite3 or dig missing";
  }
  FakeSource source;
  CountingObserver observer;
  source.SetZone(kRfc2317Zone, BigZone(kRfc2317Zone, 1000, 3000));
  source.SetZone("wrong-key.test.", SmallZone("wrong-key.test.", 5));
  ZoneServer server(HostPort{"127.0.0.1", 0}, &source, &observer,
                    MakeTestLogger("zone-server-tsig"), TsigOptions());
  ASSERT_TRUE(server.Start().ok());
  testing::PdnsServer pdns;
  const Status started = pdns.Start(SecondaryOptions());
  ASSERT_TRUE(started.ok()) << started.ToString();
  const std::string master = "\"" + server.address().ToString() + "\"";

  struct Case {
    std::string zone;
    const char* secret;
    bool transfers;
  };
  for (const Case& c :
       {Case{kRfc2317Zone, kSecret, true}, Case{"wrong-key.test.", kOtherSecret, false}}) {
    SCOPED_TRACE(c.zone);
    // The key under the name the endpoint knows (a second key for the wrong secret).
    testing::HttpResponse key =
        pdns.Api("POST", "/api/v1/servers/localhost/tsigkeys",
                 "{\"name\":\"" + std::string(c.transfers ? "syncer-test" : "syncer-test-b") +
                     "\",\"algorithm\":\"hmac-sha256\",\"key\":\"" + c.secret + "\"}");
    ASSERT_EQ(key.status, 201) << key.body;
    const std::string id = ZoneNameToApiId(c.zone);
    ASSERT_EQ(
        pdns.Api("POST", "/api/v1/servers/localhost/zones",
                 "{\"name\":\"" + c.zone + "\",\"kind\":\"Slave\",\"masters\":[" + master + "]}")
            .status,
        201);
    // The second zone signs with a key the endpoint does not know (BADKEY).
    const std::string key_name = c.transfers ? "syncer-test" : "syncer-test-b";
    // The metadata endpoint refuses AXFR-MASTER-TSIG (422 "Unsupported metadata kind"); the
    // zone's slave_tsig_key_ids field sets it.
    const testing::HttpResponse meta = pdns.Api("PUT", "/api/v1/servers/localhost/zones/" + id,
                                                "{\"slave_tsig_key_ids\":[\"" + key_name + ".\"]}");
    ASSERT_EQ(meta.status, 204) << meta.body;
    ASSERT_EQ(pdns.Api("PUT", "/api/v1/servers/localhost/zones/" + id + "/axfr-retrieve").status,
              200);
    if (c.transfers) {
      EXPECT_TRUE(WaitForServedSerial(pdns.dns_address(), c.zone, 1000, 10s)) << pdns.LogTail();
      EXPECT_TRUE(observer.WaitForTransfer(c.zone, 1000, 2s));
      EXPECT_EQ(Dig(pdns.dns_address(), std::string("+short 2995.") + kRfc2317Zone + " TXT"),
                "\"record number 2995\"\n");
    } else {
      EXPECT_FALSE(WaitForServedSerial(pdns.dns_address(), c.zone, 5, 3s));
      EXPECT_GE(observer.refused("tsig"), 1) << pdns.LogTail();
    }
  }
  std::cerr << "PowerDNS asked: soa " << observer.queries("soa/ok") << ", axfr "
            << observer.queries("axfr/ok") << ", refused " << observer.queries("*/refused")
            << ", tsig refusals " << observer.refused("tsig") << "\n"
            << pdns.LogTail() << "\n";
}

}  // namespace
}  // namespace pdnsd
