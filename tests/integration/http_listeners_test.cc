// The services' HTTP listeners as a new operator meets them: the api-proxy takes every body
// PowerDNS takes (curl's default form content type included) and answers as PowerDNS does; a
// port already in use stops the api-proxy, the metrics endpoint and the health-checker's
// status page at start with exit 1 and "address already in use".
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration_helpers.h"
#include "services/api_proxy/api_proxy.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

const std::string kBinDir = PDNSD_BIN_DIR;

struct CurlResult {
  int status = 0;
  std::string body;
  std::string log;  // curl's own output on failure
};

// `curl -X method --data-binary @body_file url`: like --data in PowerDNS's documentation, curl
// sends Content-Type application/x-www-form-urlencoded unless told otherwise. `extra` is added to
// the command line as is.
CurlResult Curl(const std::string& method, const std::string& url, const std::string& api_key,
                const std::string& body_file, const TempDir& dir, const std::string& extra = "") {
  const std::string out = dir.File("curl-body");
  std::remove(out.c_str());
  int code = -1;
  const std::string command = "curl -sS -k --max-time 60 -o " + ShellQuote(out) +
                              " -w '%{http_code}' -X " + method + " -H " +
                              ShellQuote("X-API-Key: " + api_key) + " --data-binary @" +
                              ShellQuote(body_file) + " " + extra + " " + ShellQuote(url) + " 2>&1";
  CurlResult result;
  result.log = RunCommand(command, &code);
  if (code == 0 && result.log.size() >= 3) result.status = std::stoi(result.log.substr(0, 3));
  result.body = ReadFile(out);
  return result;
}

class ProxyBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions()));
    PDNSD_ASSERT_OK(primary_.Start(PdnsOptions().WithName("primary").Primary()));
    auto bus = Bus::Connect(TestBusOptions(nats_, "api-proxy"), MakeTestLogger("api-proxy"));
    PDNSD_ASSERT_OK(bus.status());
    bus_ = std::move(*bus);
    ApiProxyConfig config;
    config.listen = {"127.0.0.1", 0};
    config.state_dir = dir_.path();
    config.max_body_bytes = 2 * 1024 * 1024;
    ServiceEnvironment environment = TestServiceEnvironment("api-proxy", bus_.get(), primary_);
    registry_ = environment.registry;
    proxy_ = std::make_unique<ApiProxy>(config, environment);
    PDNSD_ASSERT_OK(proxy_->Start());
    const HttpResponse created = primary_.Api("POST", "/api/v1/servers/localhost/zones",
                                              R"({"name":"big.example.","kind":"Native",
                                                  "nameservers":["ns1.example.net."]})");
    ASSERT_EQ(created.status, 201) << created.body;
  }
  void TearDown() override {
    if (proxy_) proxy_->Stop();
    proxy_.reset();
    bus_.reset();
  }

  std::string ProxyUrl(const std::string& path) const {
    return "https://" + proxy_->address().ToString() + path;
  }
  std::string DirectUrl(const std::string& path) const { return primary_.api_url() + path; }

  // A PATCH body of `rrsets` A rrsets named <prefix><i>.big.example.
  static std::string ManyRrsets(int rrsets, const std::string& prefix) {
    nlohmann::json list = nlohmann::json::array();
    for (int i = 0; i < rrsets; ++i) {
      list.push_back(
          {{"name", prefix + std::to_string(i) + ".big.example."},
           {"type", "A"},
           {"ttl", 300},
           {"changetype", "REPLACE"},
           {"records",
            {{{"content", "192.0.2." + std::to_string(i % 250 + 1)}, {"disabled", false}}}}});
    }
    return nlohmann::json{{"rrsets", list}}.dump();
  }

  // The number of rrsets of big.example. whose name starts with `prefix`.
  int CountRrsets(const std::string& prefix) const {
    const HttpResponse zone = primary_.Api("GET", "/api/v1/servers/localhost/zones/big.example.");
    auto doc = nlohmann::json::parse(zone.body, nullptr, false);
    int count = 0;
    if (!doc.is_object()) return -1;
    for (const auto& rrset : doc["rrsets"]) {
      if (rrset["name"].get<std::string>().rfind(prefix, 0) == 0) ++count;
    }
    return count;
  }

  TempDir dir_;
  NatsServer nats_;
  PdnsServer primary_;
  std::unique_ptr<Bus> bus_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ApiProxy> proxy_;
};

TEST_F(ProxyBodyTest, FormTypedPatchOver8KbAndOf1MbIsAnsweredAsPowerDnsAnswersAndApplied) {
  const std::string path = "/api/v1/servers/localhost/zones/big.example.";
  const std::pair<const char*, int> cases[] = {{"small", 120}, {"large", 9000}};
  for (const auto& [prefix, rrsets] : cases) {
    const std::string body = ManyRrsets(rrsets, prefix);
    ASSERT_GT(body.size(), 8u * 1024) << "the body must be above cpp-httplib's form limit";
    std::cout << prefix << ": PATCH body of " << body.size() << " bytes\n";
    const std::string file = dir_.File(std::string(prefix) + ".json");
    PDNSD_ASSERT_OK(WriteFile(file, body));

    const CurlResult proxied = Curl("PATCH", ProxyUrl(path), primary_.api_key(), file, dir_);
    EXPECT_EQ(proxied.status, 204) << proxied.log << proxied.body;
    EXPECT_EQ(CountRrsets(prefix), rrsets) << "the change through the proxy was not applied";
    // The same request straight to PowerDNS (REPLACE: the same again) gets the same answer.
    const CurlResult direct = Curl("PATCH", DirectUrl(path), primary_.api_key(), file, dir_);
    EXPECT_EQ(proxied.status, direct.status);
    EXPECT_EQ(proxied.body, direct.body);
  }
  // A form-typed body PowerDNS refuses (not JSON) gets PowerDNS's own answer through the proxy.
  const std::string bad = dir_.File("bad.txt");
  PDNSD_ASSERT_OK(WriteFile(bad, "a=b&" + std::string(9000, 'c')));
  const CurlResult proxied = Curl("PATCH", ProxyUrl(path), primary_.api_key(), bad, dir_);
  const CurlResult direct = Curl("PATCH", DirectUrl(path), primary_.api_key(), bad, dir_);
  EXPECT_GE(direct.status, 400);
  EXPECT_EQ(proxied.status, direct.status);
  EXPECT_EQ(proxied.body, direct.body);
}

TEST_F(ProxyBodyTest, ChunkedBodiesAreForwardedAndBoundedByMaxBodySize) {
  const std::string path = "/api/v1/servers/localhost/zones/big.example.";
  const std::string file = dir_.File("chunked.json");
  PDNSD_ASSERT_OK(WriteFile(file, ManyRrsets(200, "chunked")));
  const std::string chunked = "-H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json'";
  CurlResult result = Curl("PATCH", ProxyUrl(path), primary_.api_key(), file, dir_, chunked);
  EXPECT_EQ(result.status, 204) << result.log << result.body;
  EXPECT_EQ(CountRrsets("chunked"), 200);

  // Over [Service] MaxBodySize (2 MB here): 413 with a JSON body, chunked or not.
  const std::string huge = dir_.File("huge.json");
  PDNSD_ASSERT_OK(WriteFile(huge, std::string(3 * 1024 * 1024, ' ') + "{}"));
  for (const std::string& extra : {chunked, std::string("-H 'Content-Type: application/json'")}) {
    result = Curl("PATCH", ProxyUrl(path), primary_.api_key(), huge, dir_, extra);
    EXPECT_EQ(result.status, 413) << extra << ": " << result.log;
    auto doc = nlohmann::json::parse(result.body, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << extra << ": " << result.body;
    EXPECT_NE(doc.value("error", "").find("MaxBodySize"), std::string::npos) << result.body;
  }
  // The proxy still serves afterwards.
  result = Curl("PATCH", ProxyUrl(path), primary_.api_key(), file, dir_);
  EXPECT_EQ(result.status, 204) << result.log << result.body;
}

TEST_F(ProxyBodyTest, RejectionsTheProxyMakesItselfHaveAJsonBody) {
  // A request URI over cpp-httplib's limit: rejected before any handler runs.
  const std::string file = dir_.File("empty.json");
  PDNSD_ASSERT_OK(WriteFile(file, "{}"));
  const CurlResult result = Curl(
      "PATCH", ProxyUrl("/api/v1/servers/localhost/zones/" + std::string(9000, 'a') + ".example."),
      primary_.api_key(), file, dir_);
  EXPECT_EQ(result.status, 414) << result.log;
  auto doc = nlohmann::json::parse(result.body, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << result.status << ": " << result.body;
  EXPECT_TRUE(doc.contains("error")) << result.body;
}

// SIGTERM while PowerDNS holds a write (here: stopped with SIGSTOP): the proxy stops within
// about a second, not at its 120 s PowerDNS timeout; the client is told 503 and that the write
// may have been applied, and the zone's event is published all the same.
TEST_F(ProxyBodyTest, StopsWithinASecondWhilePowerDnsHoldsAWrite) {
  std::mutex mutex;
  std::vector<std::string> events;
  auto subscription = bus_->Subscribe("zone.modified", "", [&](const BusMessage& m) {
    std::lock_guard lock(mutex);
    events.push_back(m.data);
  });
  PDNSD_ASSERT_OK(subscription.status());
  PDNSD_ASSERT_OK(bus_->Flush(std::chrono::seconds(5)));
  const std::string file = dir_.File("held.json");
  PDNSD_ASSERT_OK(WriteFile(file, ManyRrsets(1, "held")));
  const auto forwarded = [&] {
    return CounterValue(*registry_, "apiproxy_powerdns_api_requests_total", {});
  };
  primary_.process().Signal(SIGSTOP);
  CurlResult held;
  std::thread client([&] {
    held = Curl("PATCH", ProxyUrl("/api/v1/servers/localhost/zones/big.example."),
                primary_.api_key(), file, dir_);
  });
  const bool waiting = WaitFor([&] { return forwarded() >= 1; });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // inside send()
  const auto start = std::chrono::steady_clock::now();
  proxy_->Stop();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  primary_.process().Signal(SIGCONT);
  client.join();
  std::cout << "stopped " << took.count() << " ms after Stop() with a write held by PowerDNS\n";
  EXPECT_TRUE(waiting) << "the write never reached the proxy's PowerDNS call";
  // Generous for a loaded machine (the grace is 500 ms); before: 120 s.
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(held.status, 503) << held.log << held.body;
  auto doc = nlohmann::json::parse(held.body, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << held.body;
  EXPECT_NE(doc.value("error", "").find("may or may not have applied it"), std::string::npos)
      << held.body;
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex);
    return events.size() == 1 && events[0].find("big.example.") != std::string::npos;
  })) << "no zone.modified event for the write that was cut off";
  EXPECT_EQ(CounterValue(*registry_, "apiproxy_rejected_requests_total", {{"reason", "stopping"}}),
            1);
  subscription->reset();
}

class PortInUseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions()));
    PDNSD_ASSERT_OK(primary_.Start(PdnsOptions().WithName("primary").Primary()));
  }

  // The configs come from the one template (services/common/config_template.h).
  std::string Render(const std::string& service, const ServiceConfigParameters& parameters) const {
    auto config = RenderServiceConfig(service, parameters);
    EXPECT_TRUE(config.ok());
    return config.ok() ? *config : "";
  }
  ServiceConfigParameters Common(uint16_t metrics_port) const {
    ServiceConfigParameters parameters;
    parameters.metrics = metrics_port == 0 ? "" : "127.0.0.1:" + std::to_string(metrics_port);
    parameters.nats_url = nats_.url();
    parameters.powerdns_url = primary_.api_url();
    return parameters;
  }
  std::string ProxyConfig(uint16_t port, uint16_t metrics_port) const {
    ServiceConfigParameters parameters = Common(metrics_port);
    parameters.listen = "127.0.0.1:" + std::to_string(port);
    parameters.state_dir = dir_.File("proxy-state");
    return Render("pdns-api-proxy", parameters);
  }
  std::string CheckerConfig(uint16_t status_port) const {
    // The primary's DNS under both the key read before issue 8 and the original's key.
    const std::string dns = primary_.dns_address().ToString();
    ServiceConfigParameters parameters = Common(0);
    parameters.listen = "127.0.0.1:" + std::to_string(status_port);
    parameters.powerdns_api_key = primary_.api_key();
    parameters.powerdns_dns = dns;
    parameters.extra = {{"AXFRPrimary", "Address", TomlString(dns)}};
    return Render("pdns-health-checker", parameters);
  }

  // Starts `binary` with `config`; the process runs until the test stops it.
  void Start(ChildProcess& process, const std::string& binary, const std::string& config) {
    const std::string path = dir_.File("config-" + std::to_string(++configs_) + ".toml");
    PDNSD_ASSERT_OK(WriteFile(path, config));
    PDNSD_ASSERT_OK(process.Start({kBinDir + "/" + binary, "--config", path},
                                  dir_.File("run-" + std::to_string(configs_) + ".log")));
  }

  // Runs `binary` with `config` on a port in use: it must stop at start with exit code 1 and
  // say "address already in use".
  void ExpectRefusedAtStart(const std::string& binary, const std::string& config,
                            const std::string& what) {
    ChildProcess process;
    Start(process, binary, config);
    const std::optional<int> code = process.WaitExit(std::chrono::seconds(15));
    if (!code) process.Kill();
    ASSERT_TRUE(code.has_value()) << what << ": still running on a port in use\n"
                                  << process.LogSinceStart();
    EXPECT_EQ(*code, 1) << what << "\n" << process.LogSinceStart();
    EXPECT_NE(process.LogSinceStart().find("address already in use"), std::string::npos)
        << what << "\n"
        << process.LogSinceStart();
  }

  TempDir dir_;
  NatsServer nats_;
  PdnsServer primary_;
  int configs_ = 0;
};

TEST_F(PortInUseTest, ApiProxyListenerStopsAtStart) {
  const uint16_t port = FreePort();
  ChildProcess first;
  Start(first, "pdns-api-proxy", ProxyConfig(port, 0));
  ASSERT_TRUE(WaitFor([&] { return TcpPortOpen({"127.0.0.1", port}); })) << first.LogTail();
  ExpectRefusedAtStart("pdns-api-proxy", ProxyConfig(port, 0), "a second api-proxy");
  EXPECT_TRUE(first.IsRunning());

  // A port in use by another program: a listening socket with no socket options.
  const HeldPort other;
  const uint16_t held = other.port();
  ASSERT_NE(held, 0);
  ExpectRefusedAtStart("pdns-api-proxy", ProxyConfig(held, 0), "api-proxy on a plain socket");
}

TEST_F(PortInUseTest, MetricsEndpointStopsAtStart) {
  const uint16_t metrics = FreePort();
  ChildProcess first;
  Start(first, "pdns-api-proxy", ProxyConfig(FreePort(), metrics));
  ASSERT_TRUE(WaitFor([&] { return TcpPortOpen({"127.0.0.1", metrics}); })) << first.LogTail();
  ExpectRefusedAtStart("pdns-api-proxy", ProxyConfig(FreePort(), metrics),
                       "a second metrics endpoint");
  EXPECT_TRUE(first.IsRunning());

  // A port in use by another program: a listening socket with no socket options.
  const HeldPort other;
  const uint16_t held = other.port();
  ASSERT_NE(held, 0);
  ExpectRefusedAtStart("pdns-api-proxy", ProxyConfig(FreePort(), held),
                       "metrics endpoint on a plain socket");
}

TEST_F(PortInUseTest, HealthCheckerStatusPageStopsAtStart) {
  const uint16_t port = FreePort();
  ChildProcess first;
  Start(first, "pdns-health-checker", CheckerConfig(port));
  ASSERT_TRUE(WaitFor([&] { return TcpPortOpen({"127.0.0.1", port}); })) << first.LogTail();
  ExpectRefusedAtStart("pdns-health-checker", CheckerConfig(port), "a second status page");
  EXPECT_TRUE(first.IsRunning());

  // A port in use by another program: a listening socket with no socket options.
  const HeldPort other;
  const uint16_t held = other.port();
  ASSERT_NE(held, 0);
  ExpectRefusedAtStart("pdns-health-checker", CheckerConfig(held), "status page on a plain socket");
}

}  // namespace
}  // namespace pdnsd::testing
