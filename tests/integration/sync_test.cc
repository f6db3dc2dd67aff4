// The sync path end to end: api-proxy -> NATS -> secondary-syncers <- zone-provider, with a
// real nats-server and real PowerDNS primary and secondaries.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/cluster.h"
#include "support/postgres.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override { PDNSD_ASSERT_OK(cluster_.Start()); }
  Cluster cluster_;
};

TEST_F(SyncTest, CreatedZoneIsServedByBothSecondaries) {
  auto created =
      cluster_.CreateZone("example.org.", 2026112501,
                          R"([{"name":"www.example.org.","type":"A","ttl":60,"changetype":"REPLACE",
           "records":[{"content":"192.0.2.10","disabled":false}]}])");
  ASSERT_EQ(created.status, 201) << created.body;
  const uint32_t primary_serial = cluster_.ServedSerial(-1, "example.org.");
  ASSERT_NE(primary_serial, 0u);
  PDNSD_EXPECT_OK(cluster_.WaitAllServe("example.org.", primary_serial));
  for (auto& secondary : cluster_.secondaries) {
    EXPECT_EQ(DigShort(secondary->dns_address(), "www.example.org.", "A"), "192.0.2.10");
  }
}

TEST_F(SyncTest, PatchReachesBothSecondaries) {
  ASSERT_EQ(cluster_.CreateZone("patch.example.", 1).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("patch.example.", cluster_.ServedSerial(-1, "patch.example.")));
  auto patched = cluster_.SetARecord("patch.example.", "new.patch.example.", "198.51.100.7");
  ASSERT_EQ(patched.status, 204) << patched.body;
  const uint32_t serial = cluster_.ServedSerial(-1, "patch.example.");
  EXPECT_GT(serial, 1u) << "SOA-EDIT-API INCREASE should bump the serial";
  PDNSD_EXPECT_OK(cluster_.WaitAllServe("patch.example.", serial));
  for (auto& secondary : cluster_.secondaries) {
    EXPECT_EQ(DigShort(secondary->dns_address(), "new.patch.example.", "A"), "198.51.100.7");
  }
}

TEST_F(SyncTest, DeleteRemovesZoneFromBothSecondaries) {
  ASSERT_EQ(cluster_.CreateZone("gone.example.", 5).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("gone.example.", cluster_.ServedSerial(-1, "gone.example.")));
  auto deleted = cluster_.Proxy("DELETE", Cluster::ZonesPath("gone.example."));
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  PDNSD_EXPECT_OK(cluster_.WaitAllAbsent("gone.example."));
  for (auto& secondary : cluster_.secondaries) {
    const std::string status =
        RunCommand("dig +norec +time=2 -p " + std::to_string(secondary->dns_address().port) + " @" +
                   secondary->dns_address().host + " gone.example. SOA");
    EXPECT_EQ(status.find("flags: qr aa"), std::string::npos) << status;
  }
}

TEST_F(SyncTest, Rfc2317ZoneWithSlashPropagates) {
  const std::string zone = "0/25.2.0.192.in-addr.arpa.";
  auto created = cluster_.CreateZone(
      zone, 7,
      R"([{"name":"1.0/25.2.0.192.in-addr.arpa.","type":"PTR","ttl":60,"changetype":"REPLACE",
           "records":[{"content":"host.example.","disabled":false}]}])");
  ASSERT_EQ(created.status, 201) << created.body;
  PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, cluster_.ServedSerial(-1, zone)));
  for (auto& secondary : cluster_.secondaries) {
    EXPECT_EQ(DigShort(secondary->dns_address(), "1.0/25.2.0.192.in-addr.arpa.", "PTR"),
              "host.example.");
  }
}

// PowerDNS 4.7's gsqlite3 backend answers concurrent writes with 500 "database is locked"
// (deferred transactions; see docs/benchmarks.md). With WriteConcurrency = 1 the proxy sends
// them one at a time: 6 clients PATCHing at once all succeed, and every change arrives.
TEST(ProxyWriteConcurrency, ConcurrentPatchesToASqlitePrimaryAllSucceed) {
  Cluster cluster;
  ClusterOptions options;
  options.proxy_write_concurrency = 1;
  PDNSD_ASSERT_OK(cluster.Start(options));
  constexpr int kClients = 6, kPatches = 25;
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(cluster.CreateZone("w" + std::to_string(c) + ".example.", 1).status, 201);
  }
  std::vector<int> failures(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::string zone = "w" + std::to_string(c) + ".example.";
      for (int i = 0; i < kPatches; ++i) {
        const auto r = cluster.SetARecord(
            zone, "www." + zone, "10.0." + std::to_string(c) + "." + std::to_string(i + 1));
        if (r.status != 204) ++failures[c];
      }
    });
  }
  for (auto& client : clients) client.join();
  for (int c = 0; c < kClients; ++c) {
    const std::string zone = "w" + std::to_string(c) + ".example.";
    EXPECT_EQ(failures[c], 0) << zone;
    const uint32_t serial = cluster.PrimarySerial(zone);
    EXPECT_EQ(serial, 2u + kPatches) << zone << ": one serial step per accepted PATCH";
    PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, serial));
    EXPECT_EQ(DigShort(cluster.secondaries[0]->dns_address(), "www." + zone, "A"),
              "10.0." + std::to_string(c) + "." + std::to_string(kPatches));
  }
}

// A busy primary on PostgreSQL (gpgsql), the proxy's stock WriteConcurrency (no limit): 6
// clients PATCHing at once all succeed, every change arrives, and a deletion too.
TEST(ProxyWriteConcurrency, ConcurrentPatchesToAPostgresPrimaryAllSucceedWithoutALimit) {
  PostgresServer postgres;
  PDNSD_ASSERT_OK(postgres.Start());
  auto database = postgres.CreatePdnsDatabase("primary");
  PDNSD_ASSERT_OK(database.status());
  Cluster cluster;
  ClusterOptions options;
  options.primary_gpgsql = *database;
  PDNSD_ASSERT_OK(cluster.Start(options));
  constexpr int kClients = 6, kPatches = 25;
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(cluster.CreateZone("p" + std::to_string(c) + ".example.", 1).status, 201);
  }
  std::vector<int> failures(kClients, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::string zone = "p" + std::to_string(c) + ".example.";
      for (int i = 0; i < kPatches; ++i) {
        const auto r = cluster.SetARecord(
            zone, "www." + zone, "10.1." + std::to_string(c) + "." + std::to_string(i + 1));
        if (r.status != 204) ++failures[c];
      }
    });
  }
  for (auto& client : clients) client.join();
  for (int c = 0; c < kClients; ++c) {
    const std::string zone = "p" + std::to_string(c) + ".example.";
    EXPECT_EQ(failures[c], 0) << zone;
    const uint32_t serial = cluster.PrimarySerial(zone);
    EXPECT_EQ(serial, 2u + kPatches) << zone << ": one serial step per accepted PATCH";
    PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, serial));
    EXPECT_EQ(DigShort(cluster.secondaries[0]->dns_address(), "www." + zone, "A"),
              "10.1." + std::to_string(c) + "." + std::to_string(kPatches));
  }
  // The zones are PostgreSQL's: the primary has no sqlite3 database behind them.
  EXPECT_EQ(cluster.primary.Sql("SELECT count(*) FROM domains"), std::to_string(kClients) + "\n");
  ASSERT_EQ(cluster.Proxy("DELETE", Cluster::ZonesPath("p0.example.")).status, 204);
  EXPECT_TRUE(WaitFor([&] {
    for (auto& secondary : cluster.secondaries) {
      if (DigShort(secondary->dns_address(), "p0.example.", "SOA") != "") return false;
    }
    return true;
  }));
}

}  // namespace
}  // namespace pdnsd::testing
