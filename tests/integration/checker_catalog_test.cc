// The health-checker in catalog mode (docs/architecture.md, "Catalog mode"): a real nats-server
// with JetStream, a catalog written by the test itself through ZoneCatalog (no zone-provider
// writes it: the cluster's provider does not know this bucket), a real PowerDNS primary and
// secondaries with their syncers. The test listens on the event subjects and asserts which
// events the checker sends: broadcast (the zone-provider republishes the zone) or targeted at
// one syncer.
#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "dns/axfr_client.h"
#include "support/cluster.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A catalog of the test's own: the cluster's services never write it.
distribution::CatalogOptions TestCatalogOptions() {
  distribution::CatalogOptions options;
  options.bucket = "checker_test_catalog";
  options.stream = "CHECKER_TEST_ZONES";
  options.chunk_prefix = "checker-test.zone";
  return options;
}

// Every zone event on the broker: "add zone" for a broadcast, "add zone @id" for a targeted one.
class EventRecorder {
 public:
  Status Start(Bus& bus) {
    const ZoneEventSubjects subjects;
    for (const auto& [type, subject] : subjects.All()) {
      for (const std::string& pattern : {subject, subject + ".*"}) {
        auto subscription = bus.Subscribe(
            pattern, "", [this, type = type, subject = subject](const BusMessage& message) {
              auto event = DecodeZoneEvent(type, message.data);
              if (!event.ok()) return;
              std::string entry = std::string(ZoneEventTypeLabel(type)) + " " + event->zone;
              if (message.subject != subject) {
                entry += " @" + message.subject.substr(subject.size() + 1);
              }
              std::lock_guard<std::mutex> lock(mutex_);
              events_.push_back(entry);
            });
        if (!subscription.ok()) return subscription.status();
        subscriptions_.push_back(std::move(*subscription));
      }
    }
    return bus.Flush(seconds(5));
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.clear();
  }
  std::multiset<std::string> Events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {events_.begin(), events_.end()};
  }
  // Waits until every one of `expected` was seen, then a little longer for any unexpected one;
  // returns what was seen.
  std::multiset<std::string> WaitFor(const std::multiset<std::string>& expected) {
    pdnsd::testing::WaitFor(
        [&] {
          const std::multiset<std::string> seen = Events();
          return std::includes(seen.begin(), seen.end(), expected.begin(), expected.end());
        },
        seconds(20));
    std::this_thread::sleep_for(milliseconds(500));
    return Events();
  }

 private:
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::mutex mutex_;
  std::vector<std::string> events_;
};

std::string SoaText(const std::string& zone, uint32_t serial) {
  return zone + "\t3600\tIN\tSOA\tns1.example.net. hostmaster." + zone + " " +
         std::to_string(serial) + " 10800 3600 604800 3600\n" + zone +
         "\t3600\tIN\tNS\tns1.example.net.\n";
}

double Sample(prometheus::Registry& registry, const std::string& series) {
  const std::string text = RenderMetrics(registry);
  const size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

class CheckerCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.jetstream = true;
    options.ping_interval = milliseconds(500);
    PDNSD_ASSERT_OK(cluster_.Start(options));
    for (const char* zone :
         {"agree.example.", "behind.example.", "absent.example.", "tomb.example."}) {
      ASSERT_EQ(cluster_.CreateZone(zone, 1).status, 201);
      PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
    }
    auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "test"), MakeTestLogger("test"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    bus_ = std::move(bus).value();
    ASSERT_TRUE(pdnsd::testing::WaitFor([&] { return bus_->IsConnected(); }));
    PDNSD_ASSERT_OK(recorder_.Start(*bus_));
  }

  void TearDown() override {
    if (checker_) checker_->Stop();
    checker_.reset();
    checker_bus_.reset();
  }

  // The test's catalog (created: the test plays the zone-provider's part).
  void OpenCatalog() {
    auto catalog = distribution::ZoneCatalog::Open(*bus_, TestCatalogOptions());
    PDNSD_ASSERT_OK(StatusOf(catalog));
    catalog_ = std::move(catalog).value();
  }
  void PublishVersion(const std::string& zone, uint32_t serial) {
    const std::string text = SoaText(zone, serial);
    const std::string id = distribution::ZoneCatalog::NewVersionId();
    auto version = distribution::BuildZoneVersion(
        {.zone = zone, .serial = serial, .dnssec = false, .version = id, .text = text});
    PDNSD_ASSERT_OK(StatusOf(version));
    auto revision = catalog_->Publish(*version, 0, "");
    PDNSD_ASSERT_OK(StatusOf(revision));
    last_revision_ = *revision;
  }
  // The zone as the primary serves it now, published as the provider would.
  void PublishFromPrimary(const std::string& zone) {
    auto transfer = TransferZone(cluster_.primary.dns_address(), zone, seconds(10));
    PDNSD_ASSERT_OK(StatusOf(transfer));
    const std::string text = AxfrZoneData(*transfer);
    auto version =
        distribution::BuildZoneVersion({.zone = zone,
                                        .serial = transfer->serial,
                                        .dnssec = false,
                                        .version = distribution::ZoneCatalog::NewVersionId(),
                                        .text = text});
    PDNSD_ASSERT_OK(StatusOf(version));
    auto revision = catalog_->Publish(*version, 0, "");
    PDNSD_ASSERT_OK(StatusOf(revision));
    last_revision_ = *revision;
  }
  void PublishTombstone(const std::string& zone, uint32_t serial) {
    auto revision = catalog_->PublishTombstone(
        distribution::Tombstone(zone, serial, distribution::ZoneCatalog::NewVersionId()), 0, "");
    PDNSD_ASSERT_OK(StatusOf(revision));
    last_revision_ = *revision;
  }

  // A health-checker of the test's own, following TestCatalogOptions(); its timed workflows
  // are an hour apart, so that only the checks the test runs send events.
  void StartChecker() {
    HealthCheckerConfig config;
    config.primary = cluster_.primary.dns_address();
    config.status_listen = {"127.0.0.1", 0};
    config.event_check_wait = std::chrono::hours(1);
    config.periodic_interval = std::chrono::hours(1);
    config.refresh_interval = std::chrono::hours(1);
    config.nsec3_interval = std::chrono::hours(1);
    config.ensure_nsec3 = false;
    config.state_timeout = seconds(5);
    auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "checker"), MakeTestLogger("checker"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    checker_bus_ = std::move(bus).value();
    environment_ = TestServiceEnvironment("checker", checker_bus_.get(), cluster_.primary);
    // The first periodic check comes 2 heartbeat intervals after the start: an hour here too.
    // (The syncers' heartbeats every 500 ms keep them passing all the same.)
    environment_.common.ping_interval = std::chrono::hours(1);
    environment_.common.jetstream.catalog = TestCatalogOptions();
    checker_ = std::make_unique<HealthChecker>(config, environment_);
    PDNSD_ASSERT_OK(checker_->Start());
    // Both syncers heard and their first full check done.
    ASSERT_TRUE(pdnsd::testing::WaitFor([&] {
      auto status = nlohmann::json::parse(checker_->StatusJson());
      size_t checked = 0;
      for (const auto& entry : status["secondaries"]) checked += entry.contains("zones") ? 1 : 0;
      return checked == 2;
    }));
  }

  nlohmann::json CatalogStatus() {
    return nlohmann::json::parse(checker_->StatusJson())["catalog"];
  }

  // Until the checker's mirror has applied everything the test published.
  bool MirrorCaughtUp() {
    return pdnsd::testing::WaitFor([&] {
      const nlohmann::json catalog = CatalogStatus();
      return catalog.is_object() && catalog["bound"] == true && catalog["caught_up"] == true &&
             catalog["revision"] == last_revision_;
    });
  }

  Cluster cluster_;
  std::unique_ptr<Bus> bus_;
  EventRecorder recorder_;
  std::unique_ptr<distribution::ZoneCatalog> catalog_;
  uint64_t last_revision_ = 0;
  std::unique_ptr<Bus> checker_bus_;
  ServiceEnvironment environment_;
  std::unique_ptr<HealthChecker> checker_;
};

// The catalog as a zone-provider that missed some events would leave it: one entry agrees with
// the primary, one is a serial behind, one is missing, one is a tombstone of a zone the primary
// has again, one is a version of a zone the primary no longer has.
TEST_F(CheckerCatalogTest, PeriodicCheckRepairsTheCatalogByBroadcastAndSecondariesByTarget) {
  OpenCatalog();
  PublishFromPrimary("agree.example.");  // its content too: the content check finds it equal
  PublishVersion("behind.example.", cluster_.PrimarySerial("behind.example.") - 1);
  PublishTombstone("tomb.example.", cluster_.PrimarySerial("tomb.example."));
  PublishVersion("stray.example.", 7);
  StartChecker();
  ASSERT_TRUE(MirrorCaughtUp()) << CatalogStatus().dump();
  // Secondary 1 lost a zone whose catalog entry agrees with the primary.
  ASSERT_EQ(cluster_.secondaries[1]->Api("DELETE", Cluster::ZonesPath("agree.example.")).status,
            204);
  recorder_.Clear();
  const double created =
      Sample(*environment_.registry,
             "healthchecker_catalog_published_zone_events_total{event_type=\"create\"}");

  checker_->RunPeriodicCheck();
  const std::multiset<std::string> expected = {"create absent.example.", "create tomb.example.",
                                               "change behind.example.", "delete stray.example.",
                                               "create agree.example. @secondary-1"};
  // Exactly these: behind.example. differs from the catalog on every secondary, but the
  // catalog is being repaired and the secondaries serve the primary's serial, so no syncer gets
  // a targeted event for it.
  EXPECT_EQ(recorder_.WaitFor(expected), expected);

  const nlohmann::json catalog = CatalogStatus();
  EXPECT_EQ(catalog["zones"], 3) << catalog.dump();
  EXPECT_EQ(catalog["tombstones"], 1) << catalog.dump();
  EXPECT_EQ(catalog["differs_from_primary"], 4) << catalog.dump();
  EXPECT_EQ(catalog["differing_zones"], nlohmann::json::array({"absent.example.", "behind.example.",
                                                               "stray.example.", "tomb.example."}))
      << catalog.dump();
  EXPECT_EQ(Sample(*environment_.registry,
                   "healthchecker_catalog_published_zone_events_total{event_type=\"create\"}") -
                created,
            2);
  EXPECT_EQ(Sample(*environment_.registry, "healthchecker_catalog_primary_differences"), 4);
  EXPECT_TRUE(pdnsd::testing::WaitFor([&] {
    return Sample(*environment_.registry, "healthchecker_catalog_zones") == 3 &&
           Sample(*environment_.registry, "healthchecker_catalog_revision") ==
               static_cast<double>(last_revision_);
  })) << RenderMetrics(*environment_.registry);
}

// A secondary can serve the catalog's serial with other content (PowerDNS issues 17881, 14220):
// the periodic check transfers a few zones from each secondary's PowerDNS and compares them with
// the catalog's version in canonical form.
TEST_F(CheckerCatalogTest, ContentThatDiffersAtTheSameSerialIsSentAgain) {
  // A signed zone: its secondaries serve the same records in another order than the primary,
  // so only a canonical form finds it equal.
  ASSERT_EQ(cluster_.CreateZone("signed.example.", 1, "[]", /*dnssec=*/true).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("signed.example.", cluster_.PrimarySerial("signed.example.")));
  OpenCatalog();
  // Sorted, the first four are compared in the first check: absent, agree, behind, signed.
  for (const char* zone : {"agree.example.", "behind.example.", "absent.example.",
                           "signed.example.", "tomb.example."}) {
    PublishFromPrimary(zone);
  }
  StartChecker();
  ASSERT_TRUE(MirrorCaughtUp()) << CatalogStatus().dump();
  const uint32_t serial = cluster_.ServedSerial(1, "agree.example.");
  CommandResult edit;
  // pdnsutil writes the secondary's sqlite database, which a retrieval may hold for a moment.
  ASSERT_TRUE(pdnsd::testing::WaitFor([&] {
    edit = cluster_.secondaries[1]->RunPdnsutil(
        {"replace-rrset", "agree.example.", "www", "A", "60", "192.0.2.99"});
    return edit.ok();
  })) << edit.output;
  ASSERT_EQ(cluster_.ServedSerial(1, "agree.example."), serial);  // the serial did not move
  recorder_.Clear();
  const double checks =
      Sample(*environment_.registry, "healthchecker_catalog_content_checks_total");
  const double mismatches =
      Sample(*environment_.registry, "healthchecker_catalog_content_mismatches_total");

  checker_->RunPeriodicCheck();
  const std::multiset<std::string> expected = {"change agree.example. @secondary-1"};
  EXPECT_EQ(recorder_.WaitFor(expected), expected);
  EXPECT_EQ(Sample(*environment_.registry, "healthchecker_catalog_content_checks_total") - checks,
            8);
  EXPECT_EQ(
      Sample(*environment_.registry, "healthchecker_catalog_content_mismatches_total") - mismatches,
      1);
}

// The event check compares the zone's catalog entry with the primary too, and broadcasts a
// repair at most once per PeriodicalCheckIntervall (it hears its own broadcast events).
TEST_F(CheckerCatalogTest, EventCheckRepairsALaggingCatalogEntryOnce) {
  OpenCatalog();
  PublishVersion("agree.example.", cluster_.PrimarySerial("agree.example."));
  PublishVersion("behind.example.", cluster_.PrimarySerial("behind.example.") - 1);
  StartChecker();
  ASSERT_TRUE(MirrorCaughtUp()) << CatalogStatus().dump();
  recorder_.Clear();

  checker_->RunEventCheck("agree.example.");
  checker_->RunEventCheck("behind.example.");
  checker_->RunEventCheck("behind.example.");
  const std::multiset<std::string> expected = {"change behind.example."};
  EXPECT_EQ(recorder_.WaitFor(expected), expected);
}

// Until the catalog exists the checker works as without JetStream (no broadcast repairs); it
// binds once a provider created it, without being restarted.
TEST_F(CheckerCatalogTest, WithoutACatalogNothingIsBroadcastUntilOneIsCreated) {
  StartChecker();
  EXPECT_EQ(CatalogStatus()["bound"], false) << CatalogStatus().dump();
  recorder_.Clear();
  checker_->RunPeriodicCheck();
  checker_->RunEventCheck("absent.example.");
  EXPECT_EQ(recorder_.WaitFor({}), std::multiset<std::string>());

  OpenCatalog();
  PublishVersion("agree.example.", cluster_.PrimarySerial("agree.example."));
  ASSERT_TRUE(MirrorCaughtUp()) << CatalogStatus().dump();
  checker_->RunEventCheck("absent.example.");
  const std::multiset<std::string> expected = {"create absent.example."};
  EXPECT_EQ(recorder_.WaitFor(expected), expected);
}

}  // namespace
}  // namespace pdnsd::testing
