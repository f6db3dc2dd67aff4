// The four service binaries started from the ORIGINAL project's own example config files
// (tests/support/original_configs.h: its keys and values, addresses and ports changed, the
// `[Secondaries] Hosts` list quoted, and a `[Service] ID` per syncer because two share this
// host). A zone is created, changed and deleted and a DNSSEC zone served signed, end to end
// through the proxy to two secondaries.
//
// The original's checker file has no key for the primary's DNS: it defaults to the host of
// [PowerDNS] URL on port 53, where nothing answers here, and its static [Secondaries] Hosts
// sec01/sec02.example.org never answer either. Neither may break anything.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "bus/bus.h"
#include "dns/soa_query.h"
#include "support/cluster.h"
#include "support/original_configs.h"
#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

const std::string kBinDir = PDNSD_BIN_DIR;
// The original's files say APIToken = "0000"; the test's PowerDNS servers use that key.
const char* const kApiKey = "0000";

// `text` with each `from` replaced by its `to`; fails the test when a `from` does not occur
// exactly once in `text` (the reproduced file must not drift from what the test thinks it
// changes). Every `from` is looked for in `text` itself, not in the text already rewritten: a
// new port such as 53597 must not make "127.0.0.1:53" match twice.
std::string Rewrite(const std::string& text,
                    const std::vector<std::pair<std::string, std::string>>& changes) {
  std::vector<std::tuple<size_t, size_t, std::string>> edits;  // position, length, replacement
  for (const auto& [from, to] : changes) {
    const size_t at = text.find(from);
    const bool once = at != std::string::npos && text.find(from, at + 1) == std::string::npos;
    EXPECT_TRUE(once) << "\"" << from << "\" is not once in\n" << text;
    if (once) edits.emplace_back(at, from.size(), to);
  }
  std::sort(edits.begin(), edits.end(), [](const auto& a, const auto& b) {
    return std::get<0>(a) > std::get<0>(b);  // from the end, so positions stay valid
  });
  std::string result = text;
  for (const auto& [at, length, to] : edits) result.replace(at, length, to);
  return result;
}

std::string Address(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

class OriginalConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions()));
    PDNSD_ASSERT_OK(
        primary_.Start(PdnsOptions().WithName("primary").Primary().WithApiKey(kApiKey)));
    PDNSD_ASSERT_OK(
        secondary_a_.Start(PdnsOptions().WithName("secondary-a").Secondary().WithApiKey(kApiKey)));
    PDNSD_ASSERT_OK(
        secondary_b_.Start(PdnsOptions().WithName("secondary-b").Secondary().WithApiKey(kApiKey)));
    auto bus = Bus::Connect(TestBusOptions(nats_, "watch"), MakeTestLogger("watch"));
    PDNSD_ASSERT_OK(bus.status());
    watch_ = std::move(*bus);
    auto subscription = watch_->Subscribe("heartbeat.>", "", [this](const BusMessage& m) {
      std::lock_guard lock(mutex_);
      heartbeat_subjects_.insert(m.subject);
    });
    PDNSD_ASSERT_OK(subscription.status());
    heartbeats_ = std::move(*subscription);
    PDNSD_ASSERT_OK(watch_->Flush(std::chrono::seconds(5)));
  }

  void TearDown() override {
    for (ChildProcess* process : {&checker_, &syncer_b_, &syncer_a_, &provider_, &proxy_}) {
      process->Stop();
    }
    heartbeats_.reset();
    watch_.reset();
  }

  bool HeartbeatSeen(const std::string& subject_prefix) {
    std::lock_guard lock(mutex_);
    for (const std::string& subject : heartbeat_subjects_) {
      if (subject.rfind(subject_prefix, 0) == 0) return true;
    }
    return false;
  }

  // Writes `config` and starts `binary` with it; returns once its first heartbeat arrived
  // (its subscriptions are registered then).
  void Start(ChildProcess& process, const std::string& binary, const std::string& name,
             const std::string& heartbeat_prefix, const std::string& config) {
    const std::string path = dir_.File(name + ".toml");
    PDNSD_ASSERT_OK(WriteFile(path, config));
    PDNSD_ASSERT_OK(
        process.Start({kBinDir + "/" + binary, "--config", path}, dir_.File(name + ".log")));
    ASSERT_TRUE(WaitFor([&] { return HeartbeatSeen(heartbeat_prefix) || !process.IsRunning(); }))
        << process.LogTail();
    ASSERT_TRUE(process.IsRunning()) << process.LogTail();
  }

  std::string SyncerConfig(const std::string& id, const PdnsServer& secondary, uint16_t axfr_port) {
    return Rewrite(kOriginalSecondarySyncerConfig,
                   {{"[Service]\n", "[Service]\nID = \"" + id + "\"\n"},
                    {"localhost:9503", Address(FreePort())},
                    {"nats://localhost:4222", nats_.url()},
                    {"http://localhost:18081", secondary.api_url()},
                    {"127.0.0.1:20102", Address(axfr_port)}});
  }

  HttpResponse Proxy(const std::string& method, const std::string& path,
                     const std::string& body = "") {
    return ProxyRequest({"127.0.0.1", proxy_port_}, kApiKey, method, path, body);
  }

  uint32_t Serial(const PdnsServer& server, const std::string& zone) {
    auto serial = QuerySoaSerial(server.dns_address(), zone, std::chrono::seconds(2));
    return serial.ok() ? *serial : 0;
  }

  ::testing::AssertionResult BothServe(const std::string& zone, uint32_t serial,
                                       std::chrono::milliseconds timeout) {
    uint32_t a = 0, b = 0;
    const bool ok = WaitFor(
        [&] {
          a = Serial(secondary_a_, zone);
          b = Serial(secondary_b_, zone);
          return a == serial && b == serial;
        },
        timeout);
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << zone << " serial " << serial << " not served: a=" << a
                                         << " b=" << b << "\nsyncer a:\n"
                                         << syncer_a_.LogTail() << "\nsyncer b:\n"
                                         << syncer_b_.LogTail();
  }

  TempDir dir_;
  NatsServer nats_;
  PdnsServer primary_, secondary_a_, secondary_b_;
  std::unique_ptr<Bus> watch_;
  std::unique_ptr<Subscription> heartbeats_;
  std::mutex mutex_;
  std::set<std::string> heartbeat_subjects_;  // GUARDED_BY(mutex_)
  uint16_t proxy_port_ = 0;
  ChildProcess proxy_, provider_, syncer_a_, syncer_b_, checker_;
};

TEST_F(OriginalConfigFiles, CreateChangeDeleteAndADnssecZoneReachTwoSecondaries) {
  const std::string cert = dir_.File("cert.pem"), key = dir_.File("key.pem");
  proxy_port_ = FreePort();
  const uint16_t checker_port = FreePort();
  const std::string primary_api = primary_.api_url();

  ASSERT_NO_FATAL_FAILURE(
      Start(checker_, "pdns-health-checker", "checker", "heartbeat.pdns-health-checker.",
            Rewrite(kOriginalHealthCheckerConfig, {{"localhost:30001", Address(checker_port)},
                                                   {"localhost:9501", Address(FreePort())},
                                                   {"nats://localhost:4222", nats_.url()},
                                                   {"http://localhost:8081", primary_api}})));
  ASSERT_NO_FATAL_FAILURE(Start(
      provider_, "pdns-zone-provider", "provider", "heartbeat.pdns-zone-provider.",
      Rewrite(kOriginalZoneProviderConfig, {{"localhost:9500", Address(FreePort())},
                                            {"nats://localhost:4222", nats_.url()},
                                            {"http://localhost:8081", primary_api},
                                            {"127.0.0.1:53", primary_.dns_address().ToString()}})));
  ASSERT_NO_FATAL_FAILURE(Start(syncer_a_, "pdns-secondary-syncer", "syncer-a",
                                "heartbeat.pdns-secondary-syncer.sec-a",
                                SyncerConfig("sec-a", secondary_a_, FreePort())));
  ASSERT_NO_FATAL_FAILURE(Start(syncer_b_, "pdns-secondary-syncer", "syncer-b",
                                "heartbeat.pdns-secondary-syncer.sec-b",
                                SyncerConfig("sec-b", secondary_b_, FreePort())));
  ASSERT_NO_FATAL_FAILURE(
      Start(proxy_, "pdns-api-proxy", "proxy", "heartbeat.pdns-api-proxy.",
            Rewrite(kOriginalApiProxyConfig, {{"localhost:30000", Address(proxy_port_)},
                                              {"/home/pdns-api-proxy/cert.pem", cert},
                                              {"/home/pdns-api-proxy/key.pem", key},
                                              {"localhost:9502", Address(FreePort())},
                                              {"nats://localhost:4222", nats_.url()},
                                              {"http://localhost:8081", primary_api}})));
  ASSERT_TRUE(WaitFor([&] { return TcpPortOpen({"127.0.0.1", proxy_port_}); })) << proxy_.LogTail();

  // [Service] Cert / Key named files that did not exist: generated there, key mode 0600.
  struct stat key_stat {};
  ASSERT_EQ(stat(key.c_str(), &key_stat), 0) << proxy_.LogTail();
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  EXPECT_NE(ReadFile(cert).find("BEGIN CERTIFICATE"), std::string::npos);

  // Create.
  const std::string zone = "original.example.";
  HttpResponse created = Proxy("POST", Cluster::ZonesPath(), Cluster::ZoneBody(zone, "Native", 10));
  ASSERT_EQ(created.status, 201) << created.error << created.body;
  uint32_t serial = Serial(primary_, zone);
  ASSERT_NE(serial, 0u);
  ASSERT_TRUE(BothServe(zone, serial, std::chrono::seconds(30)));

  // Change.
  HttpResponse changed =
      Proxy("PATCH", Cluster::ZonesPath(zone), Cluster::ARecordPatch("www." + zone, "192.0.2.44"));
  ASSERT_EQ(changed.status, 204) << changed.body;
  serial = Serial(primary_, zone);
  ASSERT_TRUE(BothServe(zone, serial, std::chrono::seconds(30)));
  for (const PdnsServer* secondary : {&secondary_a_, &secondary_b_}) {
    EXPECT_EQ(DigShort(secondary->dns_address(), "www." + zone, "A"), "192.0.2.44");
  }

  // A DNSSEC zone: both secondaries serve its signatures. (Until PowerDNS's cached PRESIGNED
  // flag is dealt with, a first answer may be unsigned for up to 60 s: a generous wait.)
  const std::string signed_zone = "signed-original.example.";
  HttpResponse signed_created =
      Proxy("POST", Cluster::ZonesPath(),
            Cluster::ZoneBody(signed_zone, "Native", 1, "[]", /*dnssec=*/true));
  ASSERT_EQ(signed_created.status, 201) << signed_created.body;
  ASSERT_TRUE(BothServe(signed_zone, Serial(primary_, signed_zone), std::chrono::seconds(30)));
  for (const PdnsServer* secondary : {&secondary_a_, &secondary_b_}) {
    std::string answer;
    EXPECT_TRUE(WaitFor(
        [&] {
          answer = DigShort(secondary->dns_address(), signed_zone, "SOA", "+dnssec");
          // In +short output an RRSIG reads "SOA 13 2 3600 ..."; the SOA itself does not.
          return answer.find("\nSOA ") != std::string::npos || answer.rfind("SOA ", 0) == 0;
        },
        std::chrono::seconds(120), std::chrono::milliseconds(500)))
        << secondary->dns_address().ToString() << " serves no RRSIG: " << answer;
  }

  // Delete.
  ASSERT_EQ(Proxy("DELETE", Cluster::ZonesPath(zone)).status, 204);
  EXPECT_TRUE(WaitFor([&] {
    for (const PdnsServer* secondary : {&secondary_a_, &secondary_b_}) {
      if (secondary->Api("GET", Cluster::ZonesPath(zone)).status != 404) return false;
    }
    return true;
  })) << syncer_a_.LogTail();
  EXPECT_EQ(Serial(secondary_a_, signed_zone), Serial(primary_, signed_zone))
      << "deleting one zone leaves the others";

  // Every service still runs; none took a key of the original's files for a typo; the
  // checker's unanswered primary DNS and static hosts broke nothing.
  for (auto [process, name] : {std::pair{&proxy_, "proxy"}, std::pair{&provider_, "provider"},
                               std::pair{&syncer_a_, "syncer-a"}, std::pair{&syncer_b_, "syncer-b"},
                               std::pair{&checker_, "checker"}}) {
    EXPECT_TRUE(process->IsRunning()) << name << ":\n" << process->LogTail();
    const std::string log = process->LogSinceStart();
    EXPECT_EQ(log.find("not a key of this service"), std::string::npos) << name << ":\n" << log;
    EXPECT_EQ(log.find("not a section of this service"), std::string::npos) << name;
  }
  for (auto [process, name] :
       {std::pair{&proxy_, "proxy"}, std::pair{&provider_, "provider"},
        std::pair{&syncer_a_, "syncer-a"}, std::pair{&syncer_b_, "syncer-b"}}) {
    EXPECT_EQ(process->LogSinceStart().find(" error: "), std::string::npos) << name << ":\n"
                                                                            << process->LogTail();
  }
  EXPECT_NE(proxy_.LogSinceStart().find("[Service] URL says http://"), std::string::npos);
}

}  // namespace
}  // namespace pdnsd::testing
