// Hostile clients against the syncer's SOA/AXFR endpoint (issue 11, item 3), on a real cluster
// (nats-server, PowerDNS primary and secondary, the services in-process): 1,000 idle TCP
// connections from addresses outside the allow-list while changes propagate; REFUSED for
// outsiders; TSIG between the endpoint and its real PowerDNS secondary. Label `hostile`.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <stdbool.h>  // before ldns, see dns/wire.h

#include <ldns/ldns.h>

#include "dns/soa_query.h"
#include "dns/wire.h"
#include "integration_helpers.h"
#include "support/cluster.h"
#include "support/hostile_report.h"
#include "support/raw_client.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kKeyName[] = "syncer-hostile.";
constexpr char kSecret[] = "a2V5LWZvci10ZXN0cy1vbmx5LTMyLW9jdGV0cy1sb25nISE=";
constexpr char kOtherSecret[] = "b3RoZXIta2V5LWZvci10ZXN0cy0zMi1vY3RldHMtbG9uZyE=";

// Raises the soft limit of open files to the hard limit (1,000 client sockets plus the
// endpoint's own live in this process).
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  getrlimit(RLIMIT_NOFILE, &limit);
  std::cerr << "open files limit: " << limit.rlim_cur << "\n";
}

std::string Query(const std::string& zone, ldns_rr_type type, const char* key = nullptr,
                  const char* secret = nullptr) {
  auto query = dnswire::NewQuery(zone, type);
  if (!query.ok()) return "";
  if (key != nullptr && ldns_pkt_tsig_sign(query->get(), key, secret, 300, "hmac-sha256.",
                                           nullptr) != LDNS_STATUS_OK) {
    return "";
  }
  return dnswire::PacketToWire(query->get());
}

int Rcode(const std::optional<std::string>& wire) {
  if (!wire) return -1;
  dnswire::PktPtr packet =
      dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(wire->data()), wire->size());
  return packet ? static_cast<int>(ldns_pkt_get_rcode(packet.get())) : -1;
}

int TsigError(const std::optional<std::string>& wire) {
  if (!wire) return -1;
  dnswire::PktPtr packet =
      dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(wire->data()), wire->size());
  if (!packet || ldns_pkt_tsig(packet.get()) == nullptr) return -1;
  return ldns_rdf2native_int16(ldns_rr_rdf(ldns_pkt_tsig(packet.get()), 5));
}

// One query over TCP from `source`: the first answer message.
std::optional<std::string> TcpExchange(const HostPort& server, const std::string& source,
                                       const std::string& query) {
  const int fd = ConnectRawFrom(server, source);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> answer;
  if (SendBytes(fd, Framed(query))) answer = RecvFramed(fd);
  close(fd);
  return answer;
}

// Holds `count` idle TCP connections from outsider addresses (127.0.1.1 - 127.0.1.250 and
// on) against `server`, reopening every one the endpoint closes, until stopped.
class IdleFlood {
 public:
  IdleFlood(HostPort server, int count) : server_(std::move(server)), fds_(count, -1) {
    thread_ = std::thread([this] { Run(); });
  }
  ~IdleFlood() { Stop(); }
  // Stops reopening and closes every socket. Idempotent.
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int& fd : fds_) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }
  int open() const { return open_; }
  uint64_t opened() const { return opened_; }

 private:
  void Run() {
    while (!stop_) {
      int open = 0;
      for (size_t i = 0; i < fds_.size() && !stop_; ++i) {
        int& fd = fds_[i];
        if (fd >= 0) {
          char byte;
          const ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            close(fd);
            fd = -1;
          }
        }
        if (fd < 0) {
          const std::string from =
              "127.0." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250);
          fd = ConnectRawFrom(server_, from);
          if (fd >= 0) ++opened_;
        }
        if (fd >= 0) ++open;
      }
      open_ = open;
      std::this_thread::sleep_for(50ms);
    }
  }

  HostPort server_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<int> open_{0};
  std::atomic<uint64_t> opened_{0};
  std::thread thread_;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index =
      std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return values[index];
}

// Change -> served on the secondary, ms (the API write through the proxy until the secondary
// serves the primary's new serial).
double MeasureChange(Cluster& cluster, const std::string& zone, int round) {
  const auto start = Clock::now();
  auto patched = cluster.SetARecord(zone, "www." + zone, "192.0.2." + std::to_string(round));
  EXPECT_EQ(patched.status, 204) << patched.body;
  const uint32_t serial = cluster.PrimarySerial(zone);
  PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, serial, 60s));
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// "Anything lost" of a case: whether every acknowledged change is on the secondary, compared
// as the serial it serves against the primary's and the address of www.<zone> against the one
// written last.
std::string LostChanges(Cluster& cluster, const std::string& zone, const std::string& written) {
  const uint32_t primary = cluster.PrimarySerial(zone);
  const uint32_t secondary = cluster.ServedSerial(0, zone);
  const std::string served = DigShort(cluster.secondaries[0]->dns_address(), "www." + zone, "A");
  const bool none = primary == secondary && served == written;
  return std::string(none ? "none" : "LOST") + ": secondary serial " + std::to_string(secondary) +
         " (primary " + std::to_string(primary) + "), www A " + served + " (written " + written +
         ")";
}

std::string Millis(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

const bool kHostileReport = RegisterHostileReport("hostile_dns_test");

TEST(HostileDns, IdleOutsidersDoNotDelayPropagationOrSoaAnswers) {
  RaiseFileLimit();
  Cluster cluster;
  ClusterOptions options;
  options.secondaries = 1;
  PDNSD_ASSERT_OK(cluster.Start(options));
  const std::string zone = "hostile.example.";
  ASSERT_EQ(cluster.CreateZone(zone, 1).status, 201);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));
  const HostPort endpoint = cluster.syncers[0]->axfr_address();

  std::vector<double> quiet;
  for (int i = 0; i < 5; ++i) quiet.push_back(MeasureChange(cluster, zone, 10 + i));

  IdleFlood flood(endpoint, 1000);
  // Let the flood reach its 1,000 sockets (the endpoint closes most of them at accept).
  const auto flood_deadline = Clock::now() + 30s;
  while (flood.opened() < 1000 && Clock::now() < flood_deadline) std::this_thread::sleep_for(50ms);
  ASSERT_GE(flood.opened(), 1000u);

  std::vector<double> flooded;
  for (int i = 0; i < 5; ++i) flooded.push_back(MeasureChange(cluster, zone, 20 + i));

  // 100 SOA queries from the allowed address over TCP (the attacked transport).
  std::vector<double> soa_ms;
  int soa_failures = 0;
  const std::string soa = Query(zone, LDNS_RR_TYPE_SOA);
  for (int i = 0; i < 100; ++i) {
    const auto start = Clock::now();
    const auto answer = TcpExchange(endpoint, "127.0.0.1", soa);
    soa_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (Rcode(answer) != LDNS_RCODE_NOERROR) ++soa_failures;
  }
  // Outsiders get REFUSED while the flood goes on: over UDP always; over TCP a connection
  // finds the outsiders' slots taken by the flood and is closed at accept (no answer, -1).
  const int outsider_udp = Rcode(UdpExchange(endpoint, "127.0.9.1", soa));
  const int outsider_tcp = Rcode(TcpExchange(endpoint, "127.0.9.2", soa));
  const double refused_at_accept =
      CounterValue(*cluster.syncer_registries[0], "secondarysyncer_axfr_endpoint_refused_total",
                   {{"reason", "connection_limit"}});

  std::fprintf(stderr,
               "\n| case | result |\n|---|---|\n"
               "| change -> served, quiet (5 changes) | p50 %.1f ms, max %.1f ms |\n"
               "| change -> served, 1,000 idle outsider connections (5 changes) | p50 %.1f ms, "
               "max %.1f ms |\n"
               "| 100 SOA over TCP from 127.0.0.1 during the flood | p50 %.2f ms, p99 %.2f ms, "
               "%d failed |\n"
               "| outsider SOA over UDP / TCP during the flood | rcode %d / %d (5 = REFUSED, -1 = "
               "closed at accept) |\n"
               "| flood | %d sockets open now, %llu connects, %.0f closed at accept |\n\n",
               Percentile(quiet, 0.5), Percentile(quiet, 1.0), Percentile(flooded, 0.5),
               Percentile(flooded, 1.0), Percentile(soa_ms, 0.5), Percentile(soa_ms, 0.99),
               soa_failures, outsider_udp, outsider_tcp, flood.open(),
               static_cast<unsigned long long>(flood.opened()), refused_at_accept);

  EXPECT_EQ(soa_failures, 0);
  EXPECT_LT(Percentile(soa_ms, 0.99), 2000.0);  // target < 100 ms; fail only on 2 s
  // Generous: the failure this guards against took 30.8 s (the 30 s idle timeout).
  EXPECT_LT(Percentile(flooded, 1.0), 10000.0);
  EXPECT_EQ(outsider_udp, LDNS_RCODE_REFUSED);
  EXPECT_TRUE(outsider_tcp == LDNS_RCODE_REFUSED || outsider_tcp == -1) << outsider_tcp;
  EXPECT_GT(refused_at_accept, 0);

  // The flood ends; the endpoint is still there: outsiders get REFUSED over TCP, and a change
  // propagates.
  flood.Stop();
  EXPECT_EQ(Rcode(TcpExchange(endpoint, "127.0.9.3", soa)), LDNS_RCODE_REFUSED);
  const int outsider_after = Rcode(TcpExchange(endpoint, "127.0.9.3", soa));
  const double after = MeasureChange(cluster, zone, 30);
  std::fprintf(stderr, "after the flood: change -> served %.1f ms\n", after);

  const bool alive = Rcode(TcpExchange(endpoint, "127.0.0.1", soa)) == LDNS_RCODE_NOERROR;
  EXPECT_TRUE(alive);
  const std::string alive_check = "SOA over TCP from 127.0.0.1 after the flood: NOERROR";
  const std::string lost = LostChanges(cluster, zone, "192.0.2.30") + "; " +
                           std::to_string(quiet.size() + flooded.size() + 1) +
                           " changes, each waited for";
  ReportHostileCase(
      {.input = "1,000 idle TCP connections to the SOA/AXFR endpoint from outsider addresses",
       .outcome = std::to_string(flood.opened()) + " connects, " +
                  std::to_string(static_cast<long long>(refused_at_accept)) +
                  " closed at accept; 100 SOA from 127.0.0.1: p99 " +
                  Millis(Percentile(soa_ms, 0.99)) + ", " + std::to_string(soa_failures) +
                  " failed; change -> served max " + Millis(Percentile(flooded, 1.0)) +
                  " (quiet max " + Millis(Percentile(quiet, 1.0)) + ")",
       .alive = alive,
       .alive_check = alive_check,
       .lost = lost});
  const std::pair<std::string, int> outsiders[] = {
      {"SOA over UDP from an outsider (127.0.9.1) during the flood", outsider_udp},
      {"SOA over TCP from an outsider (127.0.9.2) during the flood", outsider_tcp},
      {"SOA over TCP from an outsider (127.0.9.3) after the flood", outsider_after}};
  for (const auto& [input, rcode] : outsiders) {
    ReportHostileCase(
        {.input = input,
         .outcome = "rcode " + std::to_string(rcode) + " (5 = REFUSED, -1 = closed at accept)",
         .alive = alive,
         .alive_check = alive_check,
         .lost = lost});
  }
}

TEST(HostileDns, TsigBetweenTheEndpointAndItsPowerDns) {
  Cluster cluster;
  ClusterOptions options;
  options.secondaries = 1;
  options.syncer_config = {{"AXFRPrimary", "TSIGKeyName", "\"syncer-hostile\""},
                           {"AXFRPrimary", "TSIGAlgorithm", "\"hmac-sha256\""},
                           {"AXFRPrimary", "TSIGSecret", std::string("\"") + kSecret + "\""}};
  PDNSD_ASSERT_OK(cluster.Start(options));
  const std::string zone = "tsig.example.";
  ASSERT_EQ(cluster.CreateZone(zone, 1).status, 201);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));
  const double change_ms = MeasureChange(cluster, zone, 5);
  EXPECT_EQ(DigShort(cluster.secondaries[0]->dns_address(), "www." + zone, "A"), "192.0.2.5");

  // The syncer set its PowerDNS up: the key, and the zone signs its requests with it.
  const HttpResponse keys =
      cluster.secondaries[0]->Api("GET", "/api/v1/servers/localhost/tsigkeys");
  EXPECT_NE(keys.body.find(kKeyName), std::string::npos) << keys.body;
  const HttpResponse local = cluster.secondaries[0]->Api(
      "GET", "/api/v1/servers/localhost/zones/" + zone + "?rrsets=false");
  EXPECT_NE(local.body.find(kKeyName), std::string::npos) << local.body;

  // A client of the allowed address without the key: refused per RFC 8945.
  const HostPort endpoint = cluster.syncers[0]->axfr_address();
  struct Case {
    const char* what;
    std::string query;
    int rcode;
    int tsig_error;
  };
  const Case cases[] = {
      {"unsigned SOA", Query(zone, LDNS_RR_TYPE_SOA), LDNS_RCODE_REFUSED, -1},
      {"unsigned AXFR", Query(zone, LDNS_RR_TYPE_AXFR), LDNS_RCODE_REFUSED, -1},
      {"AXFR, wrong secret", Query(zone, LDNS_RR_TYPE_AXFR, kKeyName, kOtherSecret),
       LDNS_RCODE_NOTAUTH, 16},
      {"AXFR, unknown key", Query(zone, LDNS_RR_TYPE_AXFR, "intruder.", kSecret),
       LDNS_RCODE_NOTAUTH, 17},
      {"SOA, right key", Query(zone, LDNS_RR_TYPE_SOA, kKeyName, kSecret), LDNS_RCODE_NOERROR, 0},
  };
  std::vector<std::pair<int, int>> answered;  // rcode, TSIG error
  for (const Case& c : cases) {
    const auto answer = TcpExchange(endpoint, "127.0.0.1", c.query);
    EXPECT_EQ(Rcode(answer), c.rcode) << c.what;
    EXPECT_EQ(TsigError(answer), c.tsig_error) << c.what;
    answered.emplace_back(Rcode(answer), TsigError(answer));
  }
  // After the refusals: a signed SOA still answers and a change still propagates.
  const bool alive =
      Rcode(TcpExchange(endpoint, "127.0.0.1", Query(zone, LDNS_RR_TYPE_SOA, kKeyName, kSecret))) ==
      LDNS_RCODE_NOERROR;
  EXPECT_TRUE(alive);
  const double after_ms = MeasureChange(cluster, zone, 6);
  const std::string lost =
      LostChanges(cluster, zone, "192.0.2.6") + "; change after the cases " + Millis(after_ms);
  for (size_t i = 0; i < answered.size(); ++i) {
    ReportHostileCase({.input = std::string(cases[i].what) + " from 127.0.0.1, TSIG required",
                       .outcome = "rcode " + std::to_string(answered[i].first) + ", TSIG error " +
                                  std::to_string(answered[i].second) + " (expected " +
                                  std::to_string(cases[i].rcode) + ", " +
                                  std::to_string(cases[i].tsig_error) + ")",
                       .alive = alive,
                       .alive_check = "signed SOA from 127.0.0.1 afterwards: NOERROR",
                       .lost = lost});
  }
  const double refused =
      CounterValue(*cluster.syncer_registries[0], "secondarysyncer_axfr_endpoint_refused_total",
                   {{"reason", "tsig"}});
  std::fprintf(stderr, "TSIG on: change -> served %.1f ms; %.0f requests refused for TSIG\n",
               change_ms, refused);
  EXPECT_EQ(refused, 4);
}

}  // namespace
}  // namespace pdnsd::testing
