// Heartbeats (codec and sender against a real nats-server) and the liveness registry with a
// fake clock (docs/architecture.md, "Liveness").
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/digest.h"
#include "core/logging.h"
#include "discovery/heartbeat.h"
#include "discovery/liveness_registry.h"
#include "support/processes.h"
#include "support/simulated_clock.h"

namespace pdnsd {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr char kSyncer[] = "pdns-secondary-syncer";

Heartbeat SampleHeartbeat() {
  Heartbeat heartbeat;
  heartbeat.id = "sec-1";
  heartbeat.service = kSyncer;
  heartbeat.version = "1.2.3";
  heartbeat.tags = {"syncer", "dc1"};
  heartbeat.host = "ns1.example.net";
  heartbeat.load1 = 0.75;
  heartbeat.boot_id = "0123456789abcdef0123456789abcdef";
  heartbeat.sent_at = "2024-05-01T12:00:00.000000Z";
  return heartbeat;
}

void ExpectInvalid(const std::string& json, const std::string& why) {
  auto decoded = DecodeHeartbeat(json);
  ASSERT_FALSE(decoded.ok()) << why << ": " << json;
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << why << ": " << json;
}

// ---------------------------------------------------------------------------------------------
// Codec

TEST(HeartbeatCodec, RoundTrip) {
  const Heartbeat sent = SampleHeartbeat();
  auto decoded = DecodeHeartbeat(EncodeHeartbeat(sent));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->id, sent.id);
  EXPECT_EQ(decoded->service, sent.service);
  EXPECT_EQ(decoded->version, sent.version);
  EXPECT_EQ(decoded->tags, sent.tags);
  EXPECT_EQ(decoded->host, sent.host);
  EXPECT_DOUBLE_EQ(decoded->load1, sent.load1);
  EXPECT_EQ(decoded->boot_id, sent.boot_id);
  EXPECT_EQ(decoded->sent_at, sent.sent_at);
}

TEST(HeartbeatCodec, EncodeFillsAnEmptySentAt) {
  Heartbeat heartbeat = SampleHeartbeat();
  heartbeat.sent_at.clear();
  auto decoded = DecodeHeartbeat(EncodeHeartbeat(heartbeat));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_FALSE(decoded->sent_at.empty());
  EXPECT_EQ(decoded->sent_at.back(), 'Z');
}

TEST(HeartbeatCodec, EncodeReplacesInvalidUtf8) {
  Heartbeat heartbeat = SampleHeartbeat();
  heartbeat.host = "bad\xff";
  auto decoded = DecodeHeartbeat(EncodeHeartbeat(heartbeat));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->host.rfind("bad", 0), 0u);
}

TEST(HeartbeatCodec, MinimalBodyDecodesWithDefaults) {
  auto decoded = DecodeHeartbeat(R"({"id":"a","service":"s","boot_id":"b"})");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->load1, 0);
  EXPECT_TRUE(decoded->tags.empty());
  EXPECT_TRUE(decoded->version.empty());
}

TEST(HeartbeatCodec, RejectsMalformedJson) {
  ExpectInvalid("", "empty");
  ExpectInvalid("{", "truncated");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b",})", "trailing comma");
  ExpectInvalid(R"(["id","a"])", "not an object");
  ExpectInvalid("42", "not an object");
}

TEST(HeartbeatCodec, RejectsMissingRequiredFields) {
  ExpectInvalid(R"({"service":"s","boot_id":"b"})", "no id");
  ExpectInvalid(R"({"id":"a","boot_id":"b"})", "no service");
  ExpectInvalid(R"({"id":"a","service":"s"})", "no boot_id");
  ExpectInvalid(R"({"id":null,"service":"s","boot_id":"b"})", "null id");
  ExpectInvalid(R"({"id":"a","service":"","boot_id":"b"})", "empty service");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":""})", "empty boot_id");
}

TEST(HeartbeatCodec, RejectsWrongTypes) {
  ExpectInvalid(R"({"id":7,"service":"s","boot_id":"b"})", "id is a number");
  ExpectInvalid(R"({"id":"a","service":["s"],"boot_id":"b"})", "service is an array");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","load1":"0.5"})", "load as string");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","tags":"x"})", "tags a string");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","tags":{"x":1}})", "tags an object");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","tags":["x",1]})", "a numeric tag");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","version":1})", "version a number");
}

TEST(HeartbeatCodec, RejectsNegativeOrNonFiniteLoad) {
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","load1":-0.5})", "negative load");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","load1":NaN})", "NaN literal");
  ExpectInvalid(R"({"id":"a","service":"s","boot_id":"b","load1":1e999})", "overflowing load");
  Heartbeat heartbeat = SampleHeartbeat();
  heartbeat.load1 = std::numeric_limits<double>::quiet_NaN();
  ExpectInvalid(EncodeHeartbeat(heartbeat), "encoded NaN");
  heartbeat.load1 = -1;
  ExpectInvalid(EncodeHeartbeat(heartbeat), "encoded negative");
  heartbeat.load1 = 0;
  EXPECT_TRUE(DecodeHeartbeat(EncodeHeartbeat(heartbeat)).ok());
}

TEST(HeartbeatCodec, RejectsIdThatIsNotOneSubjectToken) {
  ExpectInvalid(R"({"id":"a.b","service":"s","boot_id":"b"})", "dot");
  ExpectInvalid(R"({"id":"*","service":"s","boot_id":"b"})", "star");
  ExpectInvalid(R"({"id":">","service":"s","boot_id":"b"})", "gt");
  ExpectInvalid(R"({"id":"a b","service":"s","boot_id":"b"})", "space");
  ExpectInvalid(R"({"id":"","service":"s","boot_id":"b"})", "empty");
  Heartbeat heartbeat = SampleHeartbeat();
  heartbeat.id = "host.example.net";
  ExpectInvalid(EncodeHeartbeat(heartbeat), "encoded dotted id");
}

TEST(HeartbeatHelpers, NewBootIdIsRandomHex) {
  const std::string a = NewBootId();
  const std::string b = NewBootId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST(HeartbeatHelpers, HostLoadAverageIsFiniteAndNotNegative) {
  const double load = HostLoadAverage();
  EXPECT_TRUE(std::isfinite(load));
  EXPECT_GE(load, 0);
}

TEST(Sha256Hex, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Hasher, PiecesGiveTheDigestOfTheWhole) {
  const std::string text = "example.org.\t3600\tIN\tSOA\tns1. admin. 1 2 3 4 5\nwww A 192.0.2.1\n";
  for (size_t cut = 0; cut <= text.size(); cut += 7) {
    Sha256Hasher hasher;
    hasher.Update(std::string_view(text).substr(0, cut));
    hasher.Update(std::string_view(text).substr(cut));
    EXPECT_EQ(hasher.FinishHex(), Sha256Hex(text)) << cut;
  }
  Sha256Hasher empty;
  EXPECT_EQ(empty.FinishHex(), Sha256Hex(""));
  EXPECT_EQ(empty.FinishHex(), "");  // spent
}

// ---------------------------------------------------------------------------------------------
// LivenessRegistry with a fake clock

class LivenessRegistryTest : public ::testing::Test {
 protected:
  static constexpr milliseconds kInterval{200};

  LivenessRegistryTest() : registry_(kInterval, clock_) {}

  void Advance(steady_clock::duration by) { clock_.Advance(by); }

  static Heartbeat Beat(const std::string& id, double load = 0.5,
                        const std::string& boot = "boot-1", const std::string& service = kSyncer) {
    Heartbeat heartbeat;
    heartbeat.id = id;
    heartbeat.service = service;
    heartbeat.boot_id = boot;
    heartbeat.load1 = load;
    heartbeat.host = id + ".example.net";
    return heartbeat;
  }

  static std::vector<std::string> Ids(const std::vector<ServiceRecord>& records) {
    std::vector<std::string> ids;
    for (const auto& record : records) ids.push_back(record.last.id);
    return ids;
  }

  testing::SimulatedClock clock_;
  LivenessRegistry registry_;
};

TEST(Liveness, Names) {
  EXPECT_STREQ(LivenessName(Liveness::kPassing), "passing");
  EXPECT_STREQ(LivenessName(Liveness::kWarning), "warning");
  EXPECT_STREQ(LivenessName(Liveness::kCritical), "critical");
  EXPECT_STREQ(LivenessName(Liveness::kDeregistered), "deregistered");
}

TEST_F(LivenessRegistryTest, PassingAfterABeat) {
  EXPECT_FALSE(registry_.StateOf("sec-1").has_value());
  EXPECT_EQ(registry_.Observe(Beat("sec-1")), LivenessRegistry::Change::kNew);
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kPassing);
  auto snapshot = registry_.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].last.id, "sec-1");
  EXPECT_EQ(snapshot[0].last.host, "sec-1.example.net");
  EXPECT_EQ(snapshot[0].state, Liveness::kPassing);
  EXPECT_EQ(snapshot[0].last_seen, clock_.Now());
  EXPECT_NE(snapshot[0].last_seen_wall, std::chrono::system_clock::time_point{});
  EXPECT_EQ(snapshot[0].last_seen_wall, clock_.WallNow());
  EXPECT_TRUE(snapshot[0].ever_heard);
  EXPECT_FALSE(snapshot[0].static_host);
  EXPECT_EQ(Ids(registry_.ActiveSecondaries()), std::vector<std::string>{"sec-1"});
}

TEST_F(LivenessRegistryTest, WarningWhenLoadAboveTen) {
  registry_.Observe(Beat("sec-1", 10.0));
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kPassing) << "exactly 10 is passing";
  EXPECT_EQ(registry_.Observe(Beat("sec-1", 10.01)), LivenessRegistry::Change::kKnown);
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kWarning);
  auto active = registry_.ActiveSecondaries();
  ASSERT_EQ(active.size(), 1u) << "warning counts as active";
  EXPECT_EQ(active[0].state, Liveness::kWarning);
  registry_.Observe(Beat("sec-1", 3));
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kPassing);
}

TEST_F(LivenessRegistryTest, CriticalAfterThreeIntervalsWithoutBeat) {
  registry_.Observe(Beat("sec-1", 20));  // warning, but silence wins
  Advance(3 * kInterval);
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kWarning) << "not before 3 intervals";
  Advance(milliseconds(1));
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kCritical);
  EXPECT_TRUE(registry_.ActiveSecondaries().empty());
  auto snapshot = registry_.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].state, Liveness::kCritical);

  EXPECT_EQ(registry_.Observe(Beat("sec-1")), LivenessRegistry::Change::kKnown);
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kPassing);
  EXPECT_EQ(registry_.ActiveSecondaries().size(), 1u);
}

TEST_F(LivenessRegistryTest, DeregisteredAfterTenIntervals) {
  registry_.Observe(Beat("sec-1"));
  Advance(10 * kInterval);
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kCritical);
  EXPECT_EQ(registry_.Snapshot().size(), 1u);
  Advance(milliseconds(1));
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kDeregistered);
  EXPECT_TRUE(registry_.ActiveSecondaries().empty());
  EXPECT_TRUE(registry_.Snapshot().empty());
  EXPECT_FALSE(registry_.StateOf("sec-1").has_value()) << "forgotten after the snapshot";
  EXPECT_EQ(registry_.Observe(Beat("sec-1")), LivenessRegistry::Change::kNew);
  EXPECT_EQ(registry_.StateOf("sec-1"), Liveness::kPassing);
}

TEST_F(LivenessRegistryTest, ADeregisteredServiceIsListedAsDepartedForAnHour) {
  registry_.Observe(Beat("sec-1"));
  registry_.Observe(Beat("sec-2"));
  EXPECT_TRUE(registry_.Departed().empty());
  Advance(5 * kInterval);
  registry_.Observe(Beat("sec-2"));
  Advance(5 * kInterval + milliseconds(1));
  EXPECT_TRUE(registry_.Departed().empty()) << "listed once a snapshot dropped it";
  EXPECT_EQ(Ids(registry_.Snapshot()), std::vector<std::string>{"sec-2"});
  auto departed = registry_.Departed();
  ASSERT_EQ(Ids(departed), std::vector<std::string>{"sec-1"});
  EXPECT_EQ(departed[0].state, Liveness::kDeregistered);
  EXPECT_EQ(departed[0].last.host, "sec-1.example.net");
  EXPECT_EQ(departed[0].last_seen_wall + 10 * kInterval + milliseconds(1), clock_.WallNow());

  // Back: no longer departed.
  registry_.Observe(Beat("sec-1"));
  EXPECT_TRUE(registry_.Departed().empty());
  // Gone for good: listed for kDepartedRetention after it was forgotten, then not at all.
  Advance(10 * kInterval + milliseconds(1));
  registry_.Snapshot();
  ASSERT_EQ(Ids(registry_.Departed()), (std::vector<std::string>{"sec-1", "sec-2"}));
  Advance(kDepartedRetention - milliseconds(1));  // forgotten exactly an hour ago
  EXPECT_EQ(Ids(registry_.Departed()), std::vector<std::string>{"sec-1"})
      << "sec-2 went silent 5 intervals before sec-1";
  Advance(milliseconds(1));
  EXPECT_TRUE(registry_.Departed().empty());
}

TEST_F(LivenessRegistryTest, BeatAfterDeregistrationIsNewEvenWithoutSnapshot) {
  registry_.Observe(Beat("sec-1"));
  Advance(10 * kInterval + milliseconds(1));
  EXPECT_EQ(registry_.Observe(Beat("sec-1")), LivenessRegistry::Change::kNew);
}

TEST_F(LivenessRegistryTest, RestartedOnNewBootId) {
  EXPECT_EQ(registry_.Observe(Beat("sec-1", 1, "boot-1")), LivenessRegistry::Change::kNew);
  EXPECT_EQ(registry_.Observe(Beat("sec-1", 1, "boot-1")), LivenessRegistry::Change::kKnown);
  EXPECT_EQ(registry_.Observe(Beat("sec-1", 1, "boot-2")), LivenessRegistry::Change::kRestarted);
  EXPECT_EQ(registry_.Observe(Beat("sec-1", 1, "boot-2")), LivenessRegistry::Change::kKnown);
  Advance(5 * kInterval);  // critical, then back with a new boot id
  EXPECT_EQ(registry_.Observe(Beat("sec-1", 1, "boot-3")), LivenessRegistry::Change::kRestarted);
}

TEST_F(LivenessRegistryTest, ActiveSecondariesAreOnlyLiveSyncers) {
  registry_.Observe(Beat("c-silent"));
  Advance(4 * kInterval);
  registry_.Observe(Beat("b-busy", 42));
  registry_.Observe(Beat("a-idle", 0.1));
  registry_.Observe(Beat("provider", 0.1, "boot-1", "pdns-zone-provider"));
  registry_.Observe(Beat("checker", 0.1, "boot-1", "pdns-health-checker"));
  auto active = registry_.ActiveSecondaries();
  EXPECT_EQ(Ids(active), (std::vector<std::string>{"a-idle", "b-busy"}));
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].state, Liveness::kPassing);
  EXPECT_EQ(active[1].state, Liveness::kWarning);
  EXPECT_EQ(registry_.Snapshot().size(), 5u);
  EXPECT_EQ(registry_.StateOf("c-silent"), Liveness::kCritical);
}

TEST_F(LivenessRegistryTest, StaticSecondaryIsAlwaysActive) {
  registry_.AddStaticSecondary("ns1.example.net");
  const std::string id = Sha256Hex("ns1.example.net");
  auto active = registry_.ActiveSecondaries();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].last.id, id);
  EXPECT_EQ(active[0].last.host, "ns1.example.net");
  EXPECT_TRUE(active[0].static_host);
  EXPECT_FALSE(active[0].ever_heard);
  EXPECT_EQ(registry_.StateOf(id), Liveness::kPassing);

  Advance(100 * kInterval);
  EXPECT_EQ(Ids(registry_.ActiveSecondaries()), std::vector<std::string>{id});
  auto snapshot = registry_.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_TRUE(snapshot[0].static_host);
  EXPECT_FALSE(snapshot[0].ever_heard);

  registry_.AddStaticSecondary("ns1.example.net");  // twice is once
  EXPECT_EQ(registry_.Snapshot().size(), 1u);
}

TEST_F(LivenessRegistryTest, StaticSecondaryThatSendsHeartbeats) {
  registry_.AddStaticSecondary("ns1.example.net");
  registry_.AddStaticSecondary("ns2.example.net");
  const std::string id = Sha256Hex("ns1.example.net");
  EXPECT_EQ(registry_.Observe(Beat(id)), LivenessRegistry::Change::kNew) << "first heard";
  EXPECT_EQ(registry_.Observe(Beat(id)), LivenessRegistry::Change::kKnown);

  auto find = [&](const std::vector<ServiceRecord>& records) -> const ServiceRecord* {
    for (const auto& record : records) {
      if (record.last.id == id) return &record;
    }
    return nullptr;
  };
  auto active = registry_.ActiveSecondaries();
  EXPECT_EQ(active.size(), 2u);
  const ServiceRecord* record = find(active);
  ASSERT_NE(record, nullptr);
  EXPECT_TRUE(record->ever_heard);
  EXPECT_TRUE(record->static_host);
  EXPECT_EQ(record->state, Liveness::kPassing);

  registry_.AddStaticSecondary("ns1.example.net");  // re-adding keeps what was heard
  active = registry_.ActiveSecondaries();
  ASSERT_NE(find(active), nullptr);
  EXPECT_TRUE(find(active)->ever_heard);

  // Silent for long: shown as critical, but a configured host stays active and known.
  Advance(11 * kInterval);
  EXPECT_EQ(registry_.StateOf(id), Liveness::kCritical);
  active = registry_.ActiveSecondaries();
  EXPECT_EQ(active.size(), 2u);
  ASSERT_NE(find(active), nullptr);
  EXPECT_EQ(find(active)->state, Liveness::kCritical);
  auto snapshot = registry_.Snapshot();
  EXPECT_EQ(snapshot.size(), 2u);
  ASSERT_NE(find(snapshot), nullptr);
  EXPECT_TRUE(find(snapshot)->static_host);
}

// ---------------------------------------------------------------------------------------------
// HeartbeatSender against a real nats-server (tests/support/processes.h).

// Heartbeats received on "heartbeat.>".
class Received {
 public:
  void Add(const BusMessage& message) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      messages_.push_back(message);
    }
    cv_.notify_all();
  }
  bool WaitForCount(size_t count, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
  }
  std::vector<BusMessage> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<BusMessage> messages_;
};

class HeartbeatSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Status started = nats_.Start(testing::NatsOptions());
    ASSERT_TRUE(started.ok()) << started.ToString();
    publisher_ = Connect("heartbeat-sender");
    subscriber_ = Connect("heartbeat-listener");
    ASSERT_TRUE(publisher_ && subscriber_);
    auto subscription = subscriber_->Subscribe(
        "heartbeat.>", "", [this](const BusMessage& message) { received_.Add(message); });
    ASSERT_TRUE(subscription.ok()) << subscription.status().ToString();
    subscription_ = std::move(*subscription);
    // The subscription is known to the broker before anything is published.
    ASSERT_TRUE(subscriber_->Flush(std::chrono::seconds(5)).ok());
  }

  void TearDown() override {
    subscription_.reset();
    subscriber_.reset();
    publisher_.reset();
  }

  std::unique_ptr<Bus> Connect(const std::string& name) {
    BusOptions options;
    options.url = nats_.url();
    options.name = name;
    options.reconnect_wait = milliseconds(100);
    auto bus = Bus::Connect(options, MakeTestLogger(name));
    if (!bus.ok()) {
      ADD_FAILURE() << bus.status().ToString();
      return nullptr;
    }
    const auto deadline = steady_clock::now() + std::chrono::seconds(20);
    while (!(*bus)->IsConnected()) {
      if (steady_clock::now() >= deadline) {
        ADD_FAILURE() << name << " did not connect to " << nats_.url();
        return nullptr;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    return std::move(*bus);
  }

  testing::NatsServer nats_;
  std::unique_ptr<Bus> publisher_;
  std::unique_ptr<Bus> subscriber_;
  Received received_;  // outlives subscription_, whose handler writes to it
  std::unique_ptr<Subscription> subscription_;
};

TEST(HeartbeatSenderSubject, IsPrefixServiceId) {
  HeartbeatSender sender(nullptr, "heartbeat", SampleHeartbeat(), milliseconds(100),
                         MakeTestLogger("subject"));
  EXPECT_EQ(sender.subject(), "heartbeat.pdns-secondary-syncer.sec-1");
}

TEST_F(HeartbeatSenderTest, PublishesEveryIntervalAndStopsPromptly) {
  std::atomic<int> loads{0};
  const Heartbeat heartbeat = SampleHeartbeat();
  HeartbeatSender sender(publisher_.get(), "heartbeat", heartbeat, milliseconds(100),
                         MakeTestLogger("sender"), [&loads] { return 1.5 * ++loads; });
  sender.Start();
  ASSERT_TRUE(received_.WaitForCount(3, std::chrono::seconds(10)));

  const auto messages = received_.messages();
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE("beat " + std::to_string(i));
    EXPECT_EQ(messages[i].subject, "heartbeat.pdns-secondary-syncer.sec-1");
    auto decoded = DecodeHeartbeat(messages[i].data);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->id, heartbeat.id);
    EXPECT_EQ(decoded->service, heartbeat.service);
    EXPECT_EQ(decoded->version, heartbeat.version);
    EXPECT_EQ(decoded->tags, heartbeat.tags);
    EXPECT_EQ(decoded->host, heartbeat.host);
    EXPECT_EQ(decoded->boot_id, heartbeat.boot_id);
    EXPECT_DOUBLE_EQ(decoded->load1, 1.5 * static_cast<double>(i + 1)) << "a fresh load per beat";
    EXPECT_NE(decoded->sent_at, heartbeat.sent_at) << "a fresh time per beat";
    EXPECT_EQ(decoded->sent_at.back(), 'Z');
  }

  const auto stop_begin = steady_clock::now();
  sender.Stop();
  EXPECT_LT(steady_clock::now() - stop_begin, milliseconds(2000));
  ASSERT_TRUE(publisher_->Flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(subscriber_->Flush(std::chrono::seconds(5)).ok());
  const size_t after_stop = received_.messages().size();
  const int loads_after_stop = loads.load();
  std::this_thread::sleep_for(milliseconds(350));  // more than three intervals
  ASSERT_TRUE(subscriber_->Flush(std::chrono::seconds(5)).ok());
  EXPECT_EQ(received_.messages().size(), after_stop) << "a beat after Stop()";
  EXPECT_EQ(loads.load(), loads_after_stop);
}

TEST_F(HeartbeatSenderTest, FirstBeatAtOnceAndStopInterruptsTheWait) {
  HeartbeatSender sender(publisher_.get(), "heartbeat", SampleHeartbeat(), std::chrono::hours(1),
                         MakeTestLogger("sender"), [] { return 0.25; });
  sender.Start();
  sender.Start();  // a second Start() while running changes nothing
  ASSERT_TRUE(received_.WaitForCount(1, std::chrono::seconds(10))) << "no beat at once";
  const auto stop_begin = steady_clock::now();
  sender.Stop();
  EXPECT_LT(steady_clock::now() - stop_begin, milliseconds(2000));
  sender.Stop();  // idempotent
  ASSERT_TRUE(subscriber_->Flush(std::chrono::seconds(5)).ok());
  EXPECT_EQ(received_.messages().size(), 1u);

  // Started again, it beats again at once.
  sender.Start();
  EXPECT_TRUE(received_.WaitForCount(2, std::chrono::seconds(10)));
}

TEST_F(HeartbeatSenderTest, PublishErrorsDoNotStopTheLoop) {
  Heartbeat too_big = SampleHeartbeat();
  too_big.version.assign((1 << 20) + 1024, 'v');  // over the broker's 1 MiB max_payload
  ASSERT_FALSE(publisher_->Publish("heartbeat.x.y", EncodeHeartbeat(too_big)).ok())
      << "the oversized publish was expected to fail";
  std::atomic<int> loads{0};
  HeartbeatSender sender(publisher_.get(), "heartbeat", too_big, milliseconds(20),
                         MakeTestLogger("sender"), [&loads] { return ++loads * 1.0; });
  sender.Start();
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (loads.load() < 4 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  sender.Stop();
  EXPECT_GE(loads.load(), 4) << "the loop went on after failed publishes";
  EXPECT_TRUE(received_.messages().empty());
}

}  // namespace
}  // namespace pdnsd
