// A stolen secondary-syncer password against the shipped broker config (config/nats-server.conf,
// TLS on, one user per secondary; docs/security.md): every attempt to act for another secondary,
// to read others' replies, or to write zone events or the catalog is refused BY THE BROKER —
// nothing reaches a subscriber and nats-server logs the violation — while the syncer's own work
// passes. And a client without TLS, or one not trusting the broker's CA, gets no connection.
//
// Label "hostile" (tests/integration/CMakeLists.txt).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "bus/jetstream.h"
#include "discovery/heartbeat.h"
#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "model/messages.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "support/shipped_broker.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Messages a subscription received, by subject.
struct Inbox {
  std::mutex mutex;
  std::vector<BusMessage> messages;
  size_t size() {
    std::lock_guard lock(mutex);
    return messages.size();
  }
  std::vector<std::string> subjects() {
    std::lock_guard lock(mutex);
    std::vector<std::string> out;
    for (const auto& m : messages) out.push_back(m.subject);
    return out;
  }
};

class BrokerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(MakeTestCa(certs_.path()));
    auto config = ShippedBrokerConfig({"ns1", "ns2"}, certs_.path());
    PDNSD_ASSERT_OK(StatusOf(config));
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions().WithJetStream().WithConfig(*config)));
    checker_ = As("checker");
    provider_ = As("provider");
    proxy_ = As("proxy");
    thief_ = As("syncer-ns1");  // the stolen password: secondary ns1's
    victim_ = As("syncer-ns2");
    ASSERT_TRUE(checker_ && provider_ && proxy_ && thief_ && victim_);
  }

  void TearDown() override {
    subscriptions_.clear();
    thief_.reset();
    victim_.reset();
    checker_.reset();
    provider_.reset();
    proxy_.reset();
  }

  std::unique_ptr<Bus> As(const std::string& user) {
    auto bus = Bus::Connect(ShippedBrokerUser(nats_, user, certs_.path()), MakeTestLogger(user));
    EXPECT_TRUE(bus.ok()) << user << ": " << bus.status().ToString();
    if (!bus.ok()) return nullptr;
    EXPECT_TRUE(WaitFor([&] { return (*bus)->IsConnected(); })) << user;
    return std::move(bus).value();
  }

  // Subscribes `bus` to `subject`, recording into `inbox`; answers requests with `answer`
  // when not empty. Flushes, so the broker has seen the subscription (or refused it).
  void Listen(Bus& bus, const std::string& subject, Inbox& inbox, const std::string& answer = "") {
    Bus* b = &bus;
    auto subscription = bus.Subscribe(subject, "", [&inbox, b, answer](const BusMessage& m) {
      {
        std::lock_guard lock(inbox.mutex);
        inbox.messages.push_back(m);
      }
      if (!answer.empty() && !m.reply.empty()) (void)b->Respond(m, answer);
    });
    PDNSD_ASSERT_OK(StatusOf(subscription));
    subscriptions_.push_back(std::move(subscription).value());
    PDNSD_ASSERT_OK(bus.Flush(seconds(5)));
  }

  // True once nats-server's log says it refused `what` ("Publish" or "Subscription") on
  // `subject`: a line "... <what> Violation - User ..., Subject "<subject>" ...".
  bool BrokerRefused(const std::string& what, const std::string& subject) {
    const std::string violation = what + " Violation";
    const std::string named = "Subject \"" + subject + "\"";
    return WaitFor(
        [&] {
          const std::string log = ReadFile(nats_.log_path());
          for (size_t at = log.find(violation); at != std::string::npos;
               at = log.find(violation, at + 1)) {
            const size_t end = log.find('\n', at);
            if (log.substr(at, end - at).find(named) != std::string::npos) return true;
          }
          return false;
        },
        seconds(5));
  }

  // A publish the broker accepts or refuses; afterwards a flush, so that a refusal is logged.
  void Publish(Bus& bus, const std::string& subject, const std::string& data) {
    (void)bus.Publish(subject, data);
    (void)bus.Flush(seconds(2));
  }

  TempDir certs_{"pdnsd-broker-ca"};
  NatsServer nats_;
  std::unique_ptr<Bus> checker_, provider_, proxy_, thief_, victim_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
};

Heartbeat SyncerHeartbeat(const std::string& id) {
  return Heartbeat{id, "pdns-secondary-syncer", "test", {}, id + ".example.net", 0, NewBootId(), "",
                   ""};
}

TEST_F(BrokerIdentityTest, StolenSyncerPasswordCannotAnnounceAnotherSecondary) {
  Inbox heard;
  Listen(*checker_, "heartbeat.>", heard);
  Inbox claims;
  Listen(*victim_, "heartbeat-claim.pdns-secondary-syncer.ns2", claims, "taken");
  for (const char* id : {"ns2", "fake1"}) {
    Publish(*thief_, std::string("heartbeat.pdns-secondary-syncer.") + id,
            EncodeHeartbeat(SyncerHeartbeat(id)));
  }
  // Nor take ns2's ID at its start check (the claim request of instance_claim.h).
  auto claim = thief_->Request("heartbeat-claim.pdns-secondary-syncer.ns2",
                               EncodeHeartbeat(SyncerHeartbeat("ns2")), milliseconds(500));
  EXPECT_FALSE(claim.ok());
  // Its own heartbeat passes: the broker delivers what this identity may send.
  Publish(*thief_, "heartbeat.pdns-secondary-syncer.ns1", EncodeHeartbeat(SyncerHeartbeat("ns1")));
  ASSERT_TRUE(WaitFor([&] { return heard.size() >= 1; }));
  EXPECT_TRUE(BrokerRefused("Publish", "heartbeat.pdns-secondary-syncer.ns2"));
  EXPECT_TRUE(BrokerRefused("Publish", "heartbeat.pdns-secondary-syncer.fake1"));
  EXPECT_TRUE(BrokerRefused("Publish", "heartbeat-claim.pdns-secondary-syncer.ns2"));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(heard.subjects(), std::vector<std::string>{"heartbeat.pdns-secondary-syncer.ns1"});
  EXPECT_EQ(claims.size(), 0u);
}

TEST_F(BrokerIdentityTest, StolenSyncerPasswordCannotAnswerForAnotherSecondaryNorReadReplies) {
  // What the thief tries to hear: ns2's state requests and events, the zone-data requests the
  // provider answers (its own ID's included), every reply.
  Inbox stolen;
  for (const char* subject :
       {"zonestate.ns2", "zonedata.ns2", "zonedata.ns1", "zonedata.*", "zone.add.ns2", "_INBOX.>",
        "_INBOX.checker.>", "_INBOX.syncer-ns2.>", "heartbeat.>", ">"}) {
    Listen(*thief_, subject, stolen, "forged");
  }
  Inbox state_requests, data_requests;
  Listen(*victim_, "zonestate.ns2", state_requests, "ns2-state");
  Listen(*provider_, "zonedata.*", data_requests, "zone-data");

  auto state = checker_->Request("zonestate.ns2", "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(state));
  EXPECT_EQ(*state, "ns2-state");
  auto data = victim_->Request("zonedata.ns2", "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(data));
  EXPECT_EQ(*data, "zone-data");
  PDNSD_ASSERT_OK(checker_->Publish("zone.add.ns2", R"({"zone":"a.example."})"));
  PDNSD_ASSERT_OK(checker_->Flush(seconds(5)));

  // It cannot ask in ns2's name either, nor answer a reply subject it was not asked on.
  auto asked = thief_->Request("zonedata.ns2", "{}", milliseconds(500));
  EXPECT_FALSE(asked.ok());
  Publish(*thief_, "_INBOX.checker.guessed", "forged");

  for (const char* subject :
       {"zonestate.ns2", "zonedata.ns2", "zonedata.ns1", "zonedata.*", "zone.add.ns2", "_INBOX.>",
        "_INBOX.checker.>", "_INBOX.syncer-ns2.>", "heartbeat.>", ">"}) {
    EXPECT_TRUE(BrokerRefused("Subscription", subject)) << subject;
  }
  EXPECT_TRUE(BrokerRefused("Publish", "zonedata.ns2"));
  EXPECT_TRUE(BrokerRefused("Publish", "_INBOX.checker.guessed"));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(stolen.size(), 0u) << "the thief heard " << stolen.subjects().front();
  EXPECT_EQ(state_requests.size(), 1u);
  EXPECT_EQ(data_requests.subjects(), std::vector<std::string>{"zonedata.ns2"});
}

TEST_F(BrokerIdentityTest, StolenSyncerPasswordCannotPublishZoneEventsNorWriteTheCatalog) {
  Inbox events;
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete", "zone.add.ns2",
                              "zone.delete.ns2", "zone.delete.ns1"}) {
    Listen(*checker_, subject, events);
  }
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete", "zone.add.ns2",
                              "zone.delete.ns2", "zone.delete.ns1"}) {
    Publish(*thief_, subject, EncodeZoneEvent({ZoneEventType::kDelete, "victim.example.", ""}));
    EXPECT_TRUE(BrokerRefused("Publish", subject)) << subject;
  }

  // The catalog as the provider writes it, then the thief's writes.
  distribution::CatalogOptions options;
  options.chunk_bytes = 4096;
  options.timeout = milliseconds(2000);  // a refused JetStream request ends in a timeout
  auto provider = distribution::ZoneCatalog::Open(*provider_, options);
  PDNSD_ASSERT_OK(StatusOf(provider));
  const std::string text =
      "victim.example.\t3600\tIN\tSOA\tns1.example.net. h.example.net. 7 1 1 1 1\n";
  auto version =
      distribution::BuildZoneVersion({.zone = "victim.example.",
                                      .serial = 7,
                                      .version = distribution::ZoneCatalog::NewVersionId(),
                                      .text = text},
                                     options.chunk_bytes);
  PDNSD_ASSERT_OK(StatusOf(version));
  auto revision = (*provider)->Publish(*version, 0, "");
  PDNSD_ASSERT_OK(StatusOf(revision));

  auto jetstream = JetStream::Open(*thief_, milliseconds(2000));
  PDNSD_ASSERT_OK(StatusOf(jetstream));
  EXPECT_FALSE((*jetstream)->Publish("$KV." + options.bucket + ".victim.example", "{}").ok());
  EXPECT_FALSE((*jetstream)
                   ->Publish(distribution::ChunkSubject(options.chunk_prefix, "forged", 1), "x")
                   .ok());
  EXPECT_FALSE((*jetstream)->Purge(options.stream, options.chunk_prefix + ".>").ok());
  EXPECT_FALSE((*jetstream)->Purge("KV_" + options.bucket, "$KV." + options.bucket + ".>").ok());
  EXPECT_FALSE(
      (*jetstream)
          ->EnsureStream(StreamSpec{
              .name = options.stream, .subjects = {options.chunk_prefix + ".>"}, .max_bytes = 1024})
          .ok());
  EXPECT_TRUE(BrokerRefused("Publish", "$KV." + options.bucket + ".victim.example"));
  EXPECT_TRUE(BrokerRefused("Publish", "$JS.API.STREAM.PURGE." + options.stream));

  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(events.size(), 0u) << "a forged event reached " << events.subjects().front();
  // The provider's version is intact and the thief can still read it, as any syncer must.
  auto record = (*provider)->Get("victim.example.");
  PDNSD_ASSERT_OK(StatusOf(record));
  EXPECT_EQ(record->revision, *revision);
  auto reader = distribution::ZoneCatalog::Bind(std::move(*jetstream), options);
  PDNSD_ASSERT_OK(StatusOf(reader));
  auto read = (*reader)->ReadText(record->entry);
  PDNSD_ASSERT_OK(StatusOf(read));
  EXPECT_EQ(*read, text);
}

// The syncer's own work with its identity: zone data for its ID, its state answers, its
// heartbeat, its targeted events, its claim, and the catalog followed through a watch.
TEST_F(BrokerIdentityTest, EachSyncerDoesItsOwnWork) {
  Inbox data_requests, heard, events;
  Listen(*provider_, "zonedata.*", data_requests, "zone-data");
  Listen(*checker_, "heartbeat.>", heard);
  Inbox state_requests;
  Listen(*thief_, "zonestate.ns1", state_requests, "ns1-state");
  Listen(*thief_, "zone.add.ns1", events);
  Listen(*thief_, "zone.add", events);
  Inbox claims;
  Listen(*thief_, "heartbeat-claim.pdns-secondary-syncer.ns1", claims, "mine");

  auto data = thief_->Request("zonedata.ns1", "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(data));
  EXPECT_EQ(*data, "zone-data");
  auto state = checker_->Request("zonestate.ns1", "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(state));
  EXPECT_EQ(*state, "ns1-state");
  // A second instance of ns1 asks the claim and hears the first (instance_claim.h).
  std::unique_ptr<Bus> twin = As("syncer-ns1");
  ASSERT_TRUE(twin);
  auto claim = twin->Request("heartbeat-claim.pdns-secondary-syncer.ns1", "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(claim));
  EXPECT_EQ(*claim, "mine");
  PDNSD_ASSERT_OK(checker_->Publish("zone.add.ns1", R"({"zone":"a.example."})"));
  PDNSD_ASSERT_OK(proxy_->Publish("zone.add", R"({"zone":"b.example."})"));
  Publish(*thief_, "heartbeat.pdns-secondary-syncer.ns1", EncodeHeartbeat(SyncerHeartbeat("ns1")));
  EXPECT_TRUE(WaitFor([&] { return events.size() == 2 && heard.size() == 1; }));

  distribution::CatalogOptions options;
  options.chunk_bytes = 4096;
  auto provider = distribution::ZoneCatalog::Open(*provider_, options);
  PDNSD_ASSERT_OK(StatusOf(provider));
  auto jetstream = JetStream::Open(*thief_, milliseconds(5000));
  PDNSD_ASSERT_OK(StatusOf(jetstream));
  auto reader = distribution::ZoneCatalog::Bind(std::move(*jetstream), options);
  PDNSD_ASSERT_OK(StatusOf(reader));
  auto watch = (*reader)->Watch(0);
  PDNSD_ASSERT_OK(StatusOf(watch));
  const std::string text =
      "own.example.\t3600\tIN\tSOA\tns1.example.net. h.example.net. 3 1 1 1 1\n";
  auto version =
      distribution::BuildZoneVersion({.zone = "own.example.",
                                      .serial = 3,
                                      .version = distribution::ZoneCatalog::NewVersionId(),
                                      .text = text},
                                     options.chunk_bytes);
  PDNSD_ASSERT_OK(StatusOf(version));
  PDNSD_ASSERT_OK(StatusOf((*provider)->Publish(*version, 0, "")));
  std::optional<distribution::CatalogEntry> seen;
  ASSERT_TRUE(WaitFor([&] {
    auto change = (*watch)->Next(milliseconds(200));
    if (change.ok() && change->has_value() && (*change)->entry) seen = (*change)->entry;
    return seen.has_value();
  })) << "the syncer's watch of the catalog saw nothing";
  auto read = (*reader)->ReadText(*seen);
  PDNSD_ASSERT_OK(StatusOf(read));
  EXPECT_EQ(*read, text);
  EXPECT_EQ(ReadFile(nats_.log_path()).find("Violation"), std::string::npos)
      << "the broker refused some of the syncer's own work:\n"
      << nats_.LogTail();
  watch->reset();
  reader->reset();
}

TEST_F(BrokerIdentityTest, ClientWithoutTlsOrTrustIsRefused) {
  // The right password without TLS.
  BusOptions plain = ShippedBrokerUser(nats_, "syncer-ns1", "");
  auto refused = Bus::Connect(plain, MakeTestLogger("plain"));
  EXPECT_FALSE(refused.ok() && WaitFor([&] { return (*refused)->IsConnected(); }, seconds(1)))
      << "a plain client was let in";
  if (!refused.ok()) {
    EXPECT_NE(refused.status().message().find("TLS"), std::string::npos);
  }

  // TLS, but the certificate does not name the host the client expects.
  BusOptions wrong_name = ShippedBrokerUser(nats_, "syncer-ns1", certs_.path());
  wrong_name.tls_hostname = "nats.example.net";
  auto misnamed = Bus::Connect(wrong_name, MakeTestLogger("misnamed"));
  EXPECT_FALSE(misnamed.ok() && WaitFor([&] { return (*misnamed)->IsConnected(); }, seconds(1)));

  // TLS trusting another CA: the broker is not who it says.
  TempDir other{"pdnsd-other-ca"};
  PDNSD_ASSERT_OK(MakeTestCa(other.path()));
  BusOptions distrust = ShippedBrokerUser(nats_, "syncer-ns1", certs_.path());
  distrust.tls_ca_file = other.File("ca.crt");
  auto untrusted = Bus::Connect(distrust, MakeTestLogger("untrusted"));
  EXPECT_FALSE(untrusted.ok() && WaitFor([&] { return (*untrusted)->IsConnected(); }, seconds(1)));
}

// The whole path with the broker as shipped: TLS, every service as its role, each syncer as its
// own user, the catalog in JetStream, the health-checker hearing both secondaries. Nothing the
// services do is refused.
TEST(ShippedBroker, WholePathWithTlsAndOneUserPerSecondary) {
  Cluster cluster;
  ClusterOptions options;
  options.shipped_broker = true;
  options.jetstream = true;
  options.health_checker = true;
  PDNSD_ASSERT_OK(cluster.Start(options));
  ASSERT_EQ(cluster.CreateZone("tls.example.", 1).status, 201);
  PDNSD_ASSERT_OK(cluster.WaitAllServe("tls.example.", cluster.PrimarySerial("tls.example.")));
  ASSERT_EQ(cluster.SetARecord("tls.example.", "www.tls.example.", "192.0.2.7").status, 204);
  PDNSD_ASSERT_OK(cluster.WaitAllServe("tls.example.", cluster.PrimarySerial("tls.example.")));
  EXPECT_TRUE(WaitFor([&] {
    const std::string status = cluster.CheckerStatus();
    return status.find("secondary-0") != std::string::npos &&
           status.find("secondary-1") != std::string::npos;
  })) << cluster.CheckerStatus();
  EXPECT_NE(ReadFile(cluster.nats.log_path()).find("TLS required for client connections"),
            std::string::npos);
  EXPECT_EQ(ReadFile(cluster.nats.log_path()).find("Violation"), std::string::npos)
      << cluster.nats.LogTail();
}

}  // namespace
}  // namespace pdnsd::testing
