// The metrics of the four service binaries as an existing Prometheus/Grafana setup of the
// original Go services reads them: every series the original documents (its
// docs/operation/observability.md, reproduced below: this test does not read the original),
// with the original's type; promtool parses what we serve; an ordinary deletion counts no
// failure anywhere; the api-proxy counts and logs PowerDNS's 5xx answers.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/cluster.h"
#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

const std::string kBinDir = PDNSD_BIN_DIR;

// One series: the metric name and its labels, as `name{a="x",b="y"}` with labels sorted by
// name (plain `name` without labels).
using SeriesKey = std::string;

struct Scrape {
  std::map<SeriesKey, double> values;
  std::map<std::string, std::string> types;  // name -> "counter", "gauge", ...
};

// Parses the Prometheus text format (enough of it for our output: no timestamps, label values
// with \" and \\ escapes).
Scrape ParseExposition(const std::string& text) {
  Scrape scrape;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      scrape.types[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::string name;
    std::map<std::string, std::string> labels;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string label;
        while (i < line.size() && line[i] != '=') label += line[i++];
        i += 2;  // ="
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) ++i;
          value += line[i++];
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        labels[label] = value;
      }
      ++i;  // }
    }
    std::string key = name;
    if (!labels.empty()) {
      key += "{";
      bool first = true;
      for (const auto& [label, value] : labels) {
        key += (first ? "" : ",") + label + "=\"" + value + "\"";
        first = false;
      }
      key += "}";
    }
    scrape.values[key] = std::stod(line.substr(i + 1));
  }
  return scrape;
}

// The original's series by service (its docs/operation/observability.md; go_*, process_* and
// promhttp_* left out), each with the original's type.
struct OriginalSeries {
  const char* type;
  std::vector<std::string> series;
};
const std::map<std::string, std::map<std::string, OriginalSeries>>& Originals() {
  static const auto* const originals = new std::map<std::string,
                                                    std::map<std::string, OriginalSeries>>{
      {"api-proxy",
       {{"apiproxy_powerdns_api_requests_total", {"counter", {""}}},
        {"apiproxy_published_zone_events_total",
         {"counter",
          {R"({event_type="change"})", R"({event_type="create"})", R"({event_type="delete"})"}}}}},
      {"health-checker",
       {{"healthchecker_actual_active_secondary_count", {"gauge", {""}}},
        {"healthchecker_actual_dnssec_primary_zone_count", {"gauge", {""}}},
        {"healthchecker_actual_primary_zone_count", {"gauge", {""}}},
        {"healthchecker_ensure_nsec3_cyles_total", {"counter", {""}}},
        {"healthchecker_event_health_check_published_zone_events_total",
         {"counter",
          {R"({event_type="change"})", R"({event_type="create"})", R"({event_type="delete"})"}}},
        {"healthchecker_event_health_check_received_zone_events_total",
         {"counter",
          {R"({event_type="change"})", R"({event_type="create"})", R"({event_type="delete"})"}}},
        {"healthchecker_interval_health_cycles_total", {"counter", {""}}},
        {"healthchecker_interval_health_published_zone_events_total",
         {"counter",
          {R"({event_type="change"})", R"({event_type="create"})", R"({event_type="delete"})"}}},
        {"healthchecker_interval_signing_sync_published_zone_events_total",
         {"counter", {R"({event_type="change"})"}}},
        {"healthchecker_powerdns_api_call_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}},
        {"healthchecker_powerdns_cli_call_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}},
        {"healthchecker_refresh_cycles_total", {"counter", {""}}},
        {"healthchecker_service_discovery_call_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}},
        {"healthchecker_singing_sync_cycles_total", {"counter", {""}}}}},
      {"zone-provider",
       {{"zoneprovider_powerdns_api_call_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}},
        {"zoneprovider_powerdns_dns_call_total",
         {"counter",
          {R"({protocol="tcp",state="failed"})", R"({protocol="tcp",state="successful"})"}}},
        {"zoneprovider_powerdns_dns_query_total",
         {"counter",
          {R"({qtype="axfr",state="failed"})", R"({qtype="axfr",state="successful"})",
           R"({qtype="soa",state="failed"})", R"({qtype="soa",state="successful"})"}}},
        {"zoneprovider_request_total", {"counter", {""}}},
        {"zoneprovider_response_total", {"counter", {""}}}}},
      {"syncer0",
       {{"secondarysyncer_local_dns_proxy_queries_total",
         {"counter",
          {R"({qtype="*",state="prohibited"})", R"({qtype="axfr",state="permitted"})",
           R"({qtype="soa",state="permitted"})"}}},
        {"secondarysyncer_powerdns_api_call_total",
         {"counter",
          {R"({state="failed",type="create"})", R"({state="failed",type="delete"})",
           R"({state="failed",type="get_zones"})", R"({state="successful",type="clear_cache"})",
           R"({state="successful",type="create"})", R"({state="successful",type="delete"})",
           R"({state="successful",type="get_zones"})"}}},
        {"secondarysyncer_powerdns_cli_call_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}},
        {"secondarysyncer_received_zone_events_total",
         {"counter",
          {R"({event_type="change"})", R"({event_type="create"})", R"({event_type="delete"})"}}},
        {"secondarysyncer_worker_lock_count", {"gauge", {""}}},
        {"secondarysyncer_zone_data_request_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}},
        {"secondarysyncer_zone_state_request_total", {"counter", {""}}},
        {"secondarysyncer_zone_state_response_total",
         {"counter", {R"({state="failed"})", R"({state="successful"})"}}}}}};
  return *originals;
}

bool IsOriginalName(const std::string& name) {
  // The original's later code (without Consul) counts its configured secondaries under this
  // name, which its observability document does not list; we keep it too.
  if (name == "healthchecker_actual_secondary_count") return true;
  for (const auto& [service, names] : Originals()) {
    if (names.count(name) != 0) return true;
  }
  return false;
}

// promtool's verdict on `text`: parse errors, and lint findings on names that are not the
// original's (docs/stack-notes.md: its own "_count" gauges are linted; they must stay as they are).
// Empty when promtool parsed the text and found nothing else.
std::string PromtoolVerdict(const std::string& text) {
  TempDir dir;
  const std::string file = dir.File("metrics.txt");
  if (!WriteFile(file, text).ok()) return "cannot write " + file;
  int code = -1;
  const std::string output = RunCommand("promtool check metrics < " + file + " 2>&1", &code);
  if (code != 0 && code != 3) return "promtool exit code " + std::to_string(code) + ":\n" + output;
  std::string problems;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line.rfind("error", 0) == 0) {  // "error while linting: text format parsing error ..."
      problems += "parse error: " + line + "\n";
      continue;
    }
    const std::string name = line.substr(0, line.find(' '));
    if (!IsOriginalName(name)) problems += "lint finding on our own name: " + line + "\n";
  }
  return problems;
}

class BinaryMetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new Cluster;
    ClusterOptions options;
    options.service_binaries = kBinDir;
    options.secondaries = 1;
    options.health_checker = true;
    // Only the event check talks to the primary's API after the start (the test waits for it).
    options.checker.event_check_wait = std::chrono::milliseconds(300);
    options.checker.periodic_interval = std::chrono::seconds(3600);
    options.checker.refresh_interval = std::chrono::seconds(3600);
    options.checker.ensure_nsec3 = false;
    start_status_ = new Status(cluster_->Start(options));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete start_status_;
    cluster_ = nullptr;
  }
  void SetUp() override { PDNSD_ASSERT_OK(*start_status_); }

  static const ServiceProcess* Service(const std::string& name) {
    for (const ServiceProcess* service : cluster_->RunningServices()) {
      if (service->name == name) return service;
    }
    return nullptr;
  }
  // GET /metrics of the service process `name`.
  static std::string MetricsText(const std::string& name) {
    const ServiceProcess* service = Service(name);
    if (service == nullptr) return "";
    return HttpCall("GET", Cluster::MetricsUrl(*service)).body;
  }
  static std::map<std::string, Scrape> ScrapeAll() {
    std::map<std::string, Scrape> all;
    for (const auto& [name, series] : Originals()) all[name] = ParseExposition(MetricsText(name));
    return all;
  }
  static double Value(const std::string& service, const SeriesKey& key) {
    auto scrape = ParseExposition(MetricsText(service));
    auto it = scrape.values.find(key);
    return it == scrape.values.end() ? -1 : it->second;
  }

  static Cluster* cluster_;
  static Status* start_status_;
};
Cluster* BinaryMetricsTest::cluster_ = nullptr;
Status* BinaryMetricsTest::start_status_ = nullptr;

TEST_F(BinaryMetricsTest, EveryServiceServesEverySeriesOfTheOriginalWithItsType) {
  for (const auto& [name, families] : Originals()) {
    const ServiceProcess* service = Service(name);
    ASSERT_NE(service, nullptr) << name;
    HttpResponse response = HttpCall("GET", Cluster::MetricsUrl(*service));
    ASSERT_EQ(response.status, 200) << name << ": " << response.error;
    const Scrape scrape = ParseExposition(response.body);
    for (const auto& [family, original] : families) {
      auto type = scrape.types.find(family);
      ASSERT_NE(type, scrape.types.end()) << name << " has no " << family << "\n" << response.body;
      EXPECT_EQ(type->second, original.type) << family;
      for (const std::string& labels : original.series) {
        EXPECT_EQ(scrape.values.count(family + labels), 1u)
            << name << " lacks the original's series " << family << labels << "\n"
            << response.body;
      }
    }
    EXPECT_EQ(PromtoolVerdict(response.body), "") << name << "\n" << response.body;
  }
}

TEST(PromtoolVerdict, TellsParseErrorsFromLintFindingsOnTheOriginalsNames) {
  // The original's "_count" gauges are linted by promtool but are no problem of ours.
  EXPECT_EQ(PromtoolVerdict("# HELP secondarysyncer_worker_lock_count x\n"
                            "# TYPE secondarysyncer_worker_lock_count gauge\n"
                            "secondarysyncer_worker_lock_count 0\n"),
            "");
  EXPECT_NE(PromtoolVerdict("# HELP ours_count x\n# TYPE ours_count gauge\nours_count 0\n"), "");
  EXPECT_NE(PromtoolVerdict("# HELP a x\n# TYPE a gauge\na{x=\"1} 1\n"), "");
}

// Every series with a label value "failed" and its value.
std::map<SeriesKey, double> FailedSeries(const Scrape& scrape) {
  std::map<SeriesKey, double> failed;
  for (const auto& [key, value] : scrape.values) {
    if (key.find("=\"failed\"") != std::string::npos) failed[key] = value;
  }
  return failed;
}

TEST_F(BinaryMetricsTest, OrdinaryDeletionCountsNoFailureAnywhere) {
  const std::string zone = "deleted-normally.example.";
  const std::string state_requests = "secondarysyncer_zone_state_request_total";
  const double asked_at_start = Value("syncer0", state_requests);
  ASSERT_EQ(cluster_->CreateZone(zone, 5).status, 201);
  PDNSD_ASSERT_OK(cluster_->WaitAllServe(zone, cluster_->PrimarySerial(zone)));
  // The health-checker's event check of the creation asks the syncer for its state.
  ASSERT_TRUE(WaitFor([&] { return Value("syncer0", state_requests) > asked_at_start; },
                      std::chrono::seconds(30)));

  const auto before = ScrapeAll();
  ASSERT_EQ(cluster_->Proxy("DELETE", Cluster::ZonesPath(zone)).status, 204);
  PDNSD_ASSERT_OK(cluster_->WaitAllAbsent(zone));
  // Wait until each service did its part of the deletion: the syncer deleted the zone (after
  // asking the provider), the checker's event check asked the primary's API (a 404) and then
  // the syncer's state.
  const auto at = [&](const std::string& service, const SeriesKey& key) {
    auto it = before.at(service).values.find(key);
    return it == before.at(service).values.end() ? 0.0 : it->second;
  };
  const SeriesKey deleted =
      R"(secondarysyncer_powerdns_api_call_total{state="successful",type="delete"})";
  EXPECT_TRUE(WaitFor([&] { return Value("syncer0", deleted) > at("syncer0", deleted); }));
  EXPECT_TRUE(WaitFor([&] {
    return Value("zone-provider", "zoneprovider_response_total") >
           at("zone-provider", "zoneprovider_response_total");
  }));
  EXPECT_TRUE(
      WaitFor([&] { return Value("syncer0", state_requests) > at("syncer0", state_requests); },
              std::chrono::seconds(30)));
  const SeriesKey checker_api_ok = R"(healthchecker_powerdns_api_call_total{state="successful"})";
  EXPECT_GT(Value("health-checker", checker_api_ok), at("health-checker", checker_api_ok))
      << "the event check of the deletion asks the primary's API, which answers 404";

  const auto after = ScrapeAll();
  for (const auto& [service, scrape] : after) {
    const auto failed_before = FailedSeries(before.at(service));
    const auto failed_after = FailedSeries(scrape);
    if (service != "api-proxy") {
      EXPECT_FALSE(failed_after.empty()) << service << " has no failed series at all";
    }
    for (const auto& [key, value] : failed_after) {
      const auto was = failed_before.find(key);
      EXPECT_EQ(value, was == failed_before.end() ? 0.0 : was->second)
          << service << ": " << key << " counted a failure for an ordinary deletion";
    }
  }
}

TEST_F(BinaryMetricsTest, ProxyCountsAndLogsServerErrorsOfPowerDns) {
  const std::string zone = "locked.example.";
  ASSERT_EQ(cluster_->CreateZone(zone).status, 201);
  const SeriesKey errors = R"(apiproxy_powerdns_responses_total{class="5xx"})";
  const double errors_before = Value("api-proxy", errors);
  ASSERT_GE(errors_before, 0) << "no " << errors;
  EXPECT_GT(Value("api-proxy", R"(apiproxy_powerdns_responses_total{class="2xx"})"), 0);

  // Another writer holds the primary's sqlite database: PowerDNS answers the PATCH with 500
  // ("database is locked", what concurrent writes to a gsqlite3 primary get). The PATCH goes
  // out only once sqlite3 says (through a shell, unbuffered) it holds the lock (on a loaded machine
  // its start takes a while); killing it releases the lock.
  ChildProcess locker;
  TempDir dir;
  PDNSD_ASSERT_OK(locker.Start({"sqlite3", cluster_->primary.database_path(), "BEGIN EXCLUSIVE;",
                                ".shell echo LOCK-HELD", ".shell sleep 30", "COMMIT;"},
                               dir.File("sqlite3.log")));
  ASSERT_TRUE(WaitFor([&] {
    return locker.LogSinceStart().find("\nLOCK-HELD") != std::string::npos;
  })) << locker.LogSinceStart();
  HttpResponse answer;
  EXPECT_TRUE(WaitFor(
      [&] {
        answer = cluster_->SetARecord(zone, "www." + zone, "192.0.2.7");
        return answer.status == 500;
      },
      std::chrono::seconds(20)))
      << answer.status << " " << answer.body;
  locker.Kill();

  EXPECT_EQ(Value("api-proxy", errors), errors_before + 1);
  const std::string log = Service("api-proxy")->process.LogSinceStart();
  EXPECT_NE(log.find("PowerDNS answered PATCH /api/v1/servers/localhost/zones/locked.example. "
                     "with 500: "),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace pdnsd::testing
