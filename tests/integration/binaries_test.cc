// The service binaries as operators run them: flags, config errors, metrics, TLS files,
// shutdown on SIGTERM, waiting for a broker that is down.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/digest.h"
#include "discovery/liveness_registry.h"

#include "support/cluster.h"
#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

const std::string kBinDir = PDNSD_BIN_DIR;

std::string Binary(const std::string& name) { return kBinDir + "/" + name; }

const char* const kServices[] = {"pdns-api-proxy", "pdns-zone-provider", "pdns-secondary-syncer",
                                 "pdns-health-checker"};

// promtool's findings on `metrics_file` other than the lint findings the original's own metric
// names cause (docs/stack-notes.md: "..._count" names); empty when the text is clean.
std::string PromtoolProblems(const std::string& metrics_file) {
  int code = -1;
  const std::string output =
      RunCommand("promtool check metrics < " + metrics_file + " 2>&1", &code);
  if (code == 0) return "";
  std::string problems;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const bool original_name =
        line.find("healthchecker_actual_primary_zone_count") != std::string::npos ||
        line.find("healthchecker_actual_active_secondary_count") != std::string::npos ||
        line.find("healthchecker_actual_dnssec_primary_zone_count") != std::string::npos ||
        line.find("healthchecker_actual_secondary_count") != std::string::npos ||
        line.find("secondarysyncer_worker_lock_count") != std::string::npos;
    if (!line.empty() && !original_name) problems += line + "\n";
  }
  if (code != 3 && problems.empty()) problems = "promtool exit code " + std::to_string(code);
  return problems;
}

TEST(Binaries, VersionAndHelp) {
  for (const char* service : kServices) {
    int code = -1;
    const std::string version = RunCommand(Binary(service) + " --version", &code);
    EXPECT_EQ(code, 0) << service;
    EXPECT_EQ(version.rfind(std::string(service) + " ", 0), 0u) << version;
    const std::string help = RunCommand(Binary(service) + " --help", &code);
    EXPECT_EQ(code, 0);
    EXPECT_NE(help.find("--config FILE"), std::string::npos) << help;
  }
}

// Runs `service --config path`; returns exit code and stderr.
std::pair<int, std::string> RunWithConfig(const std::string& service, const std::string& path) {
  int code = -1;
  std::string output =
      RunCommand(Binary(service) + " --config " + ShellQuote(path) + " 2>&1", &code);
  return {code, output};
}

TEST(Binaries, BadConfigStopsWithExitCode2AndOneLineNamingFileAndKey) {
  TempDir dir;
  const std::string missing = dir.File("missing.toml");
  const std::string not_toml = dir.File("not.toml");
  const std::string no_broker = dir.File("nobroker.toml");
  const std::string bad_value = dir.File("badvalue.toml");
  PDNSD_ASSERT_OK(WriteFile(not_toml, "[Service\nURL = 'x'\n"));
  PDNSD_ASSERT_OK(WriteFile(no_broker,
                            "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n"
                            "[Service]\nURL = \"https://127.0.0.1:30000\"\n"));
  PDNSD_ASSERT_OK(
      WriteFile(bad_value,
                "[MessageBroker]\nURL = \"nats://127.0.0.1:4222\"\n"
                "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\nAXFRTimeout = \"ten\"\n"
                "APIWorker = \"many\"\n[Service]\nURL = \"https://127.0.0.1:30000\"\n"));
  for (const char* service : kServices) {
    auto [code, out] = RunWithConfig(service, missing);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(missing), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;

    std::tie(code, out) = RunWithConfig(service, not_toml);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(not_toml + ": not valid TOML"), std::string::npos) << out;

    std::tie(code, out) = RunWithConfig(service, no_broker);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("[MessageBroker] URL: required key is missing"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  // The original's own example files list hosts unquoted: not TOML, and the line says why.
  const std::string unquoted = dir.File("unquoted.toml");
  PDNSD_ASSERT_OK(WriteFile(unquoted,
                            "[Log]\nDEBUG = true\n[Secondaries]\nHosts = [\n"
                            "sec01.example.org,\nsec02.example.org,\n]\n"));
  for (const char* service : kServices) {
    auto [code, out] = RunWithConfig(service, unquoted);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(unquoted + ": not valid TOML at line 5: sec01.example.org is not a value: "
                                  "strings need quotes"),
              std::string::npos)
        << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  }
  // Our earlier spelling of the syncer's listener is the provider's key: refused, not ignored.
  const std::string moved = dir.File("moved.toml");
  PDNSD_ASSERT_OK(WriteFile(moved,
                            "[MessageBroker]\nURL = \"nats://127.0.0.1:4222\"\n"
                            "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\nAXFRAddress = "
                            "\"127.0.0.1:20102\"\n"));
  {
    auto [code, out] = RunWithConfig("pdns-secondary-syncer", moved);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("[PowerDNS] AXFRAddress: is the zone-provider's key (the primary's DNS); "
                       "the syncer's own SOA/AXFR listener is [AXFRPrimary] Address"),
              std::string::npos)
        << out;
  }
  auto [code, out] = RunWithConfig("pdns-secondary-syncer", bad_value);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("[PowerDNS] AXFRTimeout"), std::string::npos) << out;
  std::tie(code, out) = RunWithConfig("pdns-zone-provider", bad_value);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("[PowerDNS] AXFRTimeout"), std::string::npos) << out;
}

class RunningBinaries : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions()));
    PDNSD_ASSERT_OK(primary_.Start(PdnsOptions().WithName("primary").Primary()));
    PDNSD_ASSERT_OK(secondary_.Start(PdnsOptions().WithName("secondary").Secondary()));
  }

  // The parameters every service config of this test shares (services/common/config_template.h).
  ServiceConfigParameters Common() const {
    ServiceConfigParameters parameters;
    parameters.debug = true;
    parameters.nats_url = nats_.url();
    return parameters;
  }

  // Starts `service` with the config rendered from `parameters`; returns the metrics port.
  uint16_t Start(ChildProcess& process, const std::string& service,
                 ServiceConfigParameters parameters) {
    const uint16_t metrics_port = FreePort();
    parameters.metrics = "127.0.0.1:" + std::to_string(metrics_port);
    const std::string path = dir_.File(service + ".toml");
    auto config = RenderServiceConfig(service, parameters);
    EXPECT_TRUE(config.ok() && WriteFile(path, *config).ok());
    EXPECT_TRUE(
        process.Start({Binary(service), "--config", path}, dir_.File(service + ".log")).ok());
    EXPECT_TRUE(WaitFor([&] {
      return TcpPortOpen({"127.0.0.1", metrics_port});
    })) << process.LogTail();
    return metrics_port;
  }

  ServiceConfigParameters ProxyConfig(uint16_t port) const {
    ServiceConfigParameters parameters = Common();
    parameters.listen = "127.0.0.1:" + std::to_string(port);
    parameters.state_dir = dir_.File("proxy-state");
    parameters.powerdns_url = primary_.api_url();
    return parameters;
  }
  ServiceConfigParameters ProviderConfig() const {
    ServiceConfigParameters parameters = Common();
    parameters.powerdns_url = primary_.api_url();
    parameters.powerdns_api_key = primary_.api_key();
    parameters.powerdns_dns = primary_.dns_address().ToString();
    return parameters;
  }
  ServiceConfigParameters CheckerConfig(uint16_t status_port) const {
    ServiceConfigParameters parameters = ProviderConfig();
    parameters.listen = "127.0.0.1:" + std::to_string(status_port);
    parameters.ping_interval = std::chrono::milliseconds(200);
    return parameters;
  }
  ServiceConfigParameters SyncerConfig(uint16_t axfr_port) const {
    ServiceConfigParameters parameters = Common();
    parameters.id = "secondary-a";
    parameters.listen = "127.0.0.1:" + std::to_string(axfr_port);
    parameters.ping_interval = std::chrono::milliseconds(200);
    parameters.powerdns_url = secondary_.api_url();
    parameters.powerdns_api_key = secondary_.api_key();
    return parameters;
  }

  TempDir dir_;
  NatsServer nats_;
  PdnsServer primary_;
  PdnsServer secondary_;
};

TEST_F(RunningBinaries, MetricsPassPromtoolAndSigtermStopsWithinASecond) {
  ChildProcess proxy, provider, syncer, checker;
  const uint16_t proxy_port = FreePort();
  const uint16_t proxy_metrics = Start(proxy, "pdns-api-proxy", ProxyConfig(proxy_port));
  const uint16_t provider_metrics = Start(provider, "pdns-zone-provider", ProviderConfig());
  const uint16_t syncer_metrics = Start(syncer, "pdns-secondary-syncer", SyncerConfig(FreePort()));
  const uint16_t checker_port = FreePort();
  const uint16_t checker_metrics =
      Start(checker, "pdns-health-checker", CheckerConfig(checker_port));

  const std::pair<uint16_t, std::vector<std::string>> expectations[] = {
      {proxy_metrics,
       {"apiproxy_powerdns_api_requests_total",
        "apiproxy_published_zone_events_total{event_type=\"create\"}"}},
      {provider_metrics,
       {"zoneprovider_request_total", "zoneprovider_response_total",
        "zoneprovider_powerdns_api_call_total{state=\"successful\"}",
        "zoneprovider_powerdns_dns_query_total{qtype=\"axfr\",state=\"failed\"}"}},
      {syncer_metrics,
       {"secondarysyncer_received_zone_events_total{event_type=\"delete\"}",
        "secondarysyncer_zone_data_request_total{state=\"successful\"}",
        "secondarysyncer_zone_state_request_total",
        "secondarysyncer_local_dns_proxy_queries_total{qtype=\"*\",state=\"prohibited\"}",
        "secondarysyncer_local_dns_proxy_queries_total{qtype=\"soa\",state=\"permitted\"}"}},
      {checker_metrics,
       {"healthchecker_actual_primary_zone_count", "healthchecker_actual_secondary_count",
        "healthchecker_interval_health_cycles_total",
        "healthchecker_event_health_check_published_zone_events_total{event_type=\"change\"}",
        "healthchecker_interval_health_published_zone_events_total{event_type=\"delete\"}",
        "healthchecker_singing_sync_cycles_total", "healthchecker_ensure_nsec3_cyles_total"}}};
  for (const auto& [port, names] : expectations) {
    HttpResponse response =
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics");
    ASSERT_EQ(response.status, 200) << response.error;
    for (const std::string& name : names) {
      EXPECT_NE(response.body.find(name), std::string::npos) << name << " missing in\n"
                                                             << response.body;
    }
    EXPECT_NE(response.body.find("process_resident_memory_bytes"), std::string::npos);
    EXPECT_NE(response.body.find("process_start_time_seconds"), std::string::npos);
    PDNSD_ASSERT_OK(WriteFile(dir_.File("metrics.txt"), response.body));
    EXPECT_EQ(PromtoolProblems(dir_.File("metrics.txt")), "");
  }

  // The health-checker hears the syncer's heartbeat and shows it on its status page.
  EXPECT_TRUE(WaitFor([&] {
    return HttpCall("GET", "http://127.0.0.1:" + std::to_string(checker_port) + "/status")
               .body.find("\"secondary-a\"") != std::string::npos;
  })) << checker.LogTail();

  for (ChildProcess* process : {&proxy, &provider, &syncer, &checker}) {
    const auto start = std::chrono::steady_clock::now();
    process->Signal(SIGTERM);
    auto code = process->WaitExit(std::chrono::seconds(5));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    ASSERT_TRUE(code.has_value()) << process->LogTail();
    EXPECT_EQ(*code, 0) << process->LogTail();
    std::cout << process->log_path() << ": stopped " << took.count() << " ms after SIGTERM\n";
    EXPECT_LT(took, std::chrono::seconds(2)) << "SIGTERM must stop a service within a second";
    // The API key never appears in a log, even at DEBUG.
    EXPECT_EQ(ReadFile(process->log_path()).find(primary_.api_key()), std::string::npos);
    EXPECT_EQ(ReadFile(process->log_path()).find(secondary_.api_key()), std::string::npos);
  }
}

// The state the health-checker's /status shows for service `id` ("" when it is not listed).
std::string LivenessOf(uint16_t status_port, const std::string& id) {
  HttpResponse response =
      HttpCall("GET", "http://127.0.0.1:" + std::to_string(status_port) + "/status");
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (!doc.is_object()) return "";
  for (const char* list : {"secondaries", "services"}) {
    for (const auto& entry : doc[list]) {
      if (entry["id"] == id) return entry["state"].get<std::string>();
    }
  }
  return "";
}

TEST_F(RunningBinaries, StoppedSyncerGoesCriticalThenDeregisteredAndComesBack) {
  ChildProcess checker, syncer;
  const uint16_t status_port = FreePort();
  ServiceConfigParameters checker_config = CheckerConfig(status_port);
  checker_config.extra = {{"Secondaries", "Hosts", "[\"ns-old.example.net\"]"}};
  const uint16_t checker_metrics = Start(checker, "pdns-health-checker", checker_config);
  Start(syncer, "pdns-secondary-syncer", SyncerConfig(FreePort()));
  EXPECT_TRUE(WaitFor([&] { return LivenessOf(status_port, "secondary-a") == "passing"; }))
      << checker.LogTail();
  syncer.Signal(SIGSTOP);  // alive but silent: no heartbeats
  EXPECT_TRUE(WaitFor([&] { return LivenessOf(status_port, "secondary-a") == "critical"; },
                      std::chrono::seconds(5)));
  EXPECT_TRUE(WaitFor([&] { return LivenessOf(status_port, "secondary-a").empty(); },
                      std::chrono::seconds(10)))
      << "a silent syncer must be deregistered after 10 intervals";
  syncer.Signal(SIGCONT);
  EXPECT_TRUE(WaitFor([&] { return LivenessOf(status_port, "secondary-a") == "passing"; },
                      std::chrono::seconds(5)));
  EXPECT_NE(checker.LogSinceStart().find("secondary secondary-a on"), std::string::npos);

  // A listed host of an original Go syncer: active without heartbeats, and shown as silent.
  const std::string listed_id = Sha256Hex("ns-old.example.net");
  HttpResponse status =
      HttpCall("GET", "http://127.0.0.1:" + std::to_string(status_port) + "/status");
  EXPECT_NE(status.body.find(listed_id), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"heartbeats\": false"), std::string::npos) << status.body;
  HttpResponse metrics =
      HttpCall("GET", "http://127.0.0.1:" + std::to_string(checker_metrics) + "/metrics");
  EXPECT_NE(metrics.body.find("healthchecker_listed_secondaries_without_heartbeat 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_TRUE(WaitFor([&] {
    return checker.LogSinceStart().find("has never sent a heartbeat") != std::string::npos;
  })) << checker.LogSinceStart();
}

TEST_F(RunningBinaries, ProxyWritesSelfSignedPairOnceWithKeyMode0600) {
  ChildProcess proxy;
  const uint16_t port = FreePort();
  Start(proxy, "pdns-api-proxy", ProxyConfig(port));
  // The pair is written when the proxy starts listening (after its metrics endpoint).
  ASSERT_TRUE(WaitFor([&] { return TcpPortOpen({"127.0.0.1", port}); })) << proxy.LogTail();
  const std::string cert = dir_.File("proxy-state/api-proxy.crt");
  const std::string key = dir_.File("proxy-state/api-proxy.key");
  struct stat key_stat {};
  ASSERT_EQ(stat(key.c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  const std::string first_cert = ReadFile(cert);
  ASSERT_NE(first_cert.find("BEGIN CERTIFICATE"), std::string::npos);
  int code = -1;
  const std::string san = RunCommand("openssl x509 -noout -ext subjectAltName -in " + cert, &code);
  EXPECT_NE(san.find("127.0.0.1"), std::string::npos) << san;
  // Plain HTTP is not served.
  HttpResponse plain =
      HttpCall("GET", "http://127.0.0.1:" + std::to_string(port) + "/api/v1/servers");
  EXPECT_NE(plain.status, 200);
  ASSERT_EQ(proxy.Stop(), 0);

  Start(proxy, "pdns-api-proxy", ProxyConfig(port));
  ASSERT_TRUE(WaitFor([&] { return TcpPortOpen({"127.0.0.1", port}); })) << proxy.LogTail();
  EXPECT_EQ(ReadFile(cert), first_cert) << "the certificate must be reused after a restart";
  const std::string served =
      RunCommand("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                 " 2>/dev/null | openssl x509 2>/dev/null");
  EXPECT_EQ(served, first_cert);
}

// A typo is warned about once at start, naming the key the operator meant; the service runs.
TEST_F(RunningBinaries, UnknownKeysAreWarnedAboutOnceAndTheServiceStarts) {
  ChildProcess provider;
  ServiceConfigParameters config = ProviderConfig();
  config.extra = {{"PowerDNS", "APITokn", "\"x\""},
                  {"ServiceDiscovery", "HealthPingInterval", "\"1s\""}};
  Start(provider, "pdns-zone-provider", config);
  ASSERT_TRUE(provider.IsRunning()) << provider.LogTail();
  const std::string log = provider.LogSinceStart();
  for (const std::string& warning :
       {std::string("[PowerDNS] APITokn: not a key of this service, ignored (did you mean "
                    "[PowerDNS] APIToken?)"),
        std::string("[ServiceDiscovery] HealthPingInterval: not a key of this service, ignored "
                    "(did you mean [ServiceDiscovery] HealthPingIntervall?)")}) {
    const size_t at = log.find(warning);
    EXPECT_NE(at, std::string::npos) << warning << " not in\n" << log;
    EXPECT_EQ(log.find(warning, at + 1), std::string::npos) << "warned twice: " << warning;
  }
  EXPECT_EQ(provider.Stop(), 0);
}

TEST_F(RunningBinaries, ServiceStartedWhileBrokerIsDownWaitsForIt) {
  nats_.Stop();
  ChildProcess syncer;
  const uint16_t axfr_port = FreePort();
  Start(syncer, "pdns-secondary-syncer", SyncerConfig(axfr_port));
  EXPECT_TRUE(syncer.IsRunning()) << syncer.LogTail();
  PDNSD_ASSERT_OK(nats_.Start());
  EXPECT_TRUE(WaitFor([&] {
    return syncer.LogSinceStart().find("connected to the message broker") != std::string::npos;
  })) << syncer.LogTail();
  EXPECT_EQ(syncer.Stop(), 0);
}

// The four binaries as an operator wires them (TOML files, one process each): a zone created,
// changed and deleted through the proxy reaches both secondaries; a syncer that was down
// while its zone changed is brought back in sync by the health-checker's full check at its
// restart.
TEST(BinaryCluster, KeepsSecondariesInSyncAndHealsARestartedSyncer) {
  Cluster cluster;
  ClusterOptions options;
  options.service_binaries = kBinDir;
  options.health_checker = true;
  options.checker.event_check_wait = std::chrono::seconds(60);
  options.checker.periodic_interval = std::chrono::seconds(3600);
  options.checker.ensure_nsec3 = false;
  PDNSD_ASSERT_OK(cluster.Start(options));
  ASSERT_EQ(cluster.RunningServices().size(), 5u);

  const std::string zone = "binaries.example.";
  ASSERT_EQ(cluster.CreateZone(zone, 10).status, 201);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));
  ASSERT_EQ(cluster.SetARecord(zone, "www." + zone, "192.0.2.1").status, 204);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));
  EXPECT_EQ(DigShort(cluster.secondaries[1]->dns_address(), "www." + zone, "A"), "192.0.2.1");

  cluster.StopSyncer(1);
  ASSERT_EQ(cluster.SetARecord(zone, "www." + zone, "192.0.2.2").status, 204);
  const uint32_t changed = cluster.PrimarySerial(zone);
  ASSERT_TRUE(WaitFor([&] { return cluster.ServedSerial(0, zone) == changed; }));
  EXPECT_NE(cluster.ServedSerial(1, zone), changed) << "syncer1 is down: nothing updates it";
  PDNSD_ASSERT_OK(cluster.StartSyncer(1));
  PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, changed));
  EXPECT_EQ(DigShort(cluster.secondaries[1]->dns_address(), "www." + zone, "A"), "192.0.2.2");

  ASSERT_EQ(cluster.Proxy("DELETE", Cluster::ZonesPath(zone)).status, 204);
  PDNSD_EXPECT_OK(cluster.WaitAllAbsent(zone));
  for (const ServiceProcess* service : cluster.RunningServices()) {
    EXPECT_EQ(service->process.LogSinceStart().find(" error: "), std::string::npos)
        << service->name << ":\n"
        << service->process.LogTail();
  }
}

}  // namespace
}  // namespace pdnsd::testing
