// The secondary-syncer binary's start and stop as operators meet them: a second syncer with an
// ID already in use is refused at start (and one that slips through is seen in heartbeats);
// SIGTERM stops a syncer at once also while it waits on the zone-provider.
#include <gtest/gtest.h>
#include <signal.h>

#include "bus/bus.h"
#include "discovery/heartbeat.h"
#include "discovery/instance_claim.h"
#include "dns/soa_query.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "support/shipped_broker.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

const std::string kBinDir = PDNSD_BIN_DIR;

class SyncerLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The shipped permissions: each syncer runs as its ID's user; the test's own bus is sec-a's
    // (a twin with a stolen password is still sec-a).
    auto config = ShippedBrokerConfig({"sec-a", "sec-b"}, "");
    PDNSD_ASSERT_OK(config.status());
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions().WithConfig(*config)));
    auto bus = Bus::Connect(ShippedBrokerUser(nats_, "syncer-sec-a", ""), MakeTestLogger("test"));
    PDNSD_ASSERT_OK(bus.status());
    syncer_role_ = std::move(*bus);
  }
  void TearDown() override { syncer_role_.reset(); }

  // A syncer with `id`; its PowerDNS API is a port where nothing listens (the tests here never
  // get that far). Returns the metrics port.
  uint16_t StartSyncer(ChildProcess& process, const std::string& id,
                       const std::string& axfr_timeout = "10s") {
    const uint16_t metrics = FreePort();
    const std::string axfr = "127.0.0.1:" + std::to_string(FreePort());
    const std::string name = "syncer-" + std::to_string(++started_);
    ServiceConfigParameters parameters;
    parameters.id = id;
    parameters.listen = axfr;
    parameters.debug = true;
    parameters.metrics = "127.0.0.1:" + std::to_string(metrics);
    parameters.nats_url = nats_.url();
    parameters.nats_username = "syncer-" + id;
    parameters.nats_password = ShippedBrokerPassword("syncer-" + id);
    parameters.ping_interval = std::chrono::milliseconds(200);
    parameters.powerdns_url = "http://127.0.0.1:" + std::to_string(FreePort());
    parameters.powerdns_api_key = "unused";
    // The endpoint's address under the key read before issue 8 and the original's key.
    parameters.extra = {{"PowerDNS", "AXFRTimeout", TomlString(axfr_timeout)},
                        {"PowerDNS", "AXFRAddress", TomlString(axfr)}};
    auto config = RenderServiceConfig("pdns-secondary-syncer", parameters);
    EXPECT_TRUE(config.ok());
    const std::string path = dir_.File(name + ".toml");
    EXPECT_TRUE(WriteFile(path, *config).ok());
    EXPECT_TRUE(
        process
            .Start({kBinDir + "/pdns-secondary-syncer", "--config", path}, dir_.File(name + ".log"))
            .ok());
    last_axfr_ = *ParseHostPort(axfr);
    return metrics;
  }

  // Waits until the syncer's heartbeat subject carries a heartbeat: it claimed its ID.
  bool WaitUntilRunning(ChildProcess& process, uint16_t metrics) {
    return WaitFor([&] {
      return process.IsRunning() && TcpPortOpen({"127.0.0.1", metrics}) &&
             process.LogSinceStart().find("syncing") != std::string::npos;
    });
  }

  static double Sample(uint16_t metrics, const std::string& series) {
    const HttpResponse response =
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(metrics) + "/metrics");
    const size_t at = response.body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(response.body.substr(at + series.size() + 2));
  }

  TempDir dir_;
  NatsServer nats_;
  std::unique_ptr<Bus> syncer_role_;
  HostPort last_axfr_;
  int started_ = 0;
};

TEST_F(SyncerLifecycleTest, SecondSyncerWithTheSameIdIsRefusedAtStart) {
  ChildProcess first, second, other;
  const uint16_t metrics = StartSyncer(first, "sec-a");
  ASSERT_TRUE(WaitUntilRunning(first, metrics)) << first.LogSinceStart();

  const auto asked = std::chrono::steady_clock::now();
  StartSyncer(second, "sec-a");
  const std::optional<int> code = second.WaitExit(std::chrono::seconds(15));
  if (!code) second.Kill();
  ASSERT_TRUE(code.has_value()) << "a second syncer with ID sec-a keeps running\n"
                                << second.LogSinceStart();
  std::cout << "refused after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - asked)
                   .count()
            << " ms (process start included)\n";
  EXPECT_EQ(*code, 1) << second.LogSinceStart();
  const std::string refused = second.LogSinceStart();
  EXPECT_NE(
      refused.find("ID sec-a is already used by another running pdns-secondary-syncer (host "),
      std::string::npos)
      << refused;
  EXPECT_EQ(refused.find("cannot check"), std::string::npos) << refused;
  EXPECT_TRUE(WaitFor([&] {
    return first.LogSinceStart().find("refused another pdns-secondary-syncer with our ID sec-a") !=
           std::string::npos;
  })) << first.LogSinceStart();
  EXPECT_TRUE(first.IsRunning());

  // Another ID starts next to it.
  const uint16_t other_metrics = StartSyncer(other, "sec-b");
  EXPECT_TRUE(WaitUntilRunning(other, other_metrics)) << other.LogSinceStart();
  EXPECT_EQ(first.Stop(), 0);
  EXPECT_EQ(other.Stop(), 0);
}

TEST_F(SyncerLifecycleTest, HeartbeatOfAnotherInstanceWithOurIdIsLoggedAndCounted) {
  ChildProcess syncer;
  const uint16_t metrics = StartSyncer(syncer, "sec-a");
  ASSERT_TRUE(WaitUntilRunning(syncer, metrics)) << syncer.LogSinceStart();
  EXPECT_EQ(Sample(metrics, "secondarysyncer_duplicate_id_heartbeats_total"), 0);

  // What a second syncer that started at the same moment (both found the ID free) sends.
  Heartbeat twin{
      "sec-a", "pdns-secondary-syncer", "9.9.9", {}, "twin.example.net", 0, NewBootId(), "", ""};
  for (int i = 0; i < 3; ++i) {
    PDNSD_ASSERT_OK(
        syncer_role_->Publish("heartbeat.pdns-secondary-syncer.sec-a", EncodeHeartbeat(twin)));
  }
  PDNSD_ASSERT_OK(syncer_role_->Flush(std::chrono::seconds(5)));
  EXPECT_TRUE(WaitFor([&] {
    return Sample(metrics, "secondarysyncer_duplicate_id_heartbeats_total") == 3;
  })) << syncer.LogSinceStart();
  const std::string log = syncer.LogSinceStart();
  const std::string line =
      "another pdns-secondary-syncer runs with our ID sec-a (host "
      "twin.example.net, boot id " +
      twin.boot_id;
  EXPECT_NE(log.find(line), std::string::npos) << log;
  EXPECT_EQ(log.find(line), log.rfind(line)) << "logged once per other instance";
  EXPECT_EQ(syncer.Stop(), 0);
}

TEST_F(SyncerLifecycleTest, SigtermStopsWithinASecondWhileZoneDataRequestsAreInFlight) {
  // A zone-provider that takes every request and never answers.
  std::mutex mutex;
  int held = 0;
  auto provider =
      Bus::Connect(ShippedBrokerUser(nats_, "provider", ""), MakeTestLogger("provider"));
  PDNSD_ASSERT_OK(provider.status());
  auto subscription = (*provider)->Subscribe("zonedata.*", "worker", [&](const BusMessage&) {
    std::lock_guard lock(mutex);
    ++held;
  });
  PDNSD_ASSERT_OK(subscription.status());
  PDNSD_ASSERT_OK((*provider)->Flush(std::chrono::seconds(5)));

  ChildProcess syncer;
  const uint16_t metrics = StartSyncer(syncer, "sec-a", "60s");
  ASSERT_TRUE(WaitUntilRunning(syncer, metrics)) << syncer.LogSinceStart();
  const HostPort endpoint = last_axfr_;

  // One request from a worker (a zone event) and one from the AXFR endpoint's thread (the
  // SOA query PowerDNS would send), both waiting for the provider.
  auto checker = Bus::Connect(ShippedBrokerUser(nats_, "checker", ""), MakeTestLogger("checker"));
  PDNSD_ASSERT_OK(checker.status());
  PDNSD_ASSERT_OK((*checker)->Publish(
      "zone.modified.sec-a", EncodeZoneEvent({ZoneEventType::kChange, "held.example.", "", ""})));
  PDNSD_ASSERT_OK((*checker)->Flush(std::chrono::seconds(5)));
  std::thread query(
      [&] { (void)QuerySoaSerial(endpoint, "held.example.", std::chrono::seconds(30)); });
  const bool both_held = WaitFor([&] {
    std::lock_guard lock(mutex);
    return held >= 2;
  });
  EXPECT_TRUE(both_held) << syncer.LogSinceStart();

  const auto start = std::chrono::steady_clock::now();
  syncer.Signal(SIGTERM);
  const std::optional<int> code = syncer.WaitExit(std::chrono::seconds(20));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!code) syncer.Kill();
  query.join();
  std::cout << "stopped " << took.count() << " ms after SIGTERM with " << held
            << " zone-data requests in flight\n";
  ASSERT_TRUE(code.has_value()) << syncer.LogSinceStart();
  EXPECT_EQ(*code, 0) << syncer.LogSinceStart();
  // Generous for a loaded machine; the figure above is what it took.
  EXPECT_LT(took, std::chrono::seconds(3)) << syncer.LogSinceStart();
  subscription->reset();
}

}  // namespace
}  // namespace pdnsd::testing
