#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/concurrency_limit.h"
#include "core/config.h"
#include "core/net.h"

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

}  // namespace
}  // namespace pdnsd
