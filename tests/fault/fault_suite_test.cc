// The fault suite (issue 10, "Nothing lost, caught up at once"): a whole installation as
// operators run it — the service binaries as processes, nats-server with JetStream, the
// health-checker with its DEFAULT intervals and heartbeats every 10 s (the default) — under a
// load of 10 changes/s through the api-proxy over 10 zones, and one fault at a time. For each
// fault: no change the proxy acknowledged is lost, and every secondary serves the primary's
// serial and content for every zone within 2 s of the fault's end (or of the restart of the
// service the fault took down). Prints a table: fault, changes during, lost, time to
// converge. Label "fault" (not in scripts/test's default run; about 6 minutes):
//   ctest --test-dir build/test -L fault --output-on-failure
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dns/axfr_client.h"
#include "dns/soa_query.h"
#include "support/cluster.h"
#include "support/status_assertions.h"
#include "support/tcp_forwarder.h"

namespace pdnsd::testing {
namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kZones = 10;
constexpr milliseconds kChangeEvery{100};        // 10 changes/s over all zones
constexpr milliseconds kConvergeLimit{2000};     // the promise
constexpr milliseconds kConvergeGiveUp{180000};  // how long the test looks before it fails

std::string ZoneName(int i) { return "fault" + std::to_string(i) + ".example."; }

// The changes a load makes: per zone, the value the proxy acknowledged last and the values
// sent after it whose answer never came (a write in flight when the proxy died may still have
// been applied).
struct Ledger {
  std::mutex mutex;
  std::map<std::string, std::string> acknowledged;
  std::map<std::string, std::set<std::string>> unanswered;
  int sent = 0;
};

// Sends kChangeEvery one A-record change through the proxy, round robin over the zones, until
// stopped. Each change sets w.<zone> to a new address.
class Load {
 public:
  Load(Cluster& cluster, Ledger& ledger) : cluster_(cluster), ledger_(ledger) {}
  ~Load() { Stop(); }

  void Start() {
    running_ = true;
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    auto next = Steady::now();
    while (running_) {
      const int n = counter_++;
      const std::string zone = ZoneName(n % kZones);
      const std::string ip = "10." + std::to_string((n / 65536) % 256) + "." +
                             std::to_string((n / 256) % 256) + "." + std::to_string(n % 256);
      {
        std::lock_guard lock(ledger_.mutex);
        ledger_.unanswered[zone].insert(ip);
        ++ledger_.sent;
      }
      const HttpResponse response = cluster_.SetARecord(zone, "w." + zone, ip);
      if (response.status / 100 == 2) {
        std::lock_guard lock(ledger_.mutex);
        ledger_.acknowledged[zone] = ip;
        ledger_.unanswered[zone].clear();
      }
      next += kChangeEvery;
      std::this_thread::sleep_until(next);
      if (Steady::now() > next + seconds(1)) next = Steady::now();  // a slow write: no burst after
    }
  }

  Cluster& cluster_;
  Ledger& ledger_;
  std::atomic<bool> running_{false};
  std::atomic<int> counter_{1};
  std::thread thread_;
};

// The records of a zone as a server transfers it, sorted (record order is not content).
std::string Content(const HostPort& server, const std::string& zone) {
  auto transfer = TransferZone(server, zone, seconds(5));
  if (!transfer.ok()) return "error: " + transfer.status().ToString();
  std::vector<std::string> records = transfer->records;
  std::sort(records.begin(), records.end());
  records.erase(std::unique(records.begin(), records.end()), records.end());
  std::string text;
  for (const auto& record : records) text += record + "\n";
  return text;
}

struct Row {
  std::string fault;
  int changes_during = 0;
  int lost = 0;
  double converge_ms = -1;  // -1: did not converge
  std::string detail;
};

class FaultSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { rows_ = new std::vector<Row>(); }
  static void TearDownTestSuite() {
    std::printf("\n%-44s %16s %6s %18s\n", "fault", "changes during", "lost", "time to converge");
    for (const Row& row : *rows_) {
      char converge[32];
      if (row.converge_ms < 0) {
        std::snprintf(converge, sizeof converge, "not in %lld s",
                      static_cast<long long>(kConvergeGiveUp.count() / 1000));
      } else {
        std::snprintf(converge, sizeof converge, "%.0f ms", row.converge_ms);
      }
      std::printf("%-44s %16d %6d %18s\n", row.fault.c_str(), row.changes_during, row.lost,
                  converge);
    }
    std::fflush(stdout);
    delete rows_;
    rows_ = nullptr;
  }

  // 3: the broker is a three-node NATS cluster with R3 streams.
  virtual int nats_nodes() const { return 1; }

  void SetUp() override {
    ClusterOptions options;
    options.nats_nodes = nats_nodes();
    options.secondaries = 2;
    options.jetstream = true;
    options.health_checker = true;        // its default intervals (HealthCheckerConfig)
    options.ping_interval = seconds(10);  // the default [ServiceDiscovery] HealthPingIntervall
    options.syncer_retry_max = milliseconds(0);  // the default [PowerDNS] RetryMaxDelay
    options.service_binaries = PDNSD_BIN_DIR;
    PDNSD_ASSERT_OK(cluster_.Start(options));
    for (int i = 0; i < kZones; ++i) {
      const HttpResponse created = cluster_.CreateZone(ZoneName(i));
      ASSERT_EQ(created.status, 201) << created.body;
    }
    for (int i = 0; i < kZones; ++i) {
      PDNSD_ASSERT_OK(
          cluster_.WaitAllServe(ZoneName(i), cluster_.PrimarySerial(ZoneName(i)), seconds(60)));
    }
  }

  // True when every secondary serves the primary's serial and content for every zone.
  bool Converged(std::string* why) {
    for (int z = 0; z < kZones; ++z) {
      const std::string zone = ZoneName(z);
      const uint32_t serial = cluster_.PrimarySerial(zone);
      for (size_t s = 0; s < cluster_.secondaries.size(); ++s) {
        const uint32_t served = cluster_.ServedSerial(static_cast<int>(s), zone);
        if (served != serial) {
          *why = zone + " secondary " + std::to_string(s) + " serves serial " +
                 std::to_string(served) + ", the primary " + std::to_string(serial);
          return false;
        }
      }
    }
    for (int z = 0; z < kZones; ++z) {
      const std::string zone = ZoneName(z);
      const std::string primary = Content(cluster_.primary.dns_address(), zone);
      for (size_t s = 0; s < cluster_.secondaries.size(); ++s) {
        if (Content(cluster_.secondaries[s]->dns_address(), zone) != primary) {
          *why = zone + " secondary " + std::to_string(s) + " serves other content";
          return false;
        }
      }
    }
    return true;
  }

  // Milliseconds from `since` until Converged(), or -1 after kConvergeGiveUp.
  double TimeToConverge(Steady::time_point since, std::string* why) {
    while (Steady::now() - since < kConvergeGiveUp) {
      if (Converged(why)) {
        return std::chrono::duration<double, std::milli>(Steady::now() - since).count();
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return -1;
  }

  // Acknowledged changes the primary lost or a secondary does not serve (after convergence).
  int Lost(std::string* why) {
    std::lock_guard lock(ledger_.mutex);
    int lost = 0;
    for (const auto& [zone, ip] : ledger_.acknowledged) {
      const std::string name = "w." + zone;
      const std::set<std::string>& later = ledger_.unanswered[zone];
      for (int s = -1; s < static_cast<int>(cluster_.secondaries.size()); ++s) {
        const HostPort server =
            s < 0 ? cluster_.primary.dns_address() : cluster_.secondaries[s]->dns_address();
        const std::string served = DigShort(server, name, "A");
        if (served != ip && later.count(served) == 0) {
          ++lost;
          *why += name + " at " + (s < 0 ? "primary" : "secondary " + std::to_string(s)) + ": " +
                  served + ", acknowledged " + ip + "\n";
          break;
        }
      }
    }
    return lost;
  }

  // Runs `fault` under the load. `fault` returns the moment the fault ended (the restart of
  // what it took down); the load stops then, and the clock for convergence starts.
  template <typename Fault>
  void Run(const std::string& name, Fault fault, milliseconds load_before = seconds(2)) {
    Load load(cluster_, ledger_);
    load.Start();
    std::this_thread::sleep_for(load_before);
    int sent_before;
    {
      std::lock_guard lock(ledger_.mutex);
      sent_before = ledger_.sent;
    }
    const Steady::time_point ended = fault(load);
    load.Stop();
    Row row;
    row.fault = name;
    {
      std::lock_guard lock(ledger_.mutex);
      row.changes_during = ledger_.sent - sent_before;
    }
    row.converge_ms = TimeToConverge(ended, &row.detail);
    std::string lost_detail;
    row.lost = Lost(&lost_detail);
    rows_->push_back(row);
    EXPECT_EQ(row.lost, 0) << lost_detail;
    ASSERT_GE(row.converge_ms, 0) << name << ": not converged: " << row.detail;
    EXPECT_LE(row.converge_ms, kConvergeLimit.count()) << name;
  }

  ServiceProcess& Service(const std::string& name) {
    ServiceProcess* service = cluster_.FindServiceProcess(name);
    EXPECT_NE(service, nullptr) << name;
    return *service;
  }

  Cluster cluster_;
  Ledger ledger_;
  static std::vector<Row>* rows_;
};

std::vector<Row>* FaultSuite::rows_ = nullptr;

TEST_F(FaultSuite, SyncerCutOffFromNatsFor60s) {
  TcpForwarder link;
  PDNSD_ASSERT_OK(link.Start(cluster_.nats.address()));
  cluster_.StopSyncer(0);
  cluster_.SetSyncerBrokerUrl(0, link.nats_url());
  PDNSD_ASSERT_OK(cluster_.StartSyncer(0));
  Run("syncer cut off from NATS 60 s", [&](Load& load) {
    link.Cut();
    std::this_thread::sleep_for(seconds(10));
    load.Stop();  // changes only in the first 10 s
    std::this_thread::sleep_for(seconds(50));
    PDNSD_EXPECT_OK(link.Restore());
    return Steady::now();
  });
}

TEST_F(FaultSuite, SyncerFrozenFor60s) {
  Run("syncer frozen (SIGSTOP) 60 s", [&](Load&) {
    Service("syncer0").process.Signal(SIGSTOP);
    std::this_thread::sleep_for(seconds(60));
    Service("syncer0").process.Signal(SIGCONT);
    return Steady::now();
  });
}

TEST_F(FaultSuite, SyncerKilledAndRestarted) {
  Run("syncer killed and restarted", [&](Load&) {
    Service("syncer0").process.Kill();
    std::this_thread::sleep_for(seconds(5));
    PDNSD_EXPECT_OK(cluster_.RestartServiceProcess("syncer0"));
    return Steady::now();
  });
}

TEST_F(FaultSuite, SecondaryPowerDnsKilledAndRestarted) {
  Run("secondary PowerDNS killed and restarted", [&](Load&) {
    cluster_.secondaries[0]->Kill();
    std::this_thread::sleep_for(seconds(5));
    PDNSD_EXPECT_OK(cluster_.secondaries[0]->Start());
    return Steady::now();
  });
}

TEST_F(FaultSuite, ZoneProviderKilled) {
  Run("zone-provider killed (restarted after 5 s)", [&](Load&) {
    Service("zone-provider").process.Kill();
    std::this_thread::sleep_for(seconds(5));
    PDNSD_EXPECT_OK(cluster_.RestartServiceProcess("zone-provider"));
    return Steady::now();
  });
}

TEST_F(FaultSuite, ApiProxyKilledWithWritesInFlight) {
  Run("api-proxy killed with writes in flight", [&](Load&) {
    Service("api-proxy").process.Kill();
    std::this_thread::sleep_for(seconds(5));
    PDNSD_EXPECT_OK(cluster_.RestartServiceProcess("api-proxy"));
    return Steady::now();
  });
}

TEST_F(FaultSuite, NatsServerKilledAndRestartedFiveTimes) {
  Run("nats-server killed and restarted 5 times", [&](Load&) {
    for (int i = 0; i < 5; ++i) {
      cluster_.nats.Kill();
      std::this_thread::sleep_for(seconds(2));
      PDNSD_EXPECT_OK(cluster_.nats.Start());
      std::this_thread::sleep_for(seconds(3));
    }
    return Steady::now();
  });
}

TEST_F(FaultSuite, ChangeMadeWithPdnsutilOnThePrimary) {
  Run(
      "a change made with pdnsutil on the primary",
      [&](Load& load) {
        load.Stop();
        const std::string zone = ZoneName(3);
        const CommandResult replaced =
            cluster_.primary.RunPdnsutil({"replace-rrset", zone, "w", "A", "60", "192.0.2.99"});
        EXPECT_TRUE(replaced.ok()) << replaced.output;
        const CommandResult increased = cluster_.primary.RunPdnsutil({"increase-serial", zone});
        EXPECT_TRUE(increased.ok()) << increased.output;
        {
          std::lock_guard lock(ledger_.mutex);
          ledger_.acknowledged[zone] = "192.0.2.99";
          ledger_.unanswered[zone].clear();
        }
        return Steady::now();
      },
      seconds(1));
}

class FaultSuiteOnThreeNodes : public FaultSuite {
 protected:
  int nats_nodes() const override { return 3; }
};

// The node that leads the catalog's stream is killed and stays down: the services on the other
// two go on; convergence is measured after 10 s of load with the node down, then it comes back.
TEST_F(FaultSuiteOnThreeNodes, OneNodeOfAThreeNodeNatsClusterKilled) {
  NatsCluster& nats = cluster_.nats_cluster;
  ASSERT_EQ(nats.size(), 3u);
  const std::string leader = nats.StreamLeader("KV_pdns_distribute_catalog");
  const std::optional<size_t> node = nats.IndexOf(leader);
  ASSERT_TRUE(node.has_value()) << "no leader of the catalog's stream: \"" << leader << "\"";
  Run("one node of a three-node NATS cluster killed", [&](Load&) {
    nats.KillNode(*node);
    std::this_thread::sleep_for(seconds(10));
    return Steady::now();
  });
  PDNSD_EXPECT_OK(nats.StartNode(*node));
}

}  // namespace
}  // namespace pdnsd::testing
