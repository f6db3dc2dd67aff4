// The one template of service configs (services/common/config_template.h): what it renders is
// what each service's own loader reads, key by key, with no key unknown to the service.
#include "services/common/config_template.h"

#include <gtest/gtest.h>

#include "services/api_proxy/api_proxy.h"
#include "services/health_checker/health_checker.h"
#include "services/secondary_syncer/secondary_syncer.h"
#include "services/zone_provider/zone_provider.h"

namespace pdnsd {
namespace {

using std::chrono::milliseconds;

ServiceConfigParameters Parameters() {
  ServiceConfigParameters parameters;
  parameters.id = "ns-1";
  parameters.listen = "127.0.0.1:30443";
  parameters.state_dir = "/var/tmp/proxy \"state\"";
  parameters.nats_url = "nats://127.0.0.1:4222";
  parameters.nats_username = "syncer";
  parameters.nats_password = "pw\\1";
  parameters.powerdns_url = "http://127.0.0.1:8081";
  parameters.powerdns_api_key = "key";
  parameters.powerdns_dns = "127.0.0.1:5300";
  parameters.metrics = "127.0.0.1:9500";
  parameters.ping_interval = milliseconds(200);
  parameters.axfr_timeout = milliseconds(1500);
  parameters.debug = true;
  return parameters;
}

// Renders `service` and loads it with its own definition: the common config, and no key the
// service does not know.
CommonConfig Load(const ServiceDefinition& definition, const ServiceConfigParameters& parameters,
                  std::string* text = nullptr) {
  auto rendered = RenderServiceConfig(definition.name, parameters);
  EXPECT_TRUE(rendered.ok()) << rendered.status().ToString();
  if (text != nullptr) *text = *rendered;
  auto reader = ConfigReader::Parse(*rendered, definition.name + ".toml");
  EXPECT_TRUE(reader.ok()) << reader.status().ToString() << "\n" << *rendered;
  auto loaded = LoadServiceConfig(definition, *reader);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString() << "\n" << *rendered;
  EXPECT_EQ(loaded->warnings, std::vector<std::string>{}) << *rendered;
  return loaded->common;
}

TEST(ConfigTemplate, CommonKeysReachEveryService) {
  for (const ServiceDefinition& definition :
       {ApiProxyDefinition(), ZoneProviderDefinition(), SecondarySyncerDefinition(),
        HealthCheckerDefinition()}) {
    const CommonConfig common = Load(definition, Parameters());
    EXPECT_EQ(common.id, "ns-1") << definition.name;
    EXPECT_EQ(common.broker.url, "nats://127.0.0.1:4222");
    EXPECT_EQ(common.broker.username, "syncer");
    EXPECT_EQ(common.broker.password, "pw\\1");
    EXPECT_EQ(common.powerdns.url.Origin(), "http://127.0.0.1:8081");
    EXPECT_EQ(common.powerdns.api_key, "key");
    EXPECT_EQ(common.prometheus_address, "127.0.0.1:9500");
    EXPECT_EQ(common.ping_interval, milliseconds(200));
    EXPECT_TRUE(common.log.debug);
  }
}

TEST(ConfigTemplate, EachServiceReadsItsOwnAddresses) {
  const ServiceConfigParameters parameters = Parameters();
  auto reader_of = [&](const char* service) {
    auto text = RenderServiceConfig(service, parameters);
    EXPECT_TRUE(text.ok());
    auto reader = ConfigReader::Parse(*text, "t.toml");
    EXPECT_TRUE(reader.ok());
    return std::move(*reader);
  };
  auto proxy_reader = reader_of("pdns-api-proxy");
  const ApiProxyConfig proxy =
      ReadApiProxyConfig(proxy_reader, ReadCommonConfig(proxy_reader, "pdns-api-proxy"));
  EXPECT_EQ(proxy.listen.ToString(), "127.0.0.1:30443");
  EXPECT_FALSE(proxy.url_said_http);
  EXPECT_EQ(proxy.state_dir, "/var/tmp/proxy \"state\"");

  auto provider_reader = reader_of("pdns-zone-provider");
  const ZoneProviderConfig provider = ReadZoneProviderConfig(
      provider_reader, ReadCommonConfig(provider_reader, "pdns-zone-provider"));
  EXPECT_EQ(provider.primary.ToString(), "127.0.0.1:5300");
  EXPECT_EQ(provider.axfr_timeout, milliseconds(1500));

  auto syncer_reader = reader_of("pdns-secondary-syncer");
  const CommonConfig syncer_common = ReadCommonConfig(syncer_reader, "pdns-secondary-syncer");
  const SecondarySyncerConfig syncer = ReadSecondarySyncerConfig(syncer_reader, syncer_common);
  EXPECT_EQ(syncer.axfr_address.ToString(), "127.0.0.1:30443");
  ASSERT_TRUE(syncer.local_dns.has_value());
  EXPECT_EQ(syncer.local_dns->ToString(), "127.0.0.1:5300");
  EXPECT_EQ(syncer_common.advertised_dns, "127.0.0.1:5300");
  EXPECT_EQ(syncer.axfr_timeout, milliseconds(1500));

  auto checker_reader = reader_of("pdns-health-checker");
  const HealthCheckerConfig checker = ReadHealthCheckerConfig(
      checker_reader, ReadCommonConfig(checker_reader, "pdns-health-checker"));
  EXPECT_EQ(checker.status_listen.ToString(), "127.0.0.1:30443");
  EXPECT_EQ(checker.primary.ToString(), "127.0.0.1:5300");
  EXPECT_EQ(checker.dns_timeout, milliseconds(1500));
}

TEST(ConfigTemplate, ExtraKeysReplaceOrAppendInTheirSection) {
  ServiceConfigParameters parameters = Parameters();
  parameters.extra = {{"PowerDNS", "APIToken", TomlString("other")},
                      {"HealthChecks", "EnsureNSEC3", "false"},
                      {"HealthChecks", "EventCheckWaitTime", TomlDuration(milliseconds(300))}};
  std::string text;
  const CommonConfig common = Load(HealthCheckerDefinition(), parameters, &text);
  EXPECT_EQ(common.powerdns.api_key, "other");
  EXPECT_EQ(text.find("APIToken = \"key\""), std::string::npos) << text;
  auto reader = ConfigReader::Parse(text, "t.toml");
  ASSERT_TRUE(reader.ok());
  const HealthCheckerConfig checker = ReadHealthCheckerConfig(*reader, common);
  EXPECT_FALSE(checker.ensure_nsec3);
  EXPECT_EQ(checker.event_check_wait, milliseconds(300));
}

TEST(ConfigTemplate, LeavesOutWhatIsNotGiven) {
  ServiceConfigParameters parameters;
  parameters.nats_url = "nats://127.0.0.1:4222";
  parameters.powerdns_url = "http://127.0.0.1:8081";
  auto text = RenderServiceConfig("pdns-zone-provider", parameters);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "[Log]\nDEBUG = false\n[Prometheus]\nAddress = \"\"\n[MessageBroker]\nURL = "
            "\"nats://127.0.0.1:4222\"\n[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n");
}

TEST(ConfigTemplate, UnknownServiceIsAnError) {
  auto text = RenderServiceConfig("pdns-nameserver", Parameters());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pdnsd
