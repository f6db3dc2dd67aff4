// The broker side: reconnects after a nats-server restart, the whole path over IPv6
// loopback, and per-role permissions from config/nats-server.conf.
#include <gtest/gtest.h>

#include "model/messages.h"
#include "support/cluster.h"
#include "support/shipped_broker.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

TEST(Broker, ServicesReconnectAfterNatsRestartAndTheNextChangeArrives) {
  Cluster cluster;
  PDNSD_ASSERT_OK(cluster.Start());
  ASSERT_EQ(cluster.CreateZone("restart.example.", 1).status, 201);
  const uint32_t created = cluster.PrimarySerial("restart.example.");
  PDNSD_ASSERT_OK(cluster.WaitAllServe("restart.example.", created));

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
  ASSERT_EQ(cluster.SetARecord("restart.example.", "after.restart.example.", "192.0.2.99").status,
            204);
  const uint32_t serial = cluster.PrimarySerial("restart.example.");
  EXPECT_GT(serial, created);
  PDNSD_EXPECT_OK(cluster.WaitAllServe("restart.example.", serial));
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
  ASSERT_EQ(cluster
                .CreateZone("v6.example.", 6,
                            R"([{"name":"www.v6.example.","type":"AAAA","ttl":60,
                                    "changetype":"REPLACE","records":[{"content":"2001:db8::6",
                                    "disabled":false}]}])")
                .status,
            201);
  PDNSD_EXPECT_OK(cluster.WaitAllServe("v6.example.", cluster.PrimarySerial("v6.example.")));
  for (auto& secondary : cluster.secondaries) {
    EXPECT_EQ(secondary->dns_address().host, "::1");
    EXPECT_EQ(DigShort(secondary->dns_address(), "www.v6.example.", "AAAA"), "2001:db8::6");
  }
}

// The shipped permissions (config/nats-server.conf) on a plain broker; the syncer is
// secondary-0's. The same with TLS and every attempt of a stolen syncer password:
// broker_identity_test.
std::string PermissionsConfig() {
  auto config = ShippedBrokerConfig({"secondary-0"}, "");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : "";
}

BusOptions As(const NatsServer& nats, const std::string& user) {
  return ShippedBrokerUser(nats, user, "");
}

TEST(Broker, SyncerCredentialsCannotPublishZoneEvents) {
  const std::string config = PermissionsConfig();
  ASSERT_NE(config.find("authorization"), std::string::npos);
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithConfig(config)));
  auto checker = Bus::Connect(As(nats, "checker"), MakeTestLogger("checker"));
  auto syncer = Bus::Connect(As(nats, "syncer-secondary-0"), MakeTestLogger("syncer"));
  auto proxy = Bus::Connect(As(nats, "proxy"), MakeTestLogger("proxy"));
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

  const std::string forged = EncodeZoneEvent({ZoneEventType::kAdd, "forged.example.", "", ""});
  const std::string real = EncodeZoneEvent({ZoneEventType::kAdd, "real.example.", "", ""});
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
  BusOptions options = As(nats, "syncer-secondary-0");
  options.password = "wrong";
  auto bus = Bus::Connect(options, MakeTestLogger("intruder"));
  // The library keeps retrying in the background; it never becomes connected.
  if (bus.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE((*bus)->IsConnected());
  }
}

TEST(Broker, TlsWithCaAndClientCertificate) {
  TempDir certs;
  PDNSD_ASSERT_OK(MakeTestCa(certs.path(), {"client"}));
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithConfig(
      "tls {\n  cert_file: \"" + certs.File("server.crt") + "\"\n  key_file: \"" +
      certs.File("server.key") + "\"\n  ca_file: \"" + certs.File("ca.crt") +
      "\"\n  verify: true\n  timeout: 2\n}")));
  BusOptions options = TestBusOptions(nats, "tls-client");
  options.tls_ca_file = certs.File("ca.crt");
  options.tls_cert_file = certs.File("client.crt");
  options.tls_key_file = certs.File("client.key");
  auto responder = Bus::Connect(options, MakeTestLogger("tls-responder"));
  auto requester = Bus::Connect(options, MakeTestLogger("tls-requester"));
  PDNSD_ASSERT_OK(responder.status());
  PDNSD_ASSERT_OK(requester.status());
  ASSERT_TRUE(WaitFor([&] { return (*responder)->IsConnected() && (*requester)->IsConnected(); }));
  Bus* responder_bus = responder->get();
  auto subscription = responder_bus->Subscribe("zonestate.tls", "", [&](const BusMessage& message) {
    responder_bus->Respond(message, "pong:" + message.data);
  });
  PDNSD_ASSERT_OK(subscription.status());
  PDNSD_ASSERT_OK(responder_bus->Flush(std::chrono::seconds(5)));
  auto reply = (*requester)->Request("zonestate.tls", "ping", std::chrono::seconds(5));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_EQ(*reply, "pong:ping");

  // Without a client certificate the server (verify: true) refuses the connection.
  BusOptions anonymous = TestBusOptions(nats, "tls-anonymous");
  anonymous.tls_ca_file = certs.File("ca.crt");
  auto refused = Bus::Connect(anonymous, MakeTestLogger("tls-anonymous"));
  if (refused.ok()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_FALSE((*refused)->IsConnected());
  }
  subscription->reset();
}

// A nats-server with a connected responder and requester.
class RequestReplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions()));
    auto responder = Bus::Connect(TestBusOptions(nats_, "responder"), MakeTestLogger("responder"));
    auto requester = Bus::Connect(TestBusOptions(nats_, "requester"), MakeTestLogger("requester"));
    PDNSD_ASSERT_OK(responder.status());
    PDNSD_ASSERT_OK(requester.status());
    responder_ = std::move(*responder);
    requester_ = std::move(*requester);
    ASSERT_TRUE(WaitFor([&] { return responder_->IsConnected() && requester_->IsConnected(); }));
  }

  NatsServer nats_;
  std::unique_ptr<Bus> responder_;
  std::unique_ptr<Bus> requester_;
};

TEST_F(RequestReplyTest, StateMapOf20000ZonesTravelsChunked) {
  ZoneStateReply state;
  for (uint32_t i = 0; i < 20000; ++i) {
    state
        .statemap["customer-zone-number-" + std::to_string(i) + ".some-long-domain-name.example."] =
        4000000000u + i;
  }
  const std::string encoded = EncodeZoneStateReply(state);
  ASSERT_GT(encoded.size(), 1024u * 1024u) << "the map must exceed NATS's 1 MiB payload limit";
  Bus* responder_bus = responder_.get();
  auto subscription = responder_bus->Subscribe(
      "zonestate.big", "", [&](const BusMessage& m) { responder_bus->Respond(m, encoded); });
  PDNSD_ASSERT_OK(subscription.status());
  PDNSD_ASSERT_OK(responder_bus->Flush(std::chrono::seconds(5)));
  auto reply =
      requester_->Request("zonestate.big", EncodeZoneStateRequest({}), std::chrono::seconds(20));
  PDNSD_ASSERT_OK(reply.status());
  auto decoded = DecodeZoneStateReply(*reply);
  PDNSD_ASSERT_OK(decoded.status());
  EXPECT_EQ(decoded->statemap, state.statemap);
  subscription->reset();
}

TEST_F(RequestReplyTest, LargeRepliesAreChunkedAndReassembled) {
  // 5 MiB that compresses badly (pseudo-random), so it needs several chunks even compressed.
  std::string payload(5 * 1024 * 1024, '\0');
  uint32_t state = 12345;
  for (char& c : payload) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>('a' + (state >> 16) % 26);
  }
  Bus* responder_bus = responder_.get();
  auto subscription = responder_bus->Subscribe("zonedata.big", "worker", [&](const BusMessage& m) {
    responder_bus->Respond(m, m.data == "small" ? std::string("tiny") : payload);
  });
  PDNSD_ASSERT_OK(subscription.status());
  PDNSD_ASSERT_OK(responder_bus->Flush(std::chrono::seconds(5)));
  auto reply = requester_->Request("zonedata.big", "big", std::chrono::seconds(20));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_TRUE(*reply == payload) << "reassembled reply differs (size " << reply->size() << ")";
  reply = requester_->Request("zonedata.big", "small", std::chrono::seconds(5));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_EQ(*reply, "tiny");
  // Nobody listening: an error at once, not a timeout.
  const auto start = std::chrono::steady_clock::now();
  auto none = requester_->Request("zonedata.nobody", "x", std::chrono::seconds(10));
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable) << none.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  subscription->reset();
}

}  // namespace
}  // namespace pdnsd::testing
