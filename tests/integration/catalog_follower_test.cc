// The secondary-syncer following the JetStream zone catalog (services/secondary_syncer/
// catalog_follower.h) on a real nats-server with JetStream and a real PowerDNS secondary. The
// catalog entries are written by the test through ZoneCatalog, as the zone-provider writes
// them; no zone-provider runs, so any zonedata request the syncer made would go unanswered
// and show in secondarysyncer_zone_data_request_total: the tests assert there is none.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "dns/soa_query.h"
#include "integration_helpers.h"
#include "model/messages.h"
#include "support/cluster.h"
#include "support/shipped_broker.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double GaugeValue(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name || family.metric.empty()) continue;
    return family.metric.front().gauge.value;
  }
  return -1;
}

constexpr char kSyncerId[] = "secondary-0";

class CatalogFollowerTest : public ::testing::Test {
 protected:
  // `role_permissions`: config/nats-server.conf's users (the syncer runs as its role), plus a
  // user "writer" allowed everything, for the test's own writes.
  void StartBrokerAndSecondary(bool jetstream, bool role_permissions = false) {
    NatsOptions nats_options = NatsOptions().WithJetStream(jetstream);
    BusOptions writer = TestBusOptions(nats_, "catalog-writer");
    if (role_permissions) {
      auto config = ShippedBrokerConfig({kSyncerId}, "");
      PDNSD_ASSERT_OK(StatusOf(config));
      std::string text =
          std::regex_replace(*config, std::regex(R"(users = \[)"),
                             "users = [\n    { user: writer, password: \"pw-WRITER\" }");
      nats_options.WithConfig(text);
      syncer_user_ = {std::string("syncer-") + kSyncerId,
                      ShippedBrokerPassword(std::string("syncer-") + kSyncerId)};
    }
    PDNSD_ASSERT_OK(nats_.Start(nats_options));
    PDNSD_ASSERT_OK(secondary_.Start(PdnsOptions().WithName("secondary").Secondary()));
    writer = TestBusOptions(nats_, "catalog-writer");
    if (role_permissions) {
      writer.username = "writer";
      writer.password = "pw-WRITER";
    }
    auto bus = Bus::Connect(writer, MakeTestLogger("writer"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    bus_ = std::move(bus).value();
    ASSERT_TRUE(WaitFor([&] { return bus_->IsConnected(); }));
    axfr_port_ = FreePort();
  }
  void TearDown() override {
    StopSyncer();
    catalog_.reset();
    bus_.reset();
  }

  // The catalog as the zone-provider makes it.
  void OpenCatalog() {
    auto catalog = distribution::ZoneCatalog::Open(*bus_, {});
    PDNSD_ASSERT_OK(StatusOf(catalog));
    catalog_ = std::move(catalog).value();
  }

  static std::string ZoneText(const std::string& zone, uint32_t serial) {
    std::string text = zone + "\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. " +
                       std::to_string(serial) + " 10800 3600 604800 3600\n";
    text += zone + "\t3600\tIN\tNS\tns1.example.net.\n";
    text += "www." + zone + "\t60\tIN\tA\t192.0.2." + std::to_string(serial % 250 + 1) + "\n";
    return text;
  }

  // Publishes `zone` at `serial` over whatever the catalog holds for it.
  Status TryPublish(const std::string& zone, uint32_t serial) {
    uint64_t revision = 0;
    std::string previous;
    if (auto current = catalog_->Get(zone); current.ok()) {
      revision = current->revision;
      previous = current->entry.version;
    } else if (current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    const std::string text = ZoneText(zone, serial);
    const std::string id = distribution::ZoneCatalog::NewVersionId();
    auto version = distribution::BuildZoneVersion(
        {.zone = zone, .serial = serial, .version = id, .text = text});
    if (!version.ok()) return version.status();
    return catalog_->Publish(*version, revision, previous).status();
  }
  void Publish(const std::string& zone, uint32_t serial) {
    PDNSD_ASSERT_OK(TryPublish(zone, serial));
  }

  void PublishTombstone(const std::string& zone) {
    auto current = catalog_->Get(zone);
    PDNSD_ASSERT_OK(StatusOf(current));
    PDNSD_ASSERT_OK(StatusOf(catalog_->PublishTombstone(
        distribution::Tombstone(zone, current->entry.serial,
                                distribution::ZoneCatalog::NewVersionId()),
        current->revision, current->entry.version)));
  }

  void StartSyncer(std::vector<ConfigKey> extra = {}) {
    ServiceConfigParameters parameters;
    parameters.id = kSyncerId;
    parameters.listen = "127.0.0.1:" + std::to_string(axfr_port_);
    parameters.nats_url = nats_.url();
    parameters.nats_username = syncer_user_.first;
    parameters.nats_password = syncer_user_.second;
    parameters.ping_interval = milliseconds(200);
    parameters.axfr_timeout = seconds(10);
    parameters.powerdns_url = secondary_.api_url();
    parameters.powerdns_api_key = secondary_.api_key();
    parameters.powerdns_dns = secondary_.dns_address().ToString();
    parameters.extra = {{"PowerDNS", "RetryMaxDelay", TomlDuration(seconds(2))}};
    parameters.extra.insert(parameters.extra.end(), extra.begin(), extra.end());
    auto config = RenderServiceConfig("pdns-secondary-syncer", parameters);
    PDNSD_ASSERT_OK(StatusOf(config));
    auto started = StartInProcessService(SecondarySyncerDefinition(), *config, "syncer");
    PDNSD_ASSERT_OK(StatusOf(started));
    syncer_ = std::move(started).value();
  }
  void StopSyncer() {
    if (syncer_.runner) syncer_.runner->Stop();
    if (syncer_.service) syncer_.service->Stop();
    syncer_.service.reset();
    syncer_.runner.reset();
    syncer_.bus.reset();
  }
  SecondarySyncer& syncer() { return *dynamic_cast<SecondarySyncer*>(syncer_.service.get()); }

  double Counter(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return CounterValue(*syncer_.registry, name, labels);
  }
  double Gauge(const std::string& name) { return GaugeValue(*syncer_.registry, name); }
  double ZoneDataRequests() {
    return Counter("secondarysyncer_zone_data_request_total", {{"state", "successful"}}) +
           Counter("secondarysyncer_zone_data_request_total", {{"state", "failed"}});
  }
  bool Following() { return Gauge("secondarysyncer_catalog_mode") == 1; }

  uint32_t ServedSerial(const std::string& zone) {
    auto serial = QuerySoaSerial(secondary_.dns_address(), zone, seconds(2));
    return serial.ok() ? *serial : 0;
  }
  bool WaitServes(const std::string& zone, uint32_t serial, milliseconds timeout = seconds(30)) {
    return WaitFor([&] { return ServedSerial(zone) == serial; }, timeout, milliseconds(20));
  }
  bool LocalHas(const std::string& zone) {
    return secondary_.Api("GET", Cluster::ZonesPath(zone)).status == 200;
  }
  bool WaitAbsent(const std::string& zone) {
    return WaitFor([&] { return !LocalHas(zone) && ServedSerial(zone) == 0; }, seconds(30),
                   milliseconds(20));
  }
  bool WaitIdle() {
    return WaitFor([&] { return syncer().backlog() == 0; }, seconds(60), milliseconds(20));
  }

  void SendEvent(const std::string& subject, const std::string& zone) {
    PDNSD_ASSERT_OK(bus_->Publish(
        subject, EncodeZoneEvent(
                     {.type = ZoneEventType::kChange, .zone = zone, .time = "", .change_id = ""})));
    PDNSD_ASSERT_OK(bus_->Flush(seconds(5)));
  }

  NatsServer nats_;
  PdnsServer secondary_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<distribution::ZoneCatalog> catalog_;
  InProcessService syncer_;
  uint16_t axfr_port_ = 0;
  std::pair<std::string, std::string> syncer_user_;  // username, password; empty: none
};

TEST_F(CatalogFollowerTest, VersionsAreServedReplacedAndTombstonesDeleteWithoutTheProvider) {
  StartBrokerAndSecondary(true);
  OpenCatalog();
  StartSyncer();
  ASSERT_TRUE(WaitFor([&] { return Following(); })) << "the syncer never followed the catalog";

  Publish("a.test.", 10);
  EXPECT_TRUE(WaitServes("a.test.", 10)) << "served: " << ServedSerial("a.test.");
  Publish("a.test.", 11);
  EXPECT_TRUE(WaitServes("a.test.", 11)) << "served: " << ServedSerial("a.test.");
  EXPECT_EQ(DigShort(secondary_.dns_address(), "www.a.test.", "A"), "192.0.2.12");
  // Our endpoint answers SOA queries (PowerDNS's freshness checks) from the entry alone.
  ASSERT_TRUE(WaitIdle());
  const double chunks = Counter("secondarysyncer_catalog_chunk_reads_total");
  auto soa = QuerySoaSerial(syncer().axfr_address(), "a.test.", seconds(2));
  PDNSD_ASSERT_OK(StatusOf(soa));
  EXPECT_EQ(*soa, 11u);
  EXPECT_EQ(Counter("secondarysyncer_catalog_chunk_reads_total"), chunks);
  PublishTombstone("a.test.");
  EXPECT_TRUE(WaitAbsent("a.test."));
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(ZoneDataRequests(), 0);
  EXPECT_GE(Counter("secondarysyncer_catalog_entries_applied_total"), 3);
  EXPECT_GE(Counter("secondarysyncer_catalog_chunk_reads_total"), 2);
  EXPECT_GT(Gauge("secondarysyncer_catalog_revision_applied"), 0);
}

// config/nats-server.conf lets the syncer's role read the catalog (and not write it).
TEST_F(CatalogFollowerTest, SyncerRoleFollowsTheCatalogAndCannotWriteIt) {
  StartBrokerAndSecondary(true, /*role_permissions=*/true);
  OpenCatalog();
  Publish("r.test.", 3);
  StartSyncer();
  EXPECT_TRUE(WaitServes("r.test.", 3)) << "served: " << ServedSerial("r.test.");
  Publish("r.test.", 4);
  EXPECT_TRUE(WaitServes("r.test.", 4)) << "served: " << ServedSerial("r.test.");
  EXPECT_EQ(ZoneDataRequests(), 0);

  BusOptions as_syncer = ShippedBrokerUser(nats_, syncer_user_.first, "");
  auto bus = Bus::Connect(as_syncer, MakeTestLogger("posing"));
  PDNSD_ASSERT_OK(StatusOf(bus));
  ASSERT_TRUE(WaitFor([&] { return (*bus)->IsConnected(); }));
  distribution::CatalogOptions options;
  options.timeout = milliseconds(500);
  // Opening (which creates or updates) is refused: no reply to the stream update.
  EXPECT_FALSE(distribution::ZoneCatalog::Open(**bus, options).ok());
  auto jetstream = JetStream::Open(**bus, milliseconds(2000));
  PDNSD_ASSERT_OK(StatusOf(jetstream));
  auto bound = distribution::ZoneCatalog::Bind(std::move(jetstream).value(), options);
  PDNSD_ASSERT_OK(StatusOf(bound));
  auto version = distribution::BuildZoneVersion(
      {.zone = "r.test.", .serial = 99, .version = "forged", .text = ZoneText("r.test.", 99)});
  PDNSD_ASSERT_OK(StatusOf(version));
  EXPECT_FALSE((*bound)->Publish(*version, 0, "").ok());
  EXPECT_EQ(catalog_->Get("r.test.")->entry.serial, 4u);
}

// One zone at a time (BatchCreateFrom = 0): the path of a few new zones; the next test takes
// the batch path a bootstrap takes with the defaults.
TEST_F(CatalogFollowerTest, BootstrapsFromTheCatalogAndARestartAppliesExactlyWhatChanged) {
  StartBrokerAndSecondary(true);
  OpenCatalog();
  constexpr int kZones = 200;
  const auto name = [](int i) { return "z" + std::to_string(i) + ".test."; };
  for (int i = 0; i < kZones; ++i) Publish(name(i), 100 + i);
  StartSyncer({{"PowerDNS", "BatchCreateFrom", "0"}});
  for (int i = 0; i < kZones; ++i) {
    ASSERT_TRUE(WaitServes(name(i), 100 + i)) << name(i) << " served " << ServedSerial(name(i));
  }
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(ZoneDataRequests(), 0);
  EXPECT_EQ(Counter("secondarysyncer_catalog_entries_applied_total"), kZones);
  EXPECT_EQ(Counter("secondarysyncer_catalog_entries_skipped_total"), 0);
  // The bootstrap's one zone list said every zone is missing: each is created without being
  // looked up first (200 GETs before). What GETs remain are commit checks whose DNS window
  // passed on a busy machine.
  EXPECT_LT(Counter("secondarysyncer_powerdns_api_call_total",
                    {{"state", "successful"}, {"type", "get"}}),
            kZones / 4);

  EXPECT_EQ(Counter("secondarysyncer_batches_total", {{"result", "created"}}), 0);

  // Stopped, the catalog changes: five new versions and one tombstone.
  StopSyncer();
  for (int i = 0; i < 5; ++i) Publish(name(i), 1000 + i);
  PublishTombstone(name(7));
  StartSyncer({{"PowerDNS", "BatchCreateFrom", "0"}});
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(WaitServes(name(i), 1000 + i)) << name(i) << " served " << ServedSerial(name(i));
  }
  EXPECT_TRUE(WaitAbsent(name(7)));
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Counter("secondarysyncer_catalog_entries_applied_total"), 6);
  EXPECT_EQ(Counter("secondarysyncer_catalog_entries_skipped_total"), kZones - 6);
  EXPECT_EQ(Counter("secondarysyncer_reconciles_total", {{"result", "successful"}}), 6);
  EXPECT_EQ(ZoneDataRequests(), 0);
  EXPECT_EQ(ServedSerial(name(8)), 108u);
}

// A bootstrap with many zones missing (the defaults: BatchCreateFrom 50) creates them through
// one batch catalog zone our endpoint serves to the local PowerDNS, a catalog consumer
// (services/secondary_syncer/batch_catalog.h): one create call and one retrieve for all of
// them, where one by one each costs a create and a retrieve. The catalog zone is gone once
// they are in sync, as is one an earlier run left behind, and its members stay: a restart
// finds every zone in place.
TEST_F(CatalogFollowerTest, ManyMissingZonesAreCreatedAsOneBatch) {
  StartBrokerAndSecondary(true);
  OpenCatalog();
  constexpr int kZones = 300;
  const auto name = [](int i) { return "b" + std::to_string(i) + ".test."; };
  for (int i = 0; i < kZones; ++i) Publish(name(i), 100 + i);
  // A batch catalog an earlier run left behind (it stopped before its batch ended).
  const std::string leftover = "b1-0123456789abcdef.batch.pdns-distribute.invalid.";
  ASSERT_EQ(
      secondary_
          .Api("POST", "/api/v1/servers/localhost/zones",
               R"({"name":")" + leftover + R"(","kind":"Consumer","masters":["127.0.0.1:9"]})")
          .status,
      201);
  StartSyncer();
  for (int i = 0; i < kZones; ++i) {
    ASSERT_TRUE(WaitServes(name(i), 100 + i)) << name(i) << " served " << ServedSerial(name(i));
  }
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Counter("secondarysyncer_batches_total", {{"result", "created"}}), 1);
  EXPECT_EQ(Counter("secondarysyncer_batch_zones_total"), kZones);
  EXPECT_EQ(Counter("secondarysyncer_reconciles_total", {{"result", "successful"}}), kZones);
  // The catalog zone itself is the one create; its retrieve the one retrieve (a member
  // PowerDNS had not transferred by BatchTransferDeadline would add one of each).
  EXPECT_EQ(Counter("secondarysyncer_powerdns_api_call_total",
                    {{"state", "successful"}, {"type", "create"}}),
            1);
  EXPECT_EQ(Counter("secondarysyncer_powerdns_api_call_total",
                    {{"state", "successful"}, {"type", "retrieve"}}),
            1);
  EXPECT_EQ(ZoneDataRequests(), 0);
  const auto batch_catalogs = [&] {
    const HttpResponse zones = secondary_.Api("GET", "/api/v1/servers/localhost/zones");
    int found = 0;
    for (size_t at = zones.body.find(".batch.pdns-distribute.invalid."); at != std::string::npos;
         at = zones.body.find(".batch.pdns-distribute.invalid.", at + 1)) {
      ++found;
    }
    return found;
  };
  EXPECT_TRUE(WaitFor([&] { return batch_catalogs() == 0; }, seconds(10)))
      << batch_catalogs() << " batch catalog zones left in the local PowerDNS";

  StopSyncer();
  StartSyncer();
  ASSERT_TRUE(WaitFor([&] { return Following(); }));
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Counter("secondarysyncer_batches_total", {{"result", "created"}}), 0);
  EXPECT_EQ(Counter("secondarysyncer_catalog_entries_skipped_total"), kZones);
  for (int i = 0; i < kZones; i += 37) EXPECT_EQ(ServedSerial(name(i)), 100u + i) << name(i);
}

// The watch resumes from its last revision by itself: nothing to do for the syncer.
TEST_F(CatalogFollowerTest, FollowsOnAfterABrokerKillAndRestart) {
  StartBrokerAndSecondary(true);
  OpenCatalog();
  Publish("k.test.", 1);
  StartSyncer();
  ASSERT_TRUE(WaitServes("k.test.", 1));

  nats_.Kill();  // SIGKILL: the catalog is on file storage
  ASSERT_TRUE(WaitFor([&] { return !bus_->IsConnected(); }));
  PDNSD_ASSERT_OK(nats_.Start());
  ASSERT_TRUE(WaitFor([&] { return bus_->IsConnected(); }, seconds(30)));
  // JetStream takes a moment to be ready after the restart.
  Status published = Status::Unavailable("not written");
  ASSERT_TRUE(WaitFor(
      [&] {
        published = TryPublish("k.test.", 2);
        return published.ok();
      },
      seconds(30)))
      << published.ToString();
  // nats.c makes an ordered consumer again after missed heartbeats (jetstream_test.cc): allow
  // for that.
  EXPECT_TRUE(WaitServes("k.test.", 2, seconds(60))) << "served: " << ServedSerial("k.test.");
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(ZoneDataRequests(), 0);
  EXPECT_EQ(Gauge("secondarysyncer_catalog_mode"), 1);
}

TEST_F(CatalogFollowerTest, BrokerWithoutJetStreamKeepsTheCoreNatsPath) {
  StartBrokerAndSecondary(false);
  StartSyncer();
  // Today's path: an event makes the syncer ask the provider (none runs: the request fails).
  SendEvent("zone.modified", "a.test.");
  EXPECT_TRUE(WaitFor([&] { return ZoneDataRequests() > 0; }));
  EXPECT_EQ(Gauge("secondarysyncer_catalog_mode"), 0);
}

TEST_F(CatalogFollowerTest, NoCatalogYetMeansCoreNatsUntilTheProviderMakesIt) {
  StartBrokerAndSecondary(true);
  StartSyncer();
  SendEvent("zone.modified", "a.test.");
  EXPECT_TRUE(WaitFor([&] { return ZoneDataRequests() > 0; }));
  EXPECT_EQ(Gauge("secondarysyncer_catalog_mode"), 0);
  // The syncer created nothing in JetStream.
  auto jetstream = JetStream::Open(*bus_);
  PDNSD_ASSERT_OK(StatusOf(jetstream));
  EXPECT_EQ((*jetstream)->BindBucket(distribution::CatalogOptions{}.bucket).status().code(),
            StatusCode::kNotFound);

  OpenCatalog();
  Publish("b.test.", 42);
  // The syncer binds again every 5 s.
  EXPECT_TRUE(WaitFor([&] { return Following(); }, seconds(30)));
  EXPECT_TRUE(WaitServes("b.test.", 42)) << "served: " << ServedSerial("b.test.");
}

TEST_F(CatalogFollowerTest, BroadcastEventsAreIgnoredAndTargetedEventsReapplyTheEntry) {
  StartBrokerAndSecondary(true);
  OpenCatalog();
  Publish("c.test.", 7);
  StartSyncer();
  ASSERT_TRUE(WaitServes("c.test.", 7));
  ASSERT_TRUE(WaitIdle());

  SendEvent("zone.modified", "c.test.");
  EXPECT_TRUE(WaitFor(
      [&] { return Counter("secondarysyncer_catalog_broadcast_events_ignored_total") == 1; }));
  // Deleted by hand: only a targeted event (the health-checker's repair) brings it back.
  ASSERT_EQ(secondary_.Api("DELETE", Cluster::ZonesPath("c.test.")).status, 204);
  ASSERT_TRUE(WaitAbsent("c.test."));
  SendEvent(std::string("zone.modified.") + kSyncerId, "c.test.");
  EXPECT_TRUE(WaitServes("c.test.", 7)) << "served: " << ServedSerial("c.test.");
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(ZoneDataRequests(), 0);

  // A zone the catalog lacks: handled as today, the provider is asked.
  SendEvent(std::string("zone.modified.") + kSyncerId, "unknown.test.");
  EXPECT_TRUE(WaitFor([&] { return ZoneDataRequests() > 0; }));
}

}  // namespace
}  // namespace pdnsd::testing
