// The broker side: reconnects after a nats-server restart, the whole path over IPv6
// loopback, and per-role permissions from config/nats-server.conf.
#include <gtest/gtest.h>

#include <regex>

#include "model/messages.h"
#include "support/cluster.h"

namespace pdnsd::testing {
namespace {

TEST(Broker, ServicesReconnectAfterNatsRestartAndTheNextChangeArrives) {
  Cluster cluster;
  PDNSD_ASSERT_OK(cluster.Start());
  ASSERT_EQ(cluster.CreateZone("restart.example.", 1).status, 201);
  const uint32_t created = cluster.PrimarySerial("restart.example.");
  ASSERT_TRUE(cluster.WaitAllServe("restart.example.", created));

  cluster.nats.Stop();
  ASSERT_FALSE(cluster.nats.IsRunning());
  EXPECT_TRUE(WaitFor([&] { return !cluster.proxy_bus->IsConnected(); }));
  PDNSD_ASSERT_OK(cluster.nats.Start());
  std::vector<Bus*> buses = {cluster.proxy_bus.get(), cluster.provider_bus.get()};
  for (auto& bus : cluster.syncer_buses) buses.push_back(bus.get());
  for (Bus* bus : buses) {
    EXPECT_TRUE(WaitFor([&] { return bus->IsConnected(); })) << "a service did not reconnect";
    PDNSD_EXPECT_OK(bus->Flush(std::chrono::seconds(5)));
  }
  ASSERT_EQ(cluster.SetARecord("restart.example.", "after.restart.example.", "192.0.2.99").status, 204);
  const uint32_t serial = cluster.PrimarySerial("restart.example.");
  EXPECT_GT(serial, created);
  EXPECT_TRUE(cluster.WaitAllServe("restart.example.", serial));
  for (auto& secondary : cluster.secondaries) {
    EXPECT_EQ(DigShort(secondary->dns_address(), "after.restart.example.", "A"), "192.0.2.99");
  }
}

TEST(Broker, WholePathOverIpv6Loopback) {
  Cluster cluster;
  ClusterOptions options;
  options.host = "::1";
  PDNSD_ASSERT_OK(cluster.Start(options));
  EXPECT_EQ(cluster.syncers[0]->axfr_address().host, "::1");
  ASSERT_EQ(cluster.CreateZone("v6.example.", 6,
                               R"([{"name":"www.v6.example.","type":"AAAA","ttl":60,
                                    "changetype":"REPLACE","records":[{"content":"2001:db8::6",
                                    "disabled":false}]}])")
                .status,
            201);
  EXPECT_TRUE(cluster.WaitAllServe("v6.example.", cluster.PrimarySerial("v6.example.")));
  for (auto& secondary : cluster.secondaries) {
    EXPECT_EQ(secondary->dns_address().host, "::1");
    EXPECT_EQ(DigShort(secondary->dns_address(), "www.v6.example.", "AAAA"), "2001:db8::6");
  }
}

// config/nats-server.conf with the passwords written in (the file reads them from the
// environment of nats-server).
std::string PermissionsConfig() {
  std::string text = ReadFile(std::string(PDNSD_SOURCE_DIR) + "/config/nats-server.conf");
  return std::regex_replace(text, std::regex(R"(\$PDNSD_([A-Z]+)_PASSWORD)"), "\"pw-$1\"");
}

BusOptions As(const NatsServer& nats, const std::string& user, const std::string& role) {
  BusOptions options = TestBusOptions(nats, user);
  options.username = user;
  options.password = "pw-" + role;
  return options;
}

TEST(Broker, SyncerCredentialsCannotPublishZoneEvents) {
  const std::string config = PermissionsConfig();
  ASSERT_NE(config.find("authorization"), std::string::npos);
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithConfig(config)));
  auto checker = Bus::Connect(As(nats, "checker", "CHECKER"), MakeTestLogger("checker"));
  auto syncer = Bus::Connect(As(nats, "syncer", "SYNCER"), MakeTestLogger("syncer"));
  auto proxy = Bus::Connect(As(nats, "proxy", "PROXY"), MakeTestLogger("proxy"));
  PDNSD_ASSERT_OK(checker.status());
  PDNSD_ASSERT_OK(syncer.status());
  PDNSD_ASSERT_OK(proxy.status());

  std::mutex mutex;
  std::vector<std::string> seen;
  auto subscription = (*checker)->Subscribe("zone.add", "", [&](const BusMessage& message) {
    std::lock_guard lock(mutex);
    seen.push_back(message.data);
  });
  PDNSD_ASSERT_OK(subscription.status());
  PDNSD_ASSERT_OK((*checker)->Flush(std::chrono::seconds(5)));

  const std::string forged = EncodeZoneEvent({ZoneEventType::kAdd, "forged.example.", ""});
  const std::string real = EncodeZoneEvent({ZoneEventType::kAdd, "real.example.", ""});
  (*syncer)->Publish("zone.add", forged);
  (void)(*syncer)->Flush(std::chrono::seconds(2));
  PDNSD_ASSERT_OK((*proxy)->Publish("zone.add", real));
  PDNSD_ASSERT_OK((*proxy)->Flush(std::chrono::seconds(5)));
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex);
    return !seen.empty();
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], real) << "the syncer's forged event reached a subscriber";
  subscription->reset();
}

TEST(Broker, WrongPasswordIsRefused) {
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithConfig(PermissionsConfig())));
  BusOptions options = As(nats, "syncer", "SYNCER");
  options.password = "wrong";
  auto bus = Bus::Connect(options, MakeTestLogger("intruder"));
  // The library keeps retrying in the background; it never becomes connected.
  if (bus.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE((*bus)->IsConnected());
  }
}

}  // namespace
}  // namespace pdnsd::testing
