// Proves the process fixtures in tests/support: real nats-server and pdns_server processes.
#include <gtest/gtest.h>

#include <csignal>
#include <string>

#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

constexpr const char* kCreateZone =
    R"({"name":"example.org.","kind":"Native","nameservers":["ns1.example.org."]})";

TEST(FixturesTest, FreePortNeverRepeats) {
  const uint16_t a = FreePort();
  const uint16_t b = FreePort();
  EXPECT_NE(a, 0);
  EXPECT_NE(a, b);
}

TEST(FixturesTest, TempDirIsRemoved) {
  std::string path;
  {
    TempDir dir("fixtures");
    path = dir.path();
    PDNSD_ASSERT_OK(WriteFile(dir.File("a.txt"), "hello\n"));
    EXPECT_EQ(ReadFile(dir.File("a.txt")), "hello\n");
  }
  EXPECT_EQ(ReadFile(path + "/a.txt"), "");
  int code = 0;
  RunCommand("test -e " + ShellQuote(path), &code);
  EXPECT_EQ(code, 1);
}

TEST(FixturesTest, ChildProcessStopsAndReportsExitCodes) {
  TempDir dir;
  ChildProcess sleeper;
  PDNSD_ASSERT_OK(sleeper.Start({"sleep", "60"}, dir.File("sleep.log")));
  EXPECT_TRUE(sleeper.IsRunning());
  EXPECT_EQ(sleeper.Stop(), 128 + SIGTERM);
  EXPECT_FALSE(sleeper.IsRunning());

  ChildProcess shell;
  PDNSD_ASSERT_OK(shell.Start({"sh", "-c", "echo out; echo err >&2; echo $FIXTURE_VAR; exit 3"},
                              dir.File("sh.log"), {"FIXTURE_VAR=seen"}));
  EXPECT_EQ(shell.WaitExit(), 3);
  EXPECT_NE(shell.LogSinceStart().find("out\nerr\nseen\n"), std::string::npos)
      << shell.LogSinceStart();

  ChildProcess missing;
  EXPECT_FALSE(missing.Start({"no-such-program-pdnsd"}, dir.File("x.log")).ok());
}

TEST(FixturesTest, NatsServerGreetsAndRestartsOnSamePort) {
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithJetStream()));
  EXPECT_EQ(nats.url(), "nats://127.0.0.1:" + std::to_string(nats.port()));
  auto greeting = ReadTcpGreeting(nats.address());
  PDNSD_ASSERT_OK(greeting.status());
  EXPECT_EQ(greeting->rfind("INFO ", 0), 0u) << *greeting;
  EXPECT_NE(greeting->find("\"jetstream\":true"), std::string::npos) << *greeting;

  const uint16_t port = nats.port();
  nats.Stop();
  EXPECT_FALSE(TcpPortOpen(nats.address()));
  PDNSD_ASSERT_OK(nats.Start());
  EXPECT_EQ(nats.port(), port);
  EXPECT_TRUE(ReadTcpGreeting(nats.address()).ok());
}

TEST(FixturesTest, NatsServerOnIpv6WithExtraConfig) {
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithHost("::1").WithConfig(
      R"(authorization { users = [ {user: "syncer", password: "s3cret"} ] })")));
  EXPECT_EQ(nats.url(), "nats://[::1]:" + std::to_string(nats.port()));
  auto greeting = ReadTcpGreeting(nats.address());
  PDNSD_ASSERT_OK(greeting.status());
  EXPECT_NE(greeting->find("\"auth_required\":true"), std::string::npos) << *greeting;
}

TEST(FixturesTest, NatsServerOnTakenPortFailsWithLog) {
  NatsServer first;
  PDNSD_ASSERT_OK(first.Start(NatsOptions()));
  NatsServer second;
  const Status status = second.Start(NatsOptions().WithPort(first.port()));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("address already in use"), std::string::npos)
      << status.ToString();
}

void CheckPrimaryServesZoneAcrossRestart(const std::string& host) {
  PdnsServer pdns;
  PDNSD_ASSERT_OK(pdns.Start(PdnsOptions().WithName("primary").WithHost(host)));

  const HttpResponse created = pdns.Api("POST", "/api/v1/servers/localhost/zones", kCreateZone);
  ASSERT_EQ(created.status, 201) << created.error << created.body;

  const std::string soa = DigShort(pdns.dns_address(), "example.org", "SOA");
  // PowerDNS 4.7 fills a new zone's SOA from default-soa-content, whose primary name is
  // "a.misconfigured.dns.server.invalid." (not the first NS); the rname is hostmaster.<zone>.
  EXPECT_NE(soa.find(" hostmaster.example.org. "), std::string::npos) << "dig said: " << soa;

  EXPECT_EQ(pdns.Sql("SELECT name, type FROM domains;"), "example.org|NATIVE\n");
  const CommandResult zones = pdns.RunPdnsutil({"list-all-zones"});
  EXPECT_EQ(zones.exit_code, 0) << zones.output;
  EXPECT_NE(zones.output.find("example.org"), std::string::npos) << zones.output;

  const auto dns = pdns.dns_address();
  const std::string api = pdns.api_url();
  pdns.Stop();
  EXPECT_FALSE(pdns.IsRunning());
  PDNSD_ASSERT_OK(pdns.Start());
  EXPECT_EQ(pdns.dns_address().ToString(), dns.ToString());
  EXPECT_EQ(pdns.api_url(), api);
  EXPECT_EQ(DigShort(pdns.dns_address(), "example.org", "SOA"), soa);

  pdns.Kill();
  PDNSD_ASSERT_OK(pdns.Start());
  EXPECT_EQ(DigShort(pdns.dns_address(), "example.org", "SOA"), soa);
  EXPECT_EQ(pdns.Api("GET", "/api/v1/servers/localhost/zones/example.org.").status, 200);
}

TEST(FixturesTest, PdnsPrimaryOnIpv4) { CheckPrimaryServesZoneAcrossRestart("127.0.0.1"); }

TEST(FixturesTest, PdnsPrimaryOnIpv6) { CheckPrimaryServesZoneAcrossRestart("::1"); }

TEST(FixturesTest, PdnsSecondaryStarts) {
  PdnsServer secondary;
  PDNSD_ASSERT_OK(
      secondary.Start(PdnsOptions().WithName("secondary").Secondary().WithConfig("cache-ttl=0")));
  const HttpResponse config = secondary.Api("GET", "/api/v1/servers/localhost/config");
  ASSERT_EQ(config.status, 200) << config.error;
  EXPECT_NE(config.body.find(R"({"name": "secondary", "type": "ConfigSetting", "value": "yes"})"),
            std::string::npos)
      << config.body;
}

TEST(FixturesTest, StartFailureCarriesTheLog) {
  PdnsServer broken;
  const Status status = broken.Start(PdnsOptions().WithConfig("no-such-setting=1"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no-such-setting"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace pdnsd::testing
