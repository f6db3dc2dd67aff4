#include "support/prometheus.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace pdnsd::testing {
namespace {

using nlohmann::json;

// application/x-www-form-urlencoded / query component encoding of `text`.
std::string PercentEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string LabelsText(const json& labels) {
  std::string text = "{";
  for (const auto& [key, value] : labels.items()) {
    if (text.size() > 1) text += ",";
    text += key + "=\"" + value.get<std::string>() + "\"";
  }
  return text + "}";
}

}  // namespace

Status PrometheusServer::Start(const PrometheusOptions& options) {
  if (process_.IsRunning()) return Status::Internal("prometheus already running");
  dir_.emplace("pdnsd-prometheus");
  const std::string interval = std::to_string(options.interval.count()) + "s";
  std::string config = "# written by pdnsd::testing::PrometheusServer\nglobal:\n";
  config += "  scrape_interval: " + interval + "\n  evaluation_interval: " + interval + "\n";
  config += "rule_files:\n";
  for (size_t i = 0; i < options.rules.size(); ++i) {
    const std::string path = dir_->File("rules-" + std::to_string(i) + ".yml");
    if (Status written = WriteFile(path, options.rules[i]); !written.ok()) return written;
    config += "  - \"" + path + "\"\n";
  }
  config += "scrape_configs:\n  - job_name: pdns-distribute\n    static_configs:\n";
  config += "      - targets: [";
  for (size_t i = 0; i < options.targets.size(); ++i) {
    config += (i ? ", \"" : "\"") + options.targets[i] + "\"";
  }
  config += "]\n";
  if (Status written = WriteFile(dir_->File("prometheus.yml"), config); !written.ok()) {
    return written;
  }
  Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreePort();
    status = process_.Start({"prometheus", "--config.file=" + dir_->File("prometheus.yml"),
                             "--storage.tsdb.path=" + dir_->File("data"),
                             "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
                            dir_->File("prometheus.log"));
    if (!status.ok()) return status;
    const bool ready = WaitFor(
        [&] { return !process_.IsRunning() || HttpCall("GET", url() + "/-/ready").status == 200; },
        kStartTimeout, std::chrono::milliseconds(100));
    if (process_.IsRunning() && ready) return Status::Ok();
    const std::string log = process_.LogSinceStart();
    process_.Kill();
    status = Status::Unavailable("prometheus did not start on " + url() + ":\n" +
                                 log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    if (log.find("address already in use") == std::string::npos) return status;
  }
  return status;
}

int PrometheusServer::Stop() { return process_.Stop(); }

StatusOr<std::string> PrometheusServer::ApiData(const std::string& path) {
  HttpResponse answer = HttpCall("GET", url() + path);
  if (answer.status != 200) {
    return Status::Unavailable("GET " + path + " on prometheus: " + std::to_string(answer.status) +
                               " " + answer.body + answer.error);
  }
  json doc = json::parse(answer.body, nullptr, false);
  if (!doc.is_object() || doc.value("status", "") != "success" || !doc.contains("data")) {
    return Status::Internal("GET " + path + " on prometheus: " + answer.body);
  }
  return doc["data"].dump();
}

Status PrometheusServer::WaitForTargetsUp(std::chrono::milliseconds timeout) {
  std::string last = "no answer";
  const bool up = WaitFor(
      [&] {
        auto data = ApiData("/api/v1/targets?state=active");
        if (!data.ok()) {
          last = data.status().ToString();
          return false;
        }
        last = *data;
        const json targets = json::parse(*data)["activeTargets"];
        if (!targets.is_array() || targets.empty()) return false;
        for (const auto& target : targets) {
          if (target.value("health", "") != "up") return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(200));
  return up ? Status::Ok() : Status::Timeout("prometheus targets not up: " + last);
}

StatusOr<std::vector<std::string>> PrometheusServer::AlertingRules() {
  auto data = ApiData("/api/v1/rules?type=alert");
  if (!data.ok()) return data.status();
  std::vector<std::string> names;
  const json doc = json::parse(*data);
  for (const auto& group : doc["groups"]) {
    for (const auto& rule : group["rules"]) names.push_back(rule.value("name", ""));
  }
  return names;
}

StatusOr<std::vector<PrometheusAlert>> PrometheusServer::Alerts() {
  auto data = ApiData("/api/v1/alerts");
  if (!data.ok()) return data.status();
  std::vector<PrometheusAlert> alerts;
  const json doc = json::parse(*data);
  for (const auto& entry : doc["alerts"]) {
    PrometheusAlert alert;
    for (const auto& [key, value] : entry["labels"].items()) {
      alert.labels[key] = value.get<std::string>();
    }
    alert.name = alert.labels["alertname"];
    alert.state = entry.value("state", "");
    if (entry.contains("annotations")) alert.summary = entry["annotations"].value("summary", "");
    alerts.push_back(std::move(alert));
  }
  return alerts;
}

StatusOr<std::map<std::string, double>> PrometheusServer::Query(const std::string& expression) {
  auto data = ApiData("/api/v1/query?query=" + PercentEncode(expression));
  if (!data.ok()) return data.status();
  std::map<std::string, double> values;
  const json doc = json::parse(*data);
  for (const auto& sample : doc["result"]) {
    values[LabelsText(sample["metric"])] = std::stod(sample["value"][1].get<std::string>());
  }
  return values;
}

}  // namespace pdnsd::testing
