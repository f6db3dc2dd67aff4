// The alerting rules an operator loads (docs/alerts/pdns-distribute.rules.yml) in a real
// Prometheus that scrapes the health-checker of a test cluster: a secondary falls behind, the
// alerts about it fire (Prometheus's own /api/v1/alerts), and they clear once it has caught up.
// The expressions are the shipped ones; only their thresholds are lowered from minutes to
// seconds (WithTestThresholds), so that the test takes seconds.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "core/metrics.h"
#include "support/cluster.h"
#include "support/prometheus.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::seconds;

// The rules with each "> N" (N > 2) at the end of an expression made "> 2" and each "for:" made
// 2 s. Lines are otherwise kept, so that a rule whose metric or labels do not exist still fails.
std::string WithTestThresholds(const std::string& rules) {
  static const std::regex comparison(R"(^(\s*expr:.*>\s*)([0-9]+)\s*$)");
  static const std::regex hold(R"(^(\s*for:\s*)\S+\s*$)");
  std::istringstream in(rules);
  std::string out, line;
  std::smatch match;
  while (std::getline(in, line)) {
    if (std::regex_match(line, match, comparison) && std::stol(match[2]) > 2) {
      line = match[1].str() + "2";
    } else if (std::regex_match(line, match, hold)) {
      line = match[1].str() + "2s";
    }
    out += line + "\n";
  }
  return out;
}

// The alerts named `name` in state "firing", by their "secondary" label.
std::set<std::string> Firing(PrometheusServer& prometheus, const std::string& name) {
  std::set<std::string> secondaries;
  auto alerts = prometheus.Alerts();
  if (!alerts.ok()) return {"(" + alerts.status().ToString() + ")"};
  for (const PrometheusAlert& alert : *alerts) {
    if (alert.name == name && alert.state == "firing") {
      secondaries.insert(alert.labels.count("secondary") ? alert.labels.at("secondary") : "");
    }
  }
  return secondaries;
}

std::string AlertsText(PrometheusServer& prometheus) {
  auto alerts = prometheus.Alerts();
  if (!alerts.ok()) return alerts.status().ToString();
  std::string text;
  for (const PrometheusAlert& alert : *alerts) {
    text += alert.name + " " + alert.state + ": " + alert.summary + "\n";
  }
  return text.empty() ? "no alerts" : text;
}

TEST(AlertingTest, ASecondaryBehindFiresItsAlertsInPrometheusAndTheyClearWhenItCatchesUp) {
  const std::string shipped = ReadFile(PDNSD_SOURCE_DIR "/docs/alerts/pdns-distribute.rules.yml");
  ASSERT_FALSE(shipped.empty());
  const std::string rules = WithTestThresholds(shipped);
  ASSERT_NE(rules, shipped) << "no threshold was lowered: the rules file changed its form";

  Cluster cluster;
  ClusterOptions options;
  options.health_checker = true;  // its default intervals
  PDNSD_ASSERT_OK(cluster.Start(options));
  MetricsServer metrics({"127.0.0.1", 0}, cluster.checker_registry, MakeTestLogger("metrics"));
  PDNSD_ASSERT_OK(metrics.Start());

  PrometheusServer prometheus;
  PrometheusOptions monitoring;
  monitoring.targets = {metrics.address().ToString()};
  monitoring.rules = {rules};
  PDNSD_ASSERT_OK(prometheus.Start(monitoring));
  PDNSD_ASSERT_OK(prometheus.WaitForTargetsUp());
  auto loaded = prometheus.AlertingRules();
  PDNSD_ASSERT_OK(loaded.status());
  EXPECT_EQ(loaded->size(), 5u);

  // A healthy fleet: both syncers active, a change served by both, and nothing fires.
  const std::string active = "healthchecker_actual_active_secondary_count";
  ASSERT_TRUE(WaitFor([&] {
    auto value = prometheus.Query(active);
    return value.ok() && !value->empty() && value->begin()->second >= 2;
  })) << prometheus.LogTail();
  const std::string zone = "alerting.example.";
  ASSERT_EQ(cluster.CreateZone(zone).status, 201);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, cluster.PrimarySerial(zone)));
  const std::string pending =
      "healthchecker_secondary_pending_changes{secondary=\"secondary-1\"} == 0";
  ASSERT_TRUE(WaitFor([&] {
    auto value = prometheus.Query(pending);
    return value.ok() && value->size() == 1;
  })) << "Prometheus never saw secondary 1 with no pending change";
  EXPECT_TRUE(Firing(prometheus, "PdnsDistributeSecondaryBehind").empty())
      << AlertsText(prometheus);

  // Secondary 1's PowerDNS goes away: its syncer stays alive but cannot apply the change.
  cluster.secondaries[1]->Stop();
  ASSERT_EQ(cluster.SetARecord(zone, "www." + zone, "192.0.2.21").status, 204);
  const std::set<std::string> one = {"secondary-1"};
  EXPECT_TRUE(WaitFor([&] { return Firing(prometheus, "PdnsDistributeSecondaryBehind") == one; },
                      seconds(60), std::chrono::milliseconds(500)))
      << AlertsText(prometheus);
  EXPECT_TRUE(WaitFor([&] { return !Firing(prometheus, "PdnsDistributeChangePending").empty(); },
                      seconds(60), std::chrono::milliseconds(500)))
      << AlertsText(prometheus);

  // Back: the syncer retries (or the checker repairs), and the alerts clear.
  PDNSD_ASSERT_OK(cluster.secondaries[1]->Start());
  EXPECT_TRUE(WaitFor(
      [&] {
        return Firing(prometheus, "PdnsDistributeSecondaryBehind").empty() &&
               Firing(prometheus, "PdnsDistributeChangePending").empty();
      },
      seconds(120), std::chrono::milliseconds(500)))
      << AlertsText(prometheus);
  EXPECT_EQ(cluster.ServedSerial(1, zone), cluster.PrimarySerial(zone));
}

}  // namespace
}  // namespace pdnsd::testing
