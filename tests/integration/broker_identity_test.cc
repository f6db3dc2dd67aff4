// A stolen secondary-syncer password against the shipped broker config (config/nats-server.conf,
// TLS on, one user per secondary; docs/security.md): every attempt to act for another secondary,
// to read others' replies, or to write zone events or the catalog is refused BY THE BROKER —
// nothing reaches a subscriber and nats-server logs the violation — while the syncer's own work
// passes. And a client without TLS, or one not trusting the broker's CA, gets no connection.
//
// Label "hostile" (tests/integration/CMakeLists.txt).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bus/bus.h"
#include "bus/jetstream.h"
#include "discovery/heartbeat.h"
#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "model/messages.h"
#include "support/cluster.h"
#include "support/hostile_report.h"
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
    victim_ = As("syncer-ns2", &victim_stray_deliveries_);
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

  std::unique_ptr<Bus> As(const std::string& user, std::atomic<int>* stray_deliveries = nullptr) {
    auto bus = Bus::Connect(ShippedBrokerUser(nats_, user, certs_.path()), MakeTestLogger(user),
                            nullptr, [stray_deliveries](const std::string&) {
                              if (stray_deliveries != nullptr) ++*stray_deliveries;
                            });
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

  // The existing connections (every role's) still connected: nothing a refused client did cut
  // them off.
  int Connected() const {
    int connected = 0;
    for (const auto* bus : {&checker_, &provider_, &proxy_, &thief_, &victim_}) {
      if (*bus && (*bus)->IsConnected()) ++connected;
    }
    return connected;
  }

  // "Refused by the broker" as nats-server logged it.
  std::string Refusal(const std::string& what, const std::string& subject) {
    return BrokerRefused(what, subject) ? "refused by the broker (" + what + " Violation logged)"
                                        : "NOT refused";
  }

  TempDir certs_{"pdnsd-broker-ca"};
  NatsServer nats_;
  std::atomic<int> victim_stray_deliveries_{0};
  std::unique_ptr<Bus> checker_, provider_, proxy_, thief_, victim_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
};

const bool kHostileReport = RegisterHostileReport("broker_identity_test");

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
  const std::vector<std::string> subjects = heard.subjects();
  const bool own_heard = std::find(subjects.begin(), subjects.end(),
                                   "heartbeat.pdns-secondary-syncer.ns1") != subjects.end();
  const std::string alive_check = "ns1's own heartbeat reached the checker";
  const std::string lost = std::to_string(subjects.size() - (own_heard ? 1 : 0)) +
                           " forged heartbeats heard, " + std::to_string(claims.size()) +
                           " claims reached ns2";
  for (const char* id : {"ns2", "fake1"}) {
    ReportHostileCase(
        {.input = std::string("ns1's password publishes a heartbeat of ") + id,
         .outcome = Refusal("Publish", std::string("heartbeat.pdns-secondary-syncer.") + id),
         .alive = own_heard,
         .alive_check = alive_check,
         .lost = lost});
  }
  ReportHostileCase({.input = "ns1's password asks ns2's start claim",
                     .outcome = Refusal("Publish", "heartbeat-claim.pdns-secondary-syncer.ns2") +
                                ", request " + (claim.ok() ? "answered" : "unanswered"),
                     .alive = own_heard,
                     .alive_check = alive_check,
                     .lost = lost});
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
  int refused = 0;
  for (const char* subject :
       {"zonestate.ns2", "zonedata.ns2", "zonedata.ns1", "zonedata.*", "zone.add.ns2", "_INBOX.>",
        "_INBOX.checker.>", "_INBOX.syncer-ns2.>", "heartbeat.>", ">"}) {
    if (BrokerRefused("Subscription", subject)) ++refused;
  }
  // Alive: the real requests went to ns2 and the provider and were answered by them.
  const bool alive = *state == "ns2-state" && *data == "zone-data";
  const std::string alive_check = "checker -> ns2 state and ns2 -> provider data answered";
  const std::string lost = std::to_string(stolen.size()) +
                           " messages heard by the thief; ns2 got " +
                           std::to_string(state_requests.size()) + " of 1 state requests";
  ReportHostileCase({.input =
                         "ns1's password subscribes to ns2's subjects, zonedata.*, _INBOX.>, > "
                         "(10 subjects)",
                     .outcome = std::to_string(refused) + " of 10 refused by the broker",
                     .alive = alive,
                     .alive_check = alive_check,
                     .lost = lost});
  ReportHostileCase({.input = "ns1's password requests zone data in ns2's name",
                     .outcome = Refusal("Publish", "zonedata.ns2"),
                     .alive = alive,
                     .alive_check = alive_check,
                     .lost = lost});
  ReportHostileCase({.input = "ns1's password answers a guessed reply subject",
                     .outcome = Refusal("Publish", "_INBOX.checker.guessed"),
                     .alive = alive,
                     .alive_check = alive_check,
                     .lost = lost});
}

// Change status (docs/architecture.md): a syncer reports only its own syncs, and cannot hear
// or answer the proxy's change-status requests (it could say a change is INSYNC everywhere).
TEST_F(BrokerIdentityTest, StolenSyncerPasswordCannotReportForAnotherSecondaryNorAnswerStatus) {
  Inbox reports;
  Listen(*checker_, "pdns-distribute.synced.*", reports);
  Inbox stolen;
  Listen(*thief_, "pdns-distribute.changes", stolen, R"({"status":"INSYNC"})");
  Inbox asked;
  Listen(*checker_, "pdns-distribute.changes", asked, R"({"status":"PENDING"})");
  const std::string report =
      R"({"zone":"victim.example.","outcome":"synced","serial":9,"read_at":"2026-12-03T12:00:00Z"})";
  Publish(*thief_, "pdns-distribute.synced.ns2", report);
  Publish(*thief_, "pdns-distribute.synced.ns1", report);  // its own: allowed
  // The proxy's request is answered by the checker alone.
  auto answer = proxy_->Request("pdns-distribute.changes", R"({"id":"1-00000000"})", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(answer));
  EXPECT_EQ(*answer, R"({"status":"PENDING"})");
  ASSERT_TRUE(WaitFor([&] { return reports.size() >= 1; }));
  EXPECT_TRUE(BrokerRefused("Publish", "pdns-distribute.synced.ns2"));
  EXPECT_TRUE(BrokerRefused("Subscription", "pdns-distribute.changes"));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(reports.subjects(), std::vector<std::string>{"pdns-distribute.synced.ns1"});
  EXPECT_EQ(stolen.size(), 0u);
  const bool alive = answer.ok() && *answer == R"({"status":"PENDING"})";
  const std::string alive_check = "the proxy's change-status request answered by the checker";
  const std::string lost = std::to_string(reports.size() - 1) + " forged reports heard, " +
                           std::to_string(stolen.size()) + " status requests heard by the thief";
  ReportHostileCase({.input = "ns1's password reports a sync of ns2",
                     .outcome = Refusal("Publish", "pdns-distribute.synced.ns2"),
                     .alive = alive,
                     .alive_check = alive_check,
                     .lost = lost});
  ReportHostileCase({.input = "ns1's password listens for change-status requests",
                     .outcome = Refusal("Subscription", "pdns-distribute.changes"),
                     .alive = alive,
                     .alive_check = alive_check,
                     .lost = lost});
}

TEST_F(BrokerIdentityTest, StolenSyncerPasswordCannotPublishZoneEventsNorWriteTheCatalog) {
  Inbox events;
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete", "zone.add.ns2",
                              "zone.delete.ns2", "zone.delete.ns1"}) {
    Listen(*checker_, subject, events);
  }
  int events_refused = 0;
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete", "zone.add.ns2",
                              "zone.delete.ns2", "zone.delete.ns1"}) {
    Publish(*thief_, subject, EncodeZoneEvent({ZoneEventType::kDelete, "victim.example.", "", ""}));
    const bool refused = BrokerRefused("Publish", subject);
    EXPECT_TRUE(refused) << subject;
    if (refused) ++events_refused;
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
  const bool writes_failed[] = {
      !(*jetstream)->Publish("$KV." + options.bucket + ".victim.example", "{}").ok(),
      !(*jetstream)
           ->Publish(distribution::ChunkSubject(options.chunk_prefix, "forged", 1), "x")
           .ok(),
      !(*jetstream)->Purge(options.stream, options.chunk_prefix + ".>").ok(),
      !(*jetstream)->Purge("KV_" + options.bucket, "$KV." + options.bucket + ".>").ok(),
      !(*jetstream)
           ->EnsureStream(StreamSpec{.name = options.stream,
                                     .subjects = {options.chunk_prefix + ".>"},
                                     .max_bytes = 1024})
           .ok()};
  for (const bool failed : writes_failed) EXPECT_TRUE(failed);
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
  const bool intact = record->revision == *revision && *read == text;
  const std::string lost = std::string(intact ? "none" : "LOST") +
                           ": victim.example. at revision " + std::to_string(record->revision) +
                           " (published " + std::to_string(*revision) + "), text " +
                           (*read == text ? "identical" : "changed") + "; " +
                           std::to_string(events.size()) + " forged events heard";
  ReportHostileCase(
      {.input = "ns1's password publishes zone.delete/add/modified events (6 subjects)",
       .outcome = std::to_string(events_refused) + " of 6 refused by the broker",
       .alive = record.ok(),
       .alive_check = "the provider reads its catalog record",
       .lost = lost});
  ReportHostileCase(
      {.input = "ns1's password writes the catalog: KV put, chunk, 2 purges, stream edit",
       .outcome =
           std::to_string(std::count(std::begin(writes_failed), std::end(writes_failed), true)) +
           " of 5 failed; " + Refusal("Publish", "$JS.API.STREAM.PURGE." + options.stream),
       .alive = record.ok(),
       .alive_check = "the provider reads its catalog record",
       .lost = lost});
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

// What a stolen syncer password can do to another syncer's catalog watch (an ordered consumer of
// the catalog's stream with a server-made random name): it cannot list the consumers to learn
// the name, cannot make consumers of any other stream, and a consumer it makes cannot deliver
// into another syncer's subjects. Even told the name, deleting the victim's consumer only
// delays it: nats.c makes the ordered consumer again and the victim sees the next version.
TEST_F(BrokerIdentityTest, StolenSyncerPasswordCannotFindNorStarveAnotherSyncersCatalogWatch) {
  distribution::CatalogOptions options;
  options.chunk_bytes = 4096;
  auto provider = distribution::ZoneCatalog::Open(*provider_, options);
  PDNSD_ASSERT_OK(StatusOf(provider));
  auto victim_jetstream = JetStream::Open(*victim_, milliseconds(5000));
  PDNSD_ASSERT_OK(StatusOf(victim_jetstream));
  auto victim_reader = distribution::ZoneCatalog::Bind(std::move(*victim_jetstream), options);
  PDNSD_ASSERT_OK(StatusOf(victim_reader));
  auto watch = (*victim_reader)->Watch(0);
  PDNSD_ASSERT_OK(StatusOf(watch));
  const auto publish = [&](const std::string& zone, uint32_t serial) {
    auto version = distribution::BuildZoneVersion(
        {.zone = zone,
         .serial = serial,
         .version = distribution::ZoneCatalog::NewVersionId(),
         .text = zone + "\t3600\tIN\tSOA\tns1.example.net. h.example.net. " +
                 std::to_string(serial) + " 1 1 1 1\n"},
        options.chunk_bytes);
    PDNSD_ASSERT_OK(StatusOf(version));
    PDNSD_ASSERT_OK(StatusOf((*provider)->Publish(*version, 0, "")));
  };
  const auto victim_sees = [&](const std::string& zone, seconds timeout) {
    return WaitFor(
        [&] {
          auto change = (*watch)->Next(milliseconds(200));
          return change.ok() && change->has_value() && (*change)->entry &&
                 (*change)->entry->zone == zone;
        },
        timeout);
  };
  publish("first.example.", 1);
  ASSERT_TRUE(victim_sees("first.example.", seconds(10)));

  const std::string kv_stream = "KV_" + options.bucket;
  auto names = provider_->Request("$JS.API.CONSUMER.NAMES." + kv_stream, "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(names));
  const nlohmann::json listed = nlohmann::json::parse(*names, nullptr, false);
  ASSERT_TRUE(listed.contains("consumers") && listed["consumers"].size() == 1u) << *names;
  const std::string victim_consumer = listed["consumers"][0].get<std::string>();

  // Listing, by names or in full, is refused.
  for (const std::string verb : {"NAMES", "LIST"}) {
    const std::string subject = "$JS.API.CONSUMER." + verb + "." + kv_stream;
    EXPECT_FALSE(thief_->Request(subject, "{}", seconds(2)).ok()) << subject;
    EXPECT_TRUE(BrokerRefused("Publish", subject)) << subject;
  }
  // The thief's request for a consumer of `stream` (pull, or push into `deliver`).
  const auto create_consumer = [&](const std::string& stream, const std::string& deliver) {
    const std::string push = deliver.empty() ? "" : R"("deliver_subject":")" + deliver + "\",";
    return thief_->Request("$JS.API.CONSUMER.CREATE." + stream,
                           R"({"stream_name":")" + stream + R"(","config":{)" + push +
                               R"("deliver_policy":"all","ack_policy":"none"}})",
                           seconds(2));
  };
  // No consumer of another stream (the chunks are read by direct get, never consumed).
  EXPECT_FALSE(create_consumer(options.stream, "").ok());
  EXPECT_TRUE(BrokerRefused("Publish", "$JS.API.CONSUMER.CREATE." + options.stream));
  // A push consumer of the catalog delivering into the victim's subjects: nats-server takes it
  // (it does not check a deliver subject against the maker's permissions) and delivers; the
  // victim's bus drops what a JetStream consumer delivered into its core subscriptions.
  Inbox victim_heard;
  Listen(*victim_, "zonestate.ns2", victim_heard);
  Listen(*victim_, "_INBOX.syncer-ns2.planted", victim_heard);
  for (const std::string deliver : {"zonestate.ns2", "_INBOX.syncer-ns2.planted"}) {
    auto created = create_consumer(kv_stream, deliver);
    PDNSD_ASSERT_OK(StatusOf(created));
    EXPECT_NE(created->find("consumer_create_response"), std::string::npos) << *created;
  }
  EXPECT_TRUE(WaitFor([&] { return victim_stray_deliveries_.load() >= 2; }))
      << victim_stray_deliveries_.load();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(victim_heard.size(), 0u)
      << "a planted consumer delivered to " << victim_heard.subjects().front();

  // Told the name, the thief deletes the victim's consumer: the victim still sees what follows.
  auto deleted = thief_->Request("$JS.API.CONSUMER.DELETE." + kv_stream + "." + victim_consumer,
                                 "{}", seconds(2));
  PDNSD_ASSERT_OK(StatusOf(deleted));
  EXPECT_NE(deleted->find("\"success\":true"), std::string::npos) << *deleted;
  publish("second.example.", 2);
  const bool caught_up = victim_sees("second.example.", seconds(30));
  EXPECT_TRUE(caught_up)
      << "the victim's watch never saw the version published after its consumer was deleted";
  const std::string alive_check =
      std::string("ns2's catalog watch sees second.example. published after the attacks: ") +
      (caught_up ? "yes" : "no");
  const std::string lost = std::string(caught_up ? "none" : "second.example.") +
                           ": the victim heard " + std::to_string(victim_heard.size()) +
                           " planted messages; its watch missed " + (caught_up ? "0" : "1") +
                           " of 2 versions";
  const std::pair<std::string, std::string> cases[] = {
      {"ns1's password lists the catalog's consumers (NAMES, LIST)", "refused by the broker, each"},
      {"ns1's password makes a consumer of the chunk stream", "refused by the broker"},
      {"ns1's password makes catalog consumers delivering into zonestate.ns2 and ns2's inbox",
       "made by the broker; " + std::to_string(victim_stray_deliveries_.load()) +
           " deliveries dropped by ns2's bus (logged once, counted), " +
           std::to_string(victim_heard.size()) + " reached a handler"},
      {"ns1's password deletes ns2's watch consumer (name told)",
       "deleted; ns2's watch made a new one"}};
  for (const auto& [input, outcome] : cases) {
    ReportHostileCase({.input = input,
                       .outcome = outcome,
                       .alive = caught_up,
                       .alive_check = alive_check,
                       .lost = lost});
  }
  watch->reset();
  victim_reader->reset();
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

  // The broker still lets the right client in, and kept everyone connected.
  const std::unique_ptr<Bus> again = As("syncer-ns1");
  const bool alive = again && again->IsConnected();
  const int connected = Connected();
  EXPECT_EQ(connected, 5);
  auto connected_text = [](const StatusOr<std::unique_ptr<Bus>>& bus) {
    if (bus.ok() && (*bus)->IsConnected()) return std::string("CONNECTED");
    // The TLS error the client library gave, without the broker's address.
    const std::string message = bus.ok() ? "" : bus.status().message();
    const size_t at = message.find("SSL handshake error: ");
    return "refused" +
           (at == std::string::npos ? "" : ": " + message.substr(at, message.find(')', at) - at));
  };
  const std::pair<std::string, std::string> cases[] = {
      {"syncer-ns1's right password without TLS", connected_text(refused)},
      {"TLS, the broker's certificate does not name the expected host", connected_text(misnamed)},
      {"TLS trusting another CA", connected_text(untrusted)}};
  for (const auto& [input, outcome] : cases) {
    ReportHostileCase(
        {.input = input,
         .outcome = outcome,
         .alive = alive,
         .alive_check = "syncer-ns1 with TLS and the test CA connects afterwards",
         .lost = std::to_string(5 - connected) + " of 5 existing connections dropped"});
  }
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
