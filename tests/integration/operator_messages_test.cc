// What an operator reads: the health-checker's /status and log when something is wrong, and
// the lines a service binary prints for broker credentials and TLS mistakes and at a normal
// stop. Real nats-server, real PowerDNS, real binaries.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/digest.h"
#include "discovery/liveness_registry.h"
#include "model/messages.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

const std::string kBinDir = PDNSD_BIN_DIR;

// A logger whose lines the test can read.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<Sink>()) {
    logger_ = std::make_shared<spdlog::logger>("health-checker", sink_);
    logger_->set_level(spdlog::level::debug);
  }
  Logger logger() const { return logger_; }
  std::string text() const { return sink_->text(); }

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string text() {
      std::lock_guard lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
      spdlog::memory_buf_t line;
      formatter_->format(message, line);
      text_.append(line.data(), line.size());
    }
    void flush_() override {}

   private:
    std::string text_;
  };
  std::shared_ptr<Sink> sink_;
  Logger logger_;
};

class CheckerStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.secondaries = 1;
    PDNSD_ASSERT_OK(cluster_.Start(options));
    ASSERT_EQ(cluster_.CreateZone(zone_, 3).status, 201);
    PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone_, cluster_.PrimarySerial(zone_)));
    auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "checker"), log_.logger());
    PDNSD_ASSERT_OK(bus.status());
    bus_ = std::move(*bus);
    config_.primary = cluster_.primary.dns_address();
    config_.status_listen = {"127.0.0.1", 0};
    config_.dns_timeout = std::chrono::milliseconds(500);
    config_.state_timeout = std::chrono::milliseconds(1000);
  }

  // A checker that is not started: the test runs its checks itself, at a wall time it sets.
  std::unique_ptr<HealthChecker> MakeChecker() {
    ServiceEnvironment environment =
        TestServiceEnvironment("health-checker", bus_.get(), cluster_.primary);
    environment.logger = log_.logger();
    environment.common.ping_interval = std::chrono::milliseconds(200);
    environment.clock = &clock_;
    registries_.push_back(environment.registry);  // outlive the checkers
    return std::make_unique<HealthChecker>(config_, environment);
  }

  // Real monotonic time and waits; a wall clock that stands still unless the test moves it.
  class StillWallClock final : public Clock {
   public:
    TimePoint Now() override { return SystemClock().Now(); }
    WallTime WallNow() override { return start_ + std::chrono::seconds(offset_seconds.load()); }
    void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                   TimePoint deadline) override {
      SystemClock().WaitUntil(cv, lock, deadline);
    }
    void SleepUntil(TimePoint deadline) override { SystemClock().SleepUntil(deadline); }

    std::atomic<int> offset_seconds{0};

   private:
    const WallTime start_ = std::chrono::system_clock::now();
  };

  static nlohmann::json Entry(const nlohmann::json& status, const std::string& id) {
    for (const auto& entry : status["secondaries"]) {
      if (entry["id"] == id) return entry;
    }
    return nullptr;
  }

  const std::string zone_ = "status.example.";
  Cluster cluster_;
  CapturedLog log_;
  std::unique_ptr<Bus> bus_;
  HealthCheckerConfig config_;
  StillWallClock clock_;
  std::vector<std::shared_ptr<prometheus::Registry>> registries_;  // one per MakeChecker()
};

TEST_F(CheckerStatusTest, ListedHostThatNeverAnsweredIsNotShownPassing) {
  const std::string silent = "ns-silent.example.net";
  // An original Go syncer: answers zone-state requests, sends no heartbeats.
  const std::string original = "ns-original.example.net";
  config_.static_secondaries = {silent, original};
  const uint32_t serial = cluster_.PrimarySerial(zone_);
  auto responder =
      bus_->Subscribe("zonestate." + Sha256Hex(original), "", [&](const BusMessage& message) {
        bus_->Respond(message, EncodeZoneStateReply({{{zone_, serial}}, ""}));
      });
  PDNSD_ASSERT_OK(responder.status());
  PDNSD_ASSERT_OK(bus_->Flush(std::chrono::seconds(5)));
  auto checker = MakeChecker();

  auto status = nlohmann::json::parse(checker->StatusJson());
  EXPECT_EQ(Entry(status, Sha256Hex(silent))["state"], "unknown") << status.dump(2);
  EXPECT_EQ(Entry(status, Sha256Hex(original))["state"], "unknown");

  checker->RunPeriodicCheck();
  status = nlohmann::json::parse(checker->StatusJson());
  const auto silent_entry = Entry(status, Sha256Hex(silent));
  EXPECT_EQ(silent_entry["state"], "critical") << status.dump(2);
  EXPECT_FALSE(silent_entry.contains("zones")) << "it never sent a state map";
  EXPECT_TRUE(silent_entry.contains("error"));
  const auto original_entry = Entry(status, Sha256Hex(original));
  EXPECT_EQ(original_entry["state"], "passing") << status.dump(2);
  EXPECT_EQ(original_entry["zones"]["in_sync"], 1);
  (*responder).reset();
}

TEST_F(CheckerStatusTest, StatusSaysHowOldTheZoneCountsAre) {
  const std::string original = "ns-original.example.net";
  config_.static_secondaries = {original};
  std::atomic<bool> answering{true};
  auto responder =
      bus_->Subscribe("zonestate." + Sha256Hex(original), "", [&](const BusMessage& message) {
        if (answering) bus_->Respond(message, EncodeZoneStateReply({{{zone_, 1}}, ""}));
      });
  PDNSD_ASSERT_OK(responder.status());
  PDNSD_ASSERT_OK(bus_->Flush(std::chrono::seconds(5)));
  auto checker = MakeChecker();
  auto status = nlohmann::json::parse(checker->StatusJson());
  EXPECT_TRUE(status["primary"]["zones_read_at"].is_null()) << "not read yet";

  checker->RunPeriodicCheck();
  status = nlohmann::json::parse(checker->StatusJson());
  EXPECT_EQ(status["primary"]["zones"], 1) << status.dump(2);
  EXPECT_TRUE(status["primary"]["zones_read_at"].is_string());
  EXPECT_EQ(status["primary"]["zones_age_seconds"], 0);
  EXPECT_EQ(Entry(status, Sha256Hex(original))["zones_age_seconds"], 0);

  // 90 s later the secondary does not answer: its counts stay, 90 s old, with the error.
  clock_.offset_seconds = 90;
  answering = false;
  checker->RunPeriodicCheck();
  status = nlohmann::json::parse(checker->StatusJson());
  const auto entry = Entry(status, Sha256Hex(original));
  EXPECT_EQ(entry["zones"]["behind"], 1) << status.dump(2);
  EXPECT_EQ(entry["zones_age_seconds"], 90);
  EXPECT_TRUE(entry.contains("error"));
  EXPECT_EQ(status["primary"]["zones_age_seconds"], 0) << "the primary was read again";
  (*responder).reset();
}

TEST_F(CheckerStatusTest, PrimaryDnsThatDoesNotAnswerIsLoggedWithTheCause) {
  // Nothing listens there: every SOA query of the check fails.
  config_.primary = {"127.0.0.1", FreePort()};
  auto checker = MakeChecker();
  checker->RunPeriodicCheck();
  const std::string log = log_.text();
  EXPECT_NE(log.find("periodic check: cannot read the primary: primary DNS " +
                     config_.primary.ToString() +
                     " did not answer for 1 of 1 zones (first: " + zone_ + ": "),
            std::string::npos)
      << log;
  auto status = nlohmann::json::parse(checker->StatusJson());
  EXPECT_NE(status["primary"]["error"].get<std::string>().find("did not answer"), std::string::npos)
      << status.dump(2);
  EXPECT_TRUE(status["primary"]["alert"].is_string());
}

// ---------------------------------------------------------------------------------------------
// The broker as a wrong config meets it: a binary (the zone-provider: it needs nothing else at
// start) against a nats-server with authorization.

class BrokerMistakesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions().WithConfig(
        "authorization {\n  users = [ {user: provider, password: right} ]\n}")));
  }

  std::string Config(const std::string& password, std::vector<ConfigKey> extra = {}) const {
    const std::string path = dir_.File("provider-" + std::to_string(files_++) + ".toml");
    ServiceConfigParameters parameters;
    parameters.nats_url = nats_.url();
    parameters.nats_username = "provider";
    parameters.nats_password = password;
    parameters.powerdns_url = "http://127.0.0.1:1";
    parameters.powerdns_api_key = "k";
    parameters.extra = std::move(extra);
    auto config = RenderServiceConfig("pdns-zone-provider", parameters);
    EXPECT_TRUE(config.ok() && WriteFile(path, *config).ok());
    return path;
  }
  // Runs the provider to its end (it must end by itself); exit code and output.
  std::pair<int, std::string> RunToExit(const std::string& config) const {
    int code = -1;
    std::string output = RunCommand(
        "timeout 30 " + kBinDir + "/pdns-zone-provider --config " + ShellQuote(config) + " 2>&1",
        &code);
    return {code, output};
  }

  TempDir dir_;
  mutable int files_ = 0;
  NatsServer nats_;
};

size_t CountOf(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST_F(BrokerMistakesTest, WrongPasswordStopsTheServiceAtStartWithOneLineEveryTime) {
  const std::string config = Config("wrong");
  for (int run = 0; run < 5; ++run) {
    auto [code, output] = RunToExit(config);
    EXPECT_EQ(code, 1) << "run " << run << ":\n" << output;
    EXPECT_EQ(CountOf(output, " critical: "), 1u) << output;
    EXPECT_NE(output.find("authentication failed at the message broker " + nats_.url() +
                          " as user \"provider\""),
              std::string::npos)
        << output;
    EXPECT_EQ(output.find("not reachable"), std::string::npos) << output;
  }
}

TEST_F(BrokerMistakesTest, TlsAskedForAgainstAPlainServerSaysSo) {
  auto [code, output] = RunToExit(Config("right", {{"MessageBroker", "TLS", "true"}}));
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("TLS asked for"), std::string::npos) << output;
  EXPECT_NE(output.find("does not offer TLS"), std::string::npos) << output;
}

TEST_F(BrokerMistakesTest, LaterAuthenticationFailureIsLoggedAsSuchAndSigtermStopsQuietly) {
  ChildProcess provider;
  PDNSD_ASSERT_OK(provider.Start({kBinDir + "/pdns-zone-provider", "--config", Config("right")},
                                 dir_.File("provider.log")));
  ASSERT_TRUE(WaitFor([&] {
    return provider.LogSinceStart().find("serving zone data") != std::string::npos;
  })) << provider.LogTail();

  // A normal stop: no warning about a lost broker connection.
  provider.Signal(SIGTERM);
  ASSERT_EQ(provider.WaitExit(std::chrono::seconds(10)), std::optional<int>(0));
  std::string log = provider.LogSinceStart();
  EXPECT_NE(log.find("stopping"), std::string::npos) << log;
  EXPECT_EQ(log.find("disconnected from the message broker"), std::string::npos) << log;

  // The broker's password changes while the service runs (config reload).
  PDNSD_ASSERT_OK(provider.Start({kBinDir + "/pdns-zone-provider", "--config", Config("right")},
                                 dir_.File("provider.log")));
  ASSERT_TRUE(WaitFor([&] {
    return provider.LogSinceStart().find("serving zone data") != std::string::npos;
  })) << provider.LogTail();
  std::string nats_config = ReadFile(nats_.config_path());
  const size_t at = nats_config.find("password: right");
  ASSERT_NE(at, std::string::npos) << nats_config;
  nats_config.replace(at, 15, "password: other");
  PDNSD_ASSERT_OK(WriteFile(nats_.config_path(), nats_config));
  nats_.process().Signal(SIGHUP);
  EXPECT_TRUE(WaitFor([&] {
    return provider.LogSinceStart().find(" error: authentication failed at the message broker " +
                                         nats_.url() + " as user \"provider\"") !=
           std::string::npos;
  })) << provider.LogSinceStart();
  provider.Stop();
}

}  // namespace
}  // namespace pdnsd::testing
