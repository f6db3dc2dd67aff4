#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/concurrency_limit.h"
#include "core/config.h"
#include "core/http_listener.h"
#include "core/logging.h"
#include "core/net.h"
#include "core/worker_pool.h"

namespace pdnsd {
namespace {

TEST(HostPort, ParsesIpv4Ipv6AndNames) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:53")->ToString(), "127.0.0.1:53");
  auto v6 = ParseHostPort("[::1]:20102");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 20102);
  EXPECT_EQ(v6->ToString(), "[::1]:20102");
  EXPECT_EQ(ParseHostPort("localhost", 53)->port, 53);
  EXPECT_FALSE(ParseHostPort("localhost").ok());
  EXPECT_FALSE(ParseHostPort("::1:53").ok());
  EXPECT_FALSE(ParseHostPort("[::1").ok());
  EXPECT_FALSE(ParseHostPort("host:99999").ok());
  EXPECT_FALSE(ParseHostPort("host:12x").ok());
}

TEST(Url, ParsesSchemesAndDefaults) {
  auto url = ParseHttpUrl("https://[::1]:30000/api");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host_port.host, "::1");
  EXPECT_EQ(url->path, "/api");
  EXPECT_EQ(url->Origin(), "https://[::1]:30000");
  EXPECT_EQ(ParseHttpUrl("http://127.0.0.1")->host_port.port, 80);
  EXPECT_FALSE(ParseHttpUrl("ftp://x").ok());
  EXPECT_FALSE(ParseHttpUrl("127.0.0.1:80").ok());
}

TEST(Duration, ParsesGoStyle) {
  EXPECT_EQ(ParseDuration("20s")->count(), 20000);
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400000);
  EXPECT_EQ(ParseDuration("1.5h")->count(), 5400000);
  EXPECT_EQ(ParseDuration("300ms")->count(), 300);
  EXPECT_EQ(ParseDuration("0")->count(), 0);
  EXPECT_FALSE(ParseDuration("20").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("5 minutes").ok());
  // Past Go's limit (about 292 years) llround's result is unspecified (fuzz/config_fuzz.cc
  // checks that no accepted duration is negative).
  EXPECT_EQ(ParseDuration("2562047h")->count(), int64_t{2562047} * 3600 * 1000);
  EXPECT_FALSE(ParseDuration("2562048h").ok());
  EXPECT_FALSE(ParseDuration("999999999999999999h").ok());
}

// The HTTPS listener's decision from a connection's first bytes (fuzz/tls_peek_fuzz.cc checks
// the same properties on random input).
TEST(ClassifyFirstBytes, TellsTlsFromPlainHttp) {
  const unsigned char hello[] = {0x16, 3, 1, 0, 8};  // a handshake record of 8 octets
  const unsigned char get[] = {'G', 'E', 'T', ' ', '/'};
  EXPECT_EQ(ClassifyFirstBytes(hello, 0, 0), FirstBytesVerdict::kClosed);
  EXPECT_EQ(ClassifyFirstBytes(get, 1, 1), FirstBytesVerdict::kPlainHttp);
  EXPECT_EQ(ClassifyFirstBytes(hello, 1, 1), FirstBytesVerdict::kWaitForMore);
  EXPECT_EQ(ClassifyFirstBytes(hello, 4, 4), FirstBytesVerdict::kWaitForMore);
  EXPECT_EQ(ClassifyFirstBytes(hello, 5, 12), FirstBytesVerdict::kWaitForMore);  // 1 missing
  EXPECT_EQ(ClassifyFirstBytes(hello, 5, 13), FirstBytesVerdict::kTls);
  EXPECT_EQ(ClassifyFirstBytes(hello, 5, 500), FirstBytesVerdict::kTls);
  EXPECT_EQ(ClassifyFirstBytes(hello, 5, std::nullopt),
            FirstBytesVerdict::kTls);  // FIONREAD failed
}

TEST(ConfigReader, ReportsFileSectionAndKey) {
  auto reader = ConfigReader::Parse("[PowerDNS]\nAPIWorker = \"four\"\n", "my.toml");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->Int("PowerDNS", "APIWorker", 4, 1, 10), 4);
  EXPECT_EQ(reader->status().message(), "my.toml: [PowerDNS] APIWorker: must be an integer");

  auto missing = ConfigReader::Parse("[PowerDNS]\n", "x.toml");
  missing->RequiredString("MessageBroker", "URL");
  EXPECT_EQ(missing->status().message(), "x.toml: [MessageBroker] URL: required key is missing");

  auto bad = ConfigReader::Parse("[PowerDNS\nURL=", "bad.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.toml: not valid TOML"), std::string::npos);

  EXPECT_FALSE(ConfigReader::Load("/nonexistent/config.toml").ok());
}

TEST(ConfigReader, TypedValuesAndDefaults) {
  auto reader = ConfigReader::Parse(
      "[Log]\nDEBUG = true\n[HealthChecks]\nEventCheckWaitTime = \"5s\"\n[Service]\nTags = "
      "[\"a\", \"b\"]\n",
      "ok.toml");
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE(reader->Bool("Log", "DEBUG", false));
  EXPECT_EQ(reader->Duration("HealthChecks", "EventCheckWaitTime", {}).count(), 5000);
  EXPECT_EQ(reader->StringList("Service", "Tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(reader->String("Service", "ID", "fallback"), "fallback");
  EXPECT_TRUE(reader->status().ok());
  reader->Duration("Log", "DEBUG", {});
  EXPECT_FALSE(reader->status().ok());
}

TEST(ConfigReader, EditDistanceIgnoresCase) {
  const struct {
    const char* a;
    const char* b;
    size_t distance;
  } cases[] = {{"APITokn", "APIToken", 1},
               {"HealthPingInterval", "HealthPingIntervall", 1},
               {"apitoken", "APIToken", 0},
               {"", "abc", 3},
               {"kitten", "sitting", 3}};
  for (const auto& c : cases) {
    EXPECT_EQ(EditDistance(c.a, c.b), c.distance) << c.a << " / " << c.b;
    EXPECT_EQ(EditDistance(c.b, c.a), c.distance) << c.b << " / " << c.a;
  }
}

// A typo is warned about once, naming the closest key the service knows; the service starts
// (status stays OK), as the original ignores unknown keys.
TEST(ConfigReader, UnknownKeysAreWarnedAboutWithTheClosestKnownKey) {
  auto reader = ConfigReader::Parse(
      "[PowerDNS]\n"
      "URL = \"http://127.0.0.1:8081\"\n"
      "APITokn = \"secret\"\n"  // line 3
      "[ServiceDiscovery]\n"
      "HealthPingInterval = \"1s\"\n"  // line 5
      "[HealthCheck]\n"
      "EventCheckWaitTime = \"2s\"\n"  // line 7: the section is misspelt
      "[ServiceMetaData]\n"
      "anything = \"x\"\n"  // accepted: the original's map
      "[Service]\n"
      "URL = \"http://localhost:30001\"\n"  // accepted: the original's key, unused here
      "Colour = \"blue\"\n"                 // line 12: nothing like it
      "[Nonsense]\n",                       // line 13: an empty unknown section
      "t.toml");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  reader->RequiredString("PowerDNS", "URL");
  reader->String("PowerDNS", "APIToken", "");
  reader->Duration("ServiceDiscovery", "HealthPingIntervall", {});
  reader->Duration("HealthChecks", "EventCheckWaitTime", {});
  reader->Accept("Service", "URL");
  reader->AcceptSection("ServiceMetaData");
  EXPECT_TRUE(reader->status().ok()) << reader->status().message();
  EXPECT_EQ(reader->Warnings(),
            (std::vector<std::string>{
                "t.toml:3: [PowerDNS] APITokn: not a key of this service, ignored (did you mean "
                "[PowerDNS] APIToken?)",
                "t.toml:5: [ServiceDiscovery] HealthPingInterval: not a key of this service, "
                "ignored (did you mean [ServiceDiscovery] HealthPingIntervall?)",
                "t.toml:7: [HealthCheck] EventCheckWaitTime: not a key of this service, ignored "
                "(did you mean [HealthChecks] EventCheckWaitTime?)",
                "t.toml:12: [Service] Colour: not a key of this service, ignored",
                "t.toml:13: [Nonsense]: not a section of this service, ignored"}));
}

TEST(ConfigReader, WarnRecordsAWarningBeforeTheUnknownKeys) {
  auto reader = ConfigReader::Parse("[Log]\nDEBUG = true\nColour = 2\n", "w.toml");
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE(reader->Has("Log", "DEBUG"));
  EXPECT_FALSE(reader->Has("Log", "Syslog"));
  reader->Warn("Log", "DEBUG", "is deprecated");
  EXPECT_EQ(reader->Warnings(), (std::vector<std::string>{
                                    "w.toml: [Log] DEBUG: is deprecated",
                                    "w.toml:3: [Log] Colour: not a key of this service, ignored"}));
}

// The original reads its keys through viper, which ignores case.
TEST(ConfigReader, SectionsAndKeysMatchCaseInsensitively) {
  auto reader = ConfigReader::Parse("[powerdns]\napitoken = \"t\"\nURL = \"u\"\n", "c.toml");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->String("PowerDNS", "APIToken", ""), "t");
  EXPECT_EQ(reader->RequiredString("PowerDNS", "url"), "u");
  EXPECT_TRUE(reader->Warnings().empty());
  EXPECT_TRUE(reader->status().ok());

  auto twice = ConfigReader::Parse("[PowerDNS]\nURL = \"a\"\nurl = \"b\"\n", "d.toml");
  ASSERT_TRUE(twice.ok());
  twice->String("PowerDNS", "URL", "");
  EXPECT_EQ(twice->status().message(),
            "d.toml: [PowerDNS] URL: given more than once (keys are case-insensitive, as in the "
            "original)");
}

// The original's own example files list hosts without quotes, which is not TOML.
TEST(ConfigReader, NotTomlNamesTheLineAndSaysStringsNeedQuotes) {
  auto bare = ConfigReader::Parse(
      "[Service]\nURL = \"x\"\n[Secondaries]\nHosts = [\nsec01.example.org,\n]\n", "o.toml");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.status().message().rfind(
                "o.toml: not valid TOML at line 5: sec01.example.org is not a value: strings "
                "need quotes, also in a list (\"sec01.example.org\")",
                0),
            0u)
      << bare.status().message();
  auto word = ConfigReader::Parse("[PowerDNS]\nURL = localhost\n", "w.toml");
  ASSERT_FALSE(word.ok());
  EXPECT_NE(word.status().message().find("line 2: localhost is not a value: strings need quotes"),
            std::string::npos)
      << word.status().message();
  auto other = ConfigReader::Parse("[PowerDNS\n", "x.toml");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message().find("quotes"), std::string::npos) << other.status().message();
}

TEST(ConcurrencyLimit, NeverMoreHoldersThanTheLimitAndZeroMeansNoLimit) {
  for (int limit : {1, 3}) {
    ConcurrencyLimit gate(limit);
    std::atomic<int> holders{0}, most{0}, done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          ConcurrencyLimit::Slot slot(gate);
          const int now = ++holders;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(std::chrono::microseconds(100));
          --holders;
          ++done;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_LE(most.load(), limit);
    EXPECT_EQ(done.load(), 8 * 50);
  }
  // With any limit, the second slot taken on this thread would wait forever (ctest's timeout).
  ConcurrencyLimit unlimited(0);
  ConcurrencyLimit::Slot a(unlimited), b(unlimited), c(unlimited);
}

// A task that throws is logged and the pool keeps running tasks (before, std::terminate).
TEST(WorkerPool, ATaskThatThrowsDoesNotEndThePool) {
  WorkerPool pool(1);
  std::promise<void> ran_after;
  ASSERT_TRUE(pool.Submit([] { throw std::runtime_error("a task's error"); }));
  ASSERT_TRUE(pool.Submit([] { throw 42; }));
  ASSERT_TRUE(pool.Submit([&] { ran_after.set_value(); }));
  EXPECT_EQ(ran_after.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
}

TEST(RunCatching, ReturnsWhetherTheFunctionReturned) {
  EXPECT_TRUE(RunCatching(nullptr, "test", [] {}));
  EXPECT_FALSE(RunCatching(nullptr, "test", [] { throw std::logic_error("x"); }));
}

}  // namespace
}  // namespace pdnsd
