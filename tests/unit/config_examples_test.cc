// The example files in config/ are what docs/configuration.md points operators to: they must
// load cleanly with the services' own loaders.
#include <gtest/gtest.h>

#include "services/api_proxy/config.h"
#include "services/health_checker/config.h"
#include "services/secondary_syncer/config.h"
#include "services/zone_provider/config.h"

namespace pdnsd {
namespace {

ConfigReader Load(const std::string& name) {
  auto reader = ConfigReader::Load(std::string(PDNSD_SOURCE_DIR) + "/config/" + name);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return std::move(*reader);
}

TEST(ConfigExamples, ApiProxy) {
  ConfigReader reader = Load("pdns-api-proxy.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-api-proxy");
  ApiProxyConfig config = ReadApiProxyConfig(reader);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.listen.ToString(), "127.0.0.1:30000");
  EXPECT_FALSE(config.url_said_http);
  EXPECT_EQ(config.subjects.change, "zone.modified");
  EXPECT_EQ(common.broker.username, "proxy");
}

TEST(ConfigExamples, ZoneProvider) {
  ConfigReader reader = Load("pdns-zone-provider.toml");
  ReadCommonConfig(reader, "pdns-zone-provider");
  ZoneProviderConfig config = ReadZoneProviderConfig(reader);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.primary.ToString(), "127.0.0.1:53");
  EXPECT_EQ(config.axfr_timeout.count(), 10000);
  EXPECT_EQ(config.subject, "zonedata.*");
}

TEST(ConfigExamples, SecondarySyncer) {
  ConfigReader reader = Load("pdns-secondary-syncer.toml");
  ReadCommonConfig(reader, "pdns-secondary-syncer");
  SecondarySyncerConfig config = ReadSecondarySyncerConfig(reader);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.id, DefaultSecondaryId());
  EXPECT_EQ(config.id.size(), 64u);
  EXPECT_EQ(config.axfr_address.ToString(), "127.0.0.1:20102");
  EXPECT_EQ(config.api_workers, 4);
}

TEST(ConfigExamples, HealthChecker) {
  ConfigReader reader = Load("pdns-health-checker.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-health-checker");
  HealthCheckerConfig config = ReadHealthCheckerConfig(reader);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.status_listen.ToString(), "127.0.0.1:30001");
  EXPECT_EQ(config.event_check_wait.count(), 20000);
  EXPECT_EQ(config.periodic_interval.count(), 300000);
  EXPECT_EQ(config.refresh_interval.count(), 60000);
  EXPECT_EQ(config.nsec3_interval.count(), 3600000);
  EXPECT_TRUE(config.ensure_nsec3);
  EXPECT_DOUBLE_EQ(config.mass_deletion_share, 0.5);
  EXPECT_EQ(common.ping_interval.count(), 10000);
  EXPECT_EQ(common.id.rfind("pdns-health-checker-", 0), 0u);
}

TEST(ConfigExamples, SyncerIdMustBeOneSubjectToken) {
  auto reader = ConfigReader::Parse(
      "[Service]\nID = \"a.b\"\n[PowerDNS]\nURL = \"http://[::1]:8081\"\nAXFRAddress = "
      "\"[::1]:20102\"\n",
      "id.toml");
  ASSERT_TRUE(reader.ok());
  SecondarySyncerConfig config = ReadSecondarySyncerConfig(*reader);
  EXPECT_EQ(reader->status().message(),
            "id.toml: [Service] ID: must be one NATS subject token (no '.', '*', '>' or spaces)");
  EXPECT_EQ(config.axfr_address.host, "::1");
  EXPECT_EQ(config.powerdns.url.host_port.host, "::1");
}

}  // namespace
}  // namespace pdnsd
