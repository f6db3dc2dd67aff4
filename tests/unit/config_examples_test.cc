// The example files in config/ are what docs/configuration.md points operators to: they must
// load cleanly with the services' own loaders.
#include <gtest/gtest.h>

#include "model/subjects.h"
#include "services/api_proxy/config.h"
#include "services/health_checker/config.h"
#include "services/secondary_syncer/config.h"
#include "services/zone_provider/config.h"
#include "support/original_configs.h"

namespace pdnsd {
namespace {

using testing::ReplaceOnce;

ConfigReader Load(const std::string& name) {
  auto reader = ConfigReader::Load(std::string(PDNSD_SOURCE_DIR) + "/config/" + name);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return std::move(*reader);
}

ConfigReader Parse(const std::string& text, const std::string& origin = "t.toml") {
  auto reader = ConfigReader::Parse(text, origin);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return std::move(*reader);
}

// The common config with only [PowerDNS] read: for texts that carry one service's keys only.
CommonConfig CommonPowerDns(ConfigReader& reader) {
  CommonConfig common;
  common.powerdns = ReadPdnsApiOptions(reader);
  return common;
}

// Every key of an example file is one the service knows.
#define EXPECT_NO_WARNINGS(reader) \
  EXPECT_EQ((reader).Warnings(), std::vector<std::string>{}) << "unknown keys"

TEST(ConfigExamples, ApiProxy) {
  ConfigReader reader = Load("pdns-api-proxy.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-api-proxy");
  ApiProxyConfig config = ReadApiProxyConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.listen.ToString(), "127.0.0.1:30000");
  EXPECT_FALSE(config.url_said_http);
  EXPECT_EQ(common.subjects.change, "zone.modified");
  EXPECT_EQ(common.broker.username, "proxy");
  EXPECT_EQ(common.prometheus_address, "127.0.0.1:9502") << "the original's port";
  EXPECT_NO_WARNINGS(reader);
}

TEST(ConfigExamples, ZoneProvider) {
  ConfigReader reader = Load("pdns-zone-provider.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-zone-provider");
  ZoneProviderConfig config = ReadZoneProviderConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.primary.ToString(), "127.0.0.1:53");
  EXPECT_EQ(config.axfr_timeout.count(), 10000);
  EXPECT_EQ(config.subject, "zonedata.*");
  EXPECT_EQ(common.prometheus_address, "127.0.0.1:9500") << "the original's port";
  EXPECT_NO_WARNINGS(reader);
}

TEST(ConfigExamples, SecondarySyncer) {
  ConfigReader reader = Load("pdns-secondary-syncer.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-secondary-syncer");
  SecondarySyncerConfig config = ReadSecondarySyncerConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  // One NATS user per secondary, named after its ID, its replies on an inbox of its own, TLS
  // (config/nats-server.conf; docs/security.md).
  EXPECT_EQ(common.id, "ns1");
  EXPECT_EQ(common.broker.username, "syncer-ns1");
  EXPECT_EQ(common.broker.inbox_prefix, "_INBOX.syncer-ns1");
  EXPECT_EQ(common.broker.url.rfind("tls://", 0), 0u);
  EXPECT_FALSE(common.broker.tls_ca_file.empty());
  EXPECT_EQ(config.axfr_address.ToString(), "127.0.0.1:20102");
  EXPECT_EQ(config.api_workers, 4);
  EXPECT_EQ(config.zone_data_prefix, "zonedata.");
  EXPECT_EQ(config.zone_state_prefix, "zonestate.");
  EXPECT_EQ(common.prometheus_address, "127.0.0.1:9503") << "the original's port";
  EXPECT_NO_WARNINGS(reader);
}

TEST(ConfigExamples, HealthChecker) {
  ConfigReader reader = Load("pdns-health-checker.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-health-checker");
  HealthCheckerConfig config = ReadHealthCheckerConfig(reader, common);
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
  EXPECT_EQ(config.primary.ToString(), "127.0.0.1:53");
  EXPECT_EQ(config.zone_state_prefix, "zonestate.");
  EXPECT_EQ(common.prometheus_address, "127.0.0.1:9501") << "the original's port";
  EXPECT_NO_WARNINGS(reader);
}

TEST(ConfigExamples, SyncerIdMustBeOneSubjectToken) {
  auto reader = ConfigReader::Parse(
      "[Service]\nID = \"a.b\"\n[PowerDNS]\nURL = \"http://[::1]:8081\"\n[AXFRPrimary]\n"
      "Address = \"[::1]:20102\"\n",
      "id.toml");
  ASSERT_TRUE(reader.ok());
  CommonConfig common = ReadCommonConfig(*reader, "pdns-secondary-syncer");
  SecondarySyncerConfig config = ReadSecondarySyncerConfig(*reader, common);
  EXPECT_EQ(reader->status().message(),
            "id.toml: [Service] ID: must be one NATS subject token (no '.', '*', '>' or spaces)");
  EXPECT_EQ(config.axfr_address.host, "::1");
  EXPECT_EQ(common.powerdns.url.host_port.host, "::1");
}

// The original's own example files (addresses as they are; hosts quoted): every service reads
// them with the original's meaning and warns about none of their keys.
TEST(OriginalConfigs, ApiProxyReadsTheOriginalFile) {
  ConfigReader reader = Parse(testing::kOriginalApiProxyConfig);
  CommonConfig common = ReadCommonConfig(reader, "pdns-api-proxy");
  ApiProxyConfig config = ReadApiProxyConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.listen.ToString(), "localhost:30000");
  EXPECT_TRUE(config.url_said_http);
  EXPECT_EQ(config.cert_file, "/home/pdns-api-proxy/cert.pem");
  EXPECT_EQ(config.key_file, "/home/pdns-api-proxy/key.pem");
  EXPECT_EQ(common.powerdns.url.host_port.ToString(), "localhost:8081");
  EXPECT_EQ(common.prometheus_address, "localhost:9502");
  EXPECT_EQ(common.tags, (std::vector<std::string>{"internal", "primary-node", "proxy"}));
  EXPECT_TRUE(common.log.debug);
  EXPECT_NO_WARNINGS(reader);
}

TEST(OriginalConfigs, ZoneProviderReadsTheOriginalFile) {
  ConfigReader reader = Parse(testing::kOriginalZoneProviderConfig);
  CommonConfig common = ReadCommonConfig(reader, "pdns-zone-provider");
  ZoneProviderConfig config = ReadZoneProviderConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.primary.ToString(), "127.0.0.1:53") << "[PowerDNS] AXFRAddress";
  EXPECT_EQ(config.axfr_timeout.count(), 2000);
  EXPECT_EQ(common.powerdns.api_key, "0000");
  EXPECT_EQ(config.subject, "zonedata.*");
  EXPECT_NO_WARNINGS(reader);
}

TEST(OriginalConfigs, SecondarySyncerReadsTheOriginalFile) {
  ConfigReader reader = Parse(testing::kOriginalSecondarySyncerConfig);
  CommonConfig common = ReadCommonConfig(reader, "pdns-secondary-syncer");
  SecondarySyncerConfig config = ReadSecondarySyncerConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(config.axfr_address.ToString(), "127.0.0.1:20102") << "[AXFRPrimary] Address";
  EXPECT_EQ(common.powerdns.url.host_port.ToString(), "localhost:18081");
  EXPECT_EQ(config.api_workers, 4);
  EXPECT_EQ(config.event_delay.count(), 0);
  EXPECT_EQ(PeerSubject(config.zone_data_prefix, "ns1"), "zonedata.ns1");
  EXPECT_EQ(PeerSubject(config.zone_state_prefix, "ns1"), "zonestate.ns1");
  EXPECT_NO_WARNINGS(reader);
}

TEST(OriginalConfigs, HealthCheckerReadsTheOriginalFile) {
  ConfigReader reader = Parse(testing::kOriginalHealthCheckerConfig);
  CommonConfig common = ReadCommonConfig(reader, "pdns-health-checker");
  HealthCheckerConfig config = ReadHealthCheckerConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  // The file has no key for the primary's DNS: the host of [PowerDNS] URL, port 53.
  EXPECT_EQ(config.primary.ToString(), "localhost:53");
  EXPECT_EQ(config.status_listen.ToString(), "localhost:30001");
  EXPECT_EQ(PeerSubject(config.zone_state_prefix, "ns1"), "zonestate.ns1");
  EXPECT_EQ(config.event_check_wait.count(), 20000);
  EXPECT_EQ(config.refresh_interval.count(), 5 * 60000);
  EXPECT_EQ(config.periodic_interval.count(), 15 * 60000);
  EXPECT_EQ(config.nsec3_interval.count(), 15 * 60000);
  EXPECT_EQ(config.static_secondaries,
            (std::vector<std::string>{"sec01.example.org", "sec02.example.org"}));
  EXPECT_NO_WARNINGS(reader);
}

TEST(OriginalConfigs, PrefixesWithoutTheTrailingDotNameTheSameSubjects) {
  ConfigReader reader = Parse(
      "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n[ZoneDataTopics]\nPrefix = \"zonedata\"\n"
      "[ZoneStateTopics]\nPrefix = \"zonestate\"\n");
  SecondarySyncerConfig config = ReadSecondarySyncerConfig(reader, CommonPowerDns(reader));
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  EXPECT_EQ(PeerSubject(config.zone_data_prefix, "ns1"), "zonedata.ns1");
  EXPECT_EQ(PeerSubject(config.zone_state_prefix, "ns1"), "zonestate.ns1");

  ConfigReader bad = Parse(
      "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n[ZoneStateTopics]\nPrefix = \"zone..\"\n");
  ReadHealthCheckerConfig(bad, CommonPowerDns(bad));
  EXPECT_EQ(bad.status().message(),
            "t.toml: [ZoneStateTopics] Prefix: \"zone..\" + <ID> is not a NATS subject (e.g. "
            "\"zonestate.\")");
}

TEST(OriginalConfigs, PrimaryDnsDefaultsToTheHostOfTheApiUrlOnPort53) {
  ConfigReader reader = Parse("[PowerDNS]\nURL = \"http://192.0.2.7:8081\"\n");
  EXPECT_EQ(ReadZoneProviderConfig(reader, CommonPowerDns(reader)).primary.ToString(),
            "192.0.2.7:53");
  EXPECT_EQ(ReadHealthCheckerConfig(reader, CommonPowerDns(reader)).primary.ToString(),
            "192.0.2.7:53");
  ConfigReader set =
      Parse("[PowerDNS]\nURL = \"http://192.0.2.7:8081\"\nAXFRAddress = \"[2001:db8::1]:5300\"\n");
  EXPECT_EQ(ReadZoneProviderConfig(set, CommonPowerDns(set)).primary.ToString(),
            "[2001:db8::1]:5300");
  EXPECT_EQ(ReadHealthCheckerConfig(set, CommonPowerDns(set)).primary.ToString(),
            "[2001:db8::1]:5300");
  EXPECT_TRUE(set.status().ok()) << set.status().message();
}

// Our earlier files had the two address keys the other way round. Alone, such a key would
// silently leave the service on a default that is wrong: a clear error. Next to the right key:
// a warning.
TEST(OriginalConfigs, OurEarlierAddressKeysAreRefusedAloneAndWarnedAboutBesideTheRightOne) {
  const std::string api = "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n";
  {
    ConfigReader reader = Parse(api + "[AXFRPrimary]\nAddress = \"127.0.0.1:5300\"\n");
    ReadZoneProviderConfig(reader, CommonPowerDns(reader));
    EXPECT_EQ(reader.status().message(),
              "t.toml: [AXFRPrimary] Address: is the secondary-syncer's own SOA/AXFR listener; "
              "the primary's DNS is [PowerDNS] AXFRAddress, as in the original");
  }
  {
    ConfigReader reader = Parse(api + "[AXFRPrimary]\nAddress = \"127.0.0.1:5300\"\n");
    ReadHealthCheckerConfig(reader, CommonPowerDns(reader));
    EXPECT_NE(reader.status().message().find("[AXFRPrimary] Address: is the secondary-syncer's"),
              std::string::npos)
        << reader.status().message();
  }
  {
    ConfigReader reader = Parse(api + "AXFRAddress = \"127.0.0.1:20102\"\n");
    ReadSecondarySyncerConfig(reader, CommonPowerDns(reader));
    EXPECT_EQ(reader.status().message(),
              "t.toml: [PowerDNS] AXFRAddress: is the zone-provider's key (the primary's DNS); "
              "the syncer's own SOA/AXFR listener is [AXFRPrimary] Address, as in the original");
  }
  {
    ConfigReader reader = Parse(api +
                                "AXFRAddress = \"127.0.0.1:53\"\n[AXFRPrimary]\n"
                                "Address = \"127.0.0.1:5300\"\n");
    ZoneProviderConfig provider = ReadZoneProviderConfig(reader, CommonPowerDns(reader));
    EXPECT_TRUE(reader.status().ok()) << reader.status().message();
    EXPECT_EQ(provider.primary.ToString(), "127.0.0.1:53");
    EXPECT_EQ(reader.Warnings(),
              (std::vector<std::string>{
                  "t.toml: [AXFRPrimary] Address: ignored: the primary's DNS is [PowerDNS] "
                  "AXFRAddress ([AXFRPrimary] Address is the secondary-syncer's own listener)"}));
  }
  {
    ConfigReader reader = Parse(api +
                                "AXFRAddress = \"127.0.0.1:53\"\n[AXFRPrimary]\n"
                                "Address = \"127.0.0.1:5300\"\n");
    SecondarySyncerConfig syncer = ReadSecondarySyncerConfig(reader, CommonPowerDns(reader));
    EXPECT_TRUE(reader.status().ok()) << reader.status().message();
    EXPECT_EQ(syncer.axfr_address.ToString(), "127.0.0.1:5300");
    EXPECT_EQ(reader.Warnings(),
              (std::vector<std::string>{"t.toml: [PowerDNS] AXFRAddress: ignored: the syncer's "
                                        "own SOA/AXFR listener is [AXFRPrimary] Address"}));
  }
}

// The original's keys every service carries are accepted; a typo among them is named.
TEST(OriginalConfigs, TyposInAServiceFileAreWarnedAboutAndTheServiceStillLoads) {
  const std::string text =
      ReplaceOnce(ReplaceOnce(testing::kOriginalHealthCheckerConfig, "APIToken", "APITokn"),
                  "[HealthChecks]\n", "[HealthChecks]\nHealthPingInterval = \"1s\"\n");
  ASSERT_FALSE(text.empty());
  ConfigReader reader = Parse(text, "checker.toml");
  CommonConfig common = ReadCommonConfig(reader, "pdns-health-checker");
  ReadHealthCheckerConfig(reader, common);
  ASSERT_TRUE(reader.status().ok()) << reader.status().message();
  const std::vector<std::string> warnings = reader.Warnings();
  ASSERT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("[PowerDNS] APITokn: not a key of this service, ignored (did you "
                             "mean [PowerDNS] APIToken?)"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("[HealthChecks] HealthPingInterval: not a key of this service, "
                             "ignored (did you mean [ServiceDiscovery] HealthPingIntervall?)"),
            std::string::npos)
      << warnings[1];
}

// [AXFRPrimary] AllowFrom and TSIG*: defaults, explicit values and the errors, as a table.
TEST(SyncerEndpointAccess, AllowFromAndTsigKeys) {
  struct Case {
    std::string text;   // after [PowerDNS] URL
    std::string error;  // "" = loads
    std::string allow;  // ClientAllowList::ToString()
    std::string tsig;   // key name, "" = off
  };
  const std::string api = "[PowerDNS]\nURL = \"http://192.0.2.7:8081\"\n";
  const std::string secret = "a2V5LWZvci10ZXN0cy1vbmx5LTMyLW9jdGV0cy1sb25nISE=";
  const Case cases[] = {
      {"", "", "127.0.0.1/32, ::1/128, 192.0.2.7/32", ""},
      {"[AXFRPrimary]\nAddress = \"198.51.100.1:20102\"\n", "",
       "127.0.0.1/32, ::1/128, 192.0.2.7/32, 198.51.100.1/32", ""},
      {"[AXFRPrimary]\nAddress = \":20102\"\n", "", "127.0.0.1/32, ::1/128, 192.0.2.7/32", ""},
      {"[AXFRPrimary]\nAllowFrom = [\"10.0.0.0/8\", \"fd00::/8\"]\n", "", "10.0.0.0/8, fd00::/8",
       ""},
      {"[AXFRPrimary]\nAllowFrom = [\"10.0.0.1/8\"]\n",
       "t.toml: [AXFRPrimary] AllowFrom: \"10.0.0.1/8\" has host bits set (did you mean "
       "10.0.0.0/8?)",
       "", ""},
      {"[AXFRPrimary]\nAllowFrom = \"10.0.0.0/8\"\n",
       "t.toml: [AXFRPrimary] AllowFrom: must be an array of strings", "", ""},
      {"[AXFRPrimary]\nTSIGKeyName = \"Syncer-NS1\"\nTSIGSecret = \"" + secret + "\"\n", "",
       "127.0.0.1/32, ::1/128, 192.0.2.7/32", "syncer-ns1."},
      {"[AXFRPrimary]\nTSIGKeyName = \"syncer\"\n",
       "t.toml: [AXFRPrimary] TSIGSecret: TSIGKeyName and TSIGSecret go together (the key's "
       "name and its base64 secret)",
       "", ""},
      {"[AXFRPrimary]\nTSIGKeyName = \"syncer\"\nTSIGAlgorithm = \"hmac-md5\"\nTSIGSecret = \"" +
           secret + "\"\n",
       "t.toml: [AXFRPrimary] TSIGKeyName: TSIG algorithm \"hmac-md5\" is not one of "
       "hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224",
       "", ""},
  };
  for (const Case& c : cases) {
    ConfigReader reader = Parse(api + c.text);
    SecondarySyncerConfig config = ReadSecondarySyncerConfig(reader, CommonPowerDns(reader));
    EXPECT_EQ(reader.status().message(), c.error) << c.text;
    if (!c.error.empty()) continue;
    EXPECT_EQ(config.axfr_allow.ToString(), c.allow) << c.text;
    EXPECT_EQ(config.axfr_tsig ? config.axfr_tsig->name : "", c.tsig) << c.text;
    EXPECT_NO_WARNINGS(reader);
  }
}

}  // namespace
}  // namespace pdnsd
