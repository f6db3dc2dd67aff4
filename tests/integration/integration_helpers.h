// Small helpers shared by the integration tests in this directory (header only: each *_test.cc
// is its own executable).
#pragma once

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "model/messages.h"
#include "support/cluster.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {

// The value of counter `name` with exactly `labels` in `registry` (0 when it does not exist).
inline double CounterValue(prometheus::Registry& registry, const std::string& name,
                           const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& label : metric.label) have[label.name] = label.value;
      if (have == labels) return metric.counter.value;
    }
  }
  return 0;
}

// Reconciles a syncer finished, by result ("successful" / "failed").
inline double Reconciles(Cluster& cluster, size_t syncer, const std::string& result) {
  return CounterValue(*cluster.syncer_registries[syncer], "secondarysyncer_reconciles_total",
                      {{"result", result}});
}

// Zone events a syncer received, by type label ("create", "change", "delete").
inline double EventsReceived(Cluster& cluster, size_t syncer, const std::string& type) {
  return CounterValue(*cluster.syncer_registries[syncer],
                      "secondarysyncer_received_zone_events_total", {{"event_type", type}});
}

// Waits until every syncer has nothing marked or in progress.
inline ::testing::AssertionResult WaitSyncersIdle(
    Cluster& cluster, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const bool idle = WaitFor(
      [&] {
        for (const auto& syncer : cluster.syncers) {
          if (syncer->backlog() != 0) return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(20));
  if (idle) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure()
                 << "syncers still busy after " << timeout.count() << " ms:";
  for (size_t i = 0; i < cluster.syncers.size(); ++i) {
    failure << " syncer" << i << " backlog=" << cluster.syncers[i]->backlog();
  }
  return failure;
}

// `text` split into lines, without empty ones, sorted.
inline std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The DNSKEY set `server` answers for `zone` (one key per line, sorted).
inline std::vector<std::string> ServedDnskeys(const HostPort& server, const std::string& zone) {
  return SortedLines(DigShort(server, zone, "DNSKEY", "+nosplit"));
}

// The zone names in a PowerDNS API zone list.
inline std::vector<std::string> ListedZones(const PdnsServer& server) {
  std::vector<std::string> names;
  const HttpResponse response = server.Api("GET", Cluster::ZonesPath());
  if (response.status != 200) return names;
  const auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (!doc.is_array()) return names;
  for (const auto& zone : doc) names.push_back(zone.value("name", ""));
  return names;
}

// Counts the events per zone that arrive on one subject, through its own bus connection.
class EventCounter {
 public:
  Status Start(const NatsServer& nats, const std::string& subject) {
    auto bus = Bus::Connect(TestBusOptions(nats, "test-observer"), MakeTestLogger("observer"));
    if (!bus.ok()) return bus.status();
    bus_ = std::move(*bus);
    auto subscription = bus_->Subscribe(subject, "", [this](const BusMessage& message) {
      auto event = DecodeZoneEvent(ZoneEventType::kChange, message.data);
      std::lock_guard lock(mutex_);
      ++counts_[event.ok() ? event->zone : "<invalid>"];
    });
    if (!subscription.ok()) return subscription.status();
    subscription_ = std::move(*subscription);
    return bus_->Flush(std::chrono::seconds(5));
  }
  ~EventCounter() { subscription_.reset(); }  // before the bus

  int Count(const std::string& zone) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(zone);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<Subscription> subscription_;
  mutable std::mutex mutex_;
  std::map<std::string, int> counts_;  // GUARDED_BY(mutex_)
};

}  // namespace pdnsd::testing
