// Zone events are hints, not commands (docs/architecture.md, "How a change flows"): whatever order
// events arrive in, and whatever they claim, each secondary ends up holding what the primary holds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "integration/integration_helpers.h"
#include "model/messages.h"
#include "support/cluster.h"

namespace pdnsd::testing {
namespace {

class HintsTest : public ::testing::Test {
 protected:
  void SetUp() override { PDNSD_ASSERT_OK(cluster_.Start()); }

  static std::string ARecord(const std::string& name, const std::string& ip) {
    return nlohmann::json::array({{{"name", name},
                                   {"type", "A"},
                                   {"ttl", 60},
                                   {"changetype", "REPLACE"},
                                   {"records", {{{"content", ip}, {"disabled", false}}}}}})
        .dump();
  }

  Cluster cluster_;
};

TEST_F(HintsTest, ZoneDeletedAndRecreatedAtOnceEndsWithTheNewSerial) {
  const std::string zone = "again.example.";
  ASSERT_EQ(cluster_.CreateZone(zone, 10, ARecord("old.again.example.", "192.0.2.1")).status, 201);
  const uint32_t old_serial = cluster_.ServedSerial(-1, zone);
  ASSERT_NE(old_serial, 0u);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, old_serial));

  // Delete and create again with a lower serial, back to back.
  ASSERT_EQ(cluster_.Proxy("DELETE", Cluster::ZonesPath(zone)).status, 204);
  ASSERT_EQ(cluster_.CreateZone(zone, 3, ARecord("new.again.example.", "192.0.2.2")).status, 201);
  // The primary itself may answer REFUSED for a while: a SOA query that came between the
  // delete and the create (the syncers acting on the delete event) sits in its packet cache
  // for up to cache-ttl (20 s). The truth is what it serves, so wait for that.
  uint32_t new_serial = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        new_serial = cluster_.ServedSerial(-1, zone);
        return new_serial != 0;
      },
      std::chrono::seconds(40), std::chrono::milliseconds(100)))
      << "the primary does not serve the re-created zone";
  ASSERT_TRUE(SerialGreater(old_serial, new_serial)) << old_serial << " vs " << new_serial;

  PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, new_serial, std::chrono::seconds(60)));
  EXPECT_TRUE(WaitSyncersIdle(cluster_));
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    SCOPED_TRACE("secondary" + std::to_string(i));
    const PdnsServer& secondary = *cluster_.secondaries[i];
    EXPECT_TRUE(cluster_.SecondaryHasZone(static_cast<int>(i), zone));
    EXPECT_EQ(cluster_.ServedSerial(static_cast<int>(i), zone), new_serial);
    EXPECT_EQ(DigShort(secondary.dns_address(), "new.again.example.", "A"), "192.0.2.2");
    EXPECT_EQ(DigShort(secondary.dns_address(), "old.again.example.", "A"), "")
        << "the old zone's record is still served";
  }
}

TEST_F(HintsTest, SecondaryAheadOfThePrimaryIsReplaced) {
  // The zone is deleted and created anew on the primary behind the proxy's back (no delete
  // event at all); the next change event finds the secondaries' copies ahead of the primary.
  const std::string zone = "ahead.example.";
  ASSERT_EQ(cluster_.CreateZone(zone, 50, ARecord("old.ahead.example.", "192.0.2.5")).status, 201);
  const uint32_t old_serial = cluster_.ServedSerial(-1, zone);
  ASSERT_NE(old_serial, 0u);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, old_serial));

  ASSERT_EQ(cluster_.primary.Api("DELETE", Cluster::ZonesPath(zone)).status, 204);
  const std::string body = Cluster::ZoneBody(zone, "Native", 5);
  ASSERT_EQ(cluster_.primary.Api("POST", Cluster::ZonesPath(), body).status, 201);
  ASSERT_EQ(cluster_.SetARecord(zone, "new.ahead.example.", "192.0.2.6").status, 204);
  uint32_t new_serial = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        new_serial = cluster_.ServedSerial(-1, zone);
        return new_serial != 0 && new_serial != old_serial;
      },
      std::chrono::seconds(40), std::chrono::milliseconds(100)));
  ASSERT_TRUE(SerialGreater(old_serial, new_serial)) << old_serial << " vs " << new_serial;

  PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, new_serial, std::chrono::seconds(60)));
  EXPECT_TRUE(WaitSyncersIdle(cluster_));
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    SCOPED_TRACE("secondary" + std::to_string(i));
    const PdnsServer& secondary = *cluster_.secondaries[i];
    EXPECT_EQ(cluster_.ServedSerial(static_cast<int>(i), zone), new_serial);
    EXPECT_EQ(DigShort(secondary.dns_address(), "new.ahead.example.", "A"), "192.0.2.6");
    EXPECT_EQ(DigShort(secondary.dns_address(), "old.ahead.example.", "A"), "");
  }
}

TEST_F(HintsTest, ZoneCreatedAndDeletedAtOnceEndsAbsent) {
  constexpr int kZones = 5;
  std::vector<std::string> zones;
  for (int i = 0; i < kZones; ++i) zones.push_back("brief" + std::to_string(i) + ".example.");
  for (const auto& zone : zones) {
    ASSERT_EQ(cluster_.CreateZone(zone, 1).status, 201);
    ASSERT_EQ(cluster_.Proxy("DELETE", Cluster::ZonesPath(zone)).status, 204);
  }
  // Every syncer got every event; then whatever it made of them has settled.
  for (size_t i = 0; i < cluster_.syncers.size(); ++i) {
    EXPECT_TRUE(WaitFor(
        [&] {
          return EventsReceived(cluster_, i, "create") >= kZones &&
                 EventsReceived(cluster_, i, "delete") >= kZones;
        },
        std::chrono::seconds(30)))
        << "syncer" << i << " did not receive all events";
  }
  for (const auto& zone : zones)
    PDNSD_EXPECT_OK(cluster_.WaitAllAbsent(zone, std::chrono::seconds(60)));
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  // ... and it stays so: nothing is left to bring a zone back.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(WaitSyncersIdle(cluster_));
  for (const auto& zone : zones) {
    for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
      EXPECT_FALSE(cluster_.SecondaryHasZone(static_cast<int>(i), zone))
          << zone << " secondary" << i;
      EXPECT_EQ(cluster_.ServedSerial(static_cast<int>(i), zone), 0u) << zone << " secondary" << i;
    }
  }
}

TEST_F(HintsTest, DeleteEventForZoneThePrimaryHasDeletesNothing) {
  const std::string zone = "kept.example.";
  ASSERT_EQ(cluster_.CreateZone(zone, 42, ARecord("www.kept.example.", "192.0.2.42")).status, 201);
  const uint32_t serial = cluster_.ServedSerial(-1, zone);
  ASSERT_NE(serial, 0u);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, serial));
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  std::vector<double> reconciled;
  for (size_t i = 0; i < cluster_.syncers.size(); ++i) {
    reconciled.push_back(Reconciles(cluster_, i, "successful"));
  }

  // Forged (or reordered) delete events, broadcast and targeted at secondary 0.
  auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "forger"), MakeTestLogger("forger"));
  PDNSD_ASSERT_OK(bus.status());
  const std::string event = EncodeZoneEvent(
      ZoneEvent{ZoneEventType::kDelete, zone, FormatRfc3339(std::chrono::system_clock::now()), ""});
  PDNSD_ASSERT_OK((*bus)->Publish("zone.delete", event));
  PDNSD_ASSERT_OK((*bus)->Publish("zone.delete.secondary-0", event));
  PDNSD_ASSERT_OK((*bus)->Flush(std::chrono::seconds(5)));

  for (size_t i = 0; i < cluster_.syncers.size(); ++i) {
    const double deletes = i == 0 ? 2 : 1;
    EXPECT_TRUE(WaitFor(
        [&] {
          return EventsReceived(cluster_, i, "delete") >= deletes &&
                 Reconciles(cluster_, i, "successful") > reconciled[i];
        },
        std::chrono::seconds(30)))
        << "syncer" << i << " did not act on the delete event";
  }
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    SCOPED_TRACE("secondary" + std::to_string(i));
    EXPECT_TRUE(cluster_.SecondaryHasZone(static_cast<int>(i), zone));
    EXPECT_EQ(cluster_.ServedSerial(static_cast<int>(i), zone), serial);
    EXPECT_EQ(DigShort(cluster_.secondaries[i]->dns_address(), "www.kept.example.", "A"),
              "192.0.2.42");
  }
}

// An add event for a zone the secondaries already hold (a re-sent or forged add, or a change
// made on the primary directly): the syncer's create meets 409, and it goes on as for a change.
TEST_F(HintsTest, AddEventForZoneTheSecondariesHoldBringsItsChange) {
  const std::string zone = "again.example.";
  ASSERT_EQ(cluster_.CreateZone(zone, 7, ARecord("www.again.example.", "192.0.2.7")).status, 201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
  // A change made on the primary's API directly: no event from the proxy.
  ASSERT_EQ(cluster_.primary
                .Api("PATCH", Cluster::ZonesPath(zone),
                     Cluster::ARecordPatch("www.again.example.", "192.0.2.8"))
                .status,
            204);
  const uint32_t serial = cluster_.PrimarySerial(zone);
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  ASSERT_NE(cluster_.ServedSerial(0, zone), serial) << "nothing announced the change yet";
  std::vector<double> failed;
  for (size_t i = 0; i < cluster_.syncers.size(); ++i) {
    failed.push_back(Reconciles(cluster_, i, "failed"));
  }

  auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "announcer"), MakeTestLogger("announcer"));
  PDNSD_ASSERT_OK(bus.status());
  PDNSD_ASSERT_OK((*bus)->Publish(
      "zone.add", EncodeZoneEvent(ZoneEvent{ZoneEventType::kAdd, zone,
                                            FormatRfc3339(std::chrono::system_clock::now()), ""})));
  PDNSD_ASSERT_OK((*bus)->Flush(std::chrono::seconds(5)));
  PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, serial));
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    EXPECT_EQ(DigShort(cluster_.secondaries[i]->dns_address(), "www.again.example.", "A"),
              "192.0.2.8");
    EXPECT_EQ(Reconciles(cluster_, i, "failed"), failed[i]) << "no failed attempt on the way";
  }
}

TEST_F(HintsTest, ManyZonesCreatedAtOnceAllArrive) {
  constexpr int kZones = 200;
  constexpr int kThreads = 4;
  const std::string suffix = ".many.example.";
  std::vector<std::string> zones;
  for (int i = 0; i < kZones; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "z%03d", i);
    zones.push_back(name + suffix);
  }

  const auto start = std::chrono::steady_clock::now();
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kZones; i += kThreads) {
        const HttpResponse r = cluster_.CreateZone(zones[i], 1000 + i);
        if (r.status != 201) {
          std::lock_guard lock(failures_mutex);
          failures.push_back(zones[i] + ": " + std::to_string(r.status) + " " + r.body + r.error);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(failures.empty()) << ::testing::PrintToString(failures);
  std::cout << kZones << " zones created through the proxy in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms" << std::endl;

  auto count_ours = [&](const PdnsServer& server) {
    int n = 0;
    for (const auto& name : ListedZones(server)) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) ++n;
    }
    return n;
  };
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    int listed = 0;
    EXPECT_TRUE(WaitFor(
        [&] {
          listed = count_ours(*cluster_.secondaries[i]);
          return listed == kZones;
        },
        std::chrono::seconds(120), std::chrono::milliseconds(200)))
        << "secondary" << i << " lists " << listed << " of " << kZones << " zones";
  }
  // Every zone is served with the primary's serial (the API list alone says nothing about data).
  for (const auto& zone : zones) {
    const uint32_t serial = cluster_.ServedSerial(-1, zone);
    ASSERT_NE(serial, 0u) << zone;
    PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, serial, std::chrono::seconds(60)));
  }
  std::cout << "all " << kZones << " zones served by both secondaries after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms" << std::endl;
  EXPECT_TRUE(WaitSyncersIdle(cluster_));
}

}  // namespace
}  // namespace pdnsd::testing
