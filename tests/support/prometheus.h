// A real Prometheus (Debian `prometheus`) for tests that check what an operator's monitoring
// sees: it scrapes the given /metrics endpoints and evaluates the given rule files, both every
// `interval`, and answers on its HTTP API (/api/v1/...). Started in a temporary directory on a
// free loopback port; stopped by the destructor.
//
//   pdnsd::testing::PrometheusServer prometheus;
//   PDNSD_ASSERT_OK(prometheus.Start({.targets = {"127.0.0.1:9120"}, .rules = {rules_yaml}}));
//   PDNSD_ASSERT_OK(prometheus.WaitForTargetsUp());
//   auto alerts = prometheus.Alerts();   // GET /api/v1/alerts
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/net.h"
#include "core/status.h"
#include "support/processes.h"

namespace pdnsd::testing {

struct PrometheusOptions {
  std::vector<std::string> targets;  // "host:port" serving GET /metrics
  std::vector<std::string> rules;    // the text of each rule file to load
  std::chrono::seconds interval{1};  // scrape and rule evaluation interval
};

// One entry of GET /api/v1/alerts.
struct PrometheusAlert {
  std::string name;   // labels["alertname"]
  std::string state;  // "pending" or "firing"
  std::map<std::string, std::string> labels;
  std::string summary;  // annotations["summary"], as Prometheus expanded it
};

class PrometheusServer {
 public:
  PrometheusServer() = default;
  ~PrometheusServer() { Stop(); }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // Writes prometheus.yml and the rule files, starts Prometheus and returns once /-/ready
  // answers 200. An invalid rule file is an error naming Prometheus's complaint.
  Status Start(const PrometheusOptions& options);
  int Stop();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string LogTail(int lines = 40) const { return process_.LogTail(lines); }

  // Waits until every target's last scrape succeeded.
  Status WaitForTargetsUp(std::chrono::milliseconds timeout = kStartTimeout);
  // The alerting rules Prometheus loaded (their names), from GET /api/v1/rules.
  StatusOr<std::vector<std::string>> AlertingRules();
  StatusOr<std::vector<PrometheusAlert>> Alerts();
  // An instant query: the value of each returned series by its labels' text ("{a="b"}").
  StatusOr<std::map<std::string, double>> Query(const std::string& expression);

 private:
  // GET url() + path: the "data" member of a "success" answer, as JSON text.
  StatusOr<std::string> ApiData(const std::string& path);

  std::optional<TempDir> dir_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace pdnsd::testing
