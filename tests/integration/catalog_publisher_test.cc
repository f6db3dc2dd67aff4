// The zone-provider as the one writer of the JetStream catalog
// (src/services/zone_provider/catalog_publisher.h) on a real nats-server with JetStream and a
// real PowerDNS primary: what events and sweeps publish, how transfers coalesce, when a zone
// gets a tombstone and when the mass-deletion guard holds it, and the fallback without
// JetStream.
#include "services/zone_provider/catalog_publisher.h"

#include <signal.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "core/digest.h"
#include "distribution/catalog.h"
#include "dns/axfr_client.h"
#include "dns/soa_query.h"
#include "integration_helpers.h"
#include "model/messages.h"
#include "services/zone_provider/zone_provider.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Keeps every line logged through it ("<level>: <message>") and passes it on to stderr.
class LineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> Lines() const {
    std::lock_guard lock(lines_mutex_);
    return lines_;
  }
  // The lines that contain `text`.
  size_t Count(const std::string& text) const {
    size_t count = 0;
    for (const std::string& line : Lines()) count += line.find(text) != std::string::npos;
    return count;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    std::string line(spdlog::level::to_string_view(message.level).data(),
                     spdlog::level::to_string_view(message.level).size());
    line += ": ";
    line.append(message.payload.data(), message.payload.size());
    std::fprintf(stderr, "[provider] %s\n", line.c_str());
    std::lock_guard lock(lines_mutex_);
    lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  mutable std::mutex lines_mutex_;
  std::vector<std::string> lines_;
};

double GaugeValue(prometheus::Registry& registry, const std::string& name) {
  for (const auto& family : registry.Collect()) {
    if (family.name == name && !family.metric.empty()) return family.metric[0].gauge.value;
  }
  return -1;
}

// The serial `pdns` serves for `zone` (0 when it does not answer).
uint32_t DecodeSerial(const PdnsServer& pdns, const std::string& zone) {
  auto serial = QuerySoaSerial(pdns.dns_address(), zone, std::chrono::seconds(5));
  return serial.ok() ? *serial : 0;
}

class CatalogPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override { PDNSD_ASSERT_OK(primary_.Start(PdnsOptions().WithName("primary"))); }

  void TearDown() override {
    for (auto& other : others_) other.provider->Stop();
    others_.clear();
    if (provider_) provider_->Stop();
    provider_.reset();
    catalog_.reset();
    provider_bus_.reset();
    bus_.reset();
  }

  // nats-server (with JetStream unless told otherwise) and the test's own bus and catalog.
  void StartBroker(bool jetstream = true) {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions().WithJetStream(jetstream)));
    auto bus = Bus::Connect(TestBusOptions(nats_, "catalog-test"), MakeTestLogger("test"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    bus_ = std::move(bus).value();
    ASSERT_TRUE(WaitFor([&] { return bus_->IsConnected(); }));
  }

  // The provider in process, built as its binary builds it, its log kept in sink_.
  void StartProvider(std::chrono::milliseconds sweep_interval = seconds(1),
                     const HostPort* dns = nullptr) {
    auto bus = Bus::Connect(TestBusOptions(nats_, "zone-provider"), MakeTestLogger("bus"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    provider_bus_ = std::move(bus).value();
    ASSERT_TRUE(WaitFor([&] { return provider_bus_->IsConnected(); }));
    ServiceEnvironment environment =
        TestServiceEnvironment("zone-provider", provider_bus_.get(), primary_);
    sink_ = std::make_shared<LineSink>();
    environment.logger = std::make_shared<spdlog::logger>("zone-provider", sink_);
    environment.logger->set_level(spdlog::level::debug);
    registry_ = environment.registry;
    ZoneProviderConfig config;
    config.primary = dns ? *dns : primary_.dns_address();
    config.catalog.sweep_interval = sweep_interval;
    provider_ = std::make_unique<ZoneProvider>(config, environment);
    PDNSD_ASSERT_OK(provider_->Start());
    if (!provider_->publishes_catalog()) return;
    auto catalog = distribution::ZoneCatalog::Open(*bus_, environment.common.jetstream.catalog);
    PDNSD_ASSERT_OK(StatusOf(catalog));
    catalog_ = std::move(catalog).value();
    // The first sweep ran: the catalog holds what the primary had at the start.
    ASSERT_TRUE(WaitFor([&] {
      return Counter("zoneprovider_catalog_sweeps_total", {{"state", "successful"}}) >= 1;
    }));
  }

  // Another provider on the same primary and catalog (its log on stderr only).
  struct OtherProvider {
    std::unique_ptr<Bus> bus;
    std::shared_ptr<prometheus::Registry> registry;
    std::unique_ptr<ZoneProvider> provider;
  };
  void StartOtherProvider(const std::string& name) {
    OtherProvider other;
    auto bus = Bus::Connect(TestBusOptions(nats_, name), MakeTestLogger("bus"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    other.bus = std::move(bus).value();
    ASSERT_TRUE(WaitFor([&] { return other.bus->IsConnected(); }));
    ServiceEnvironment environment = TestServiceEnvironment(name, other.bus.get(), primary_);
    other.registry = environment.registry;
    ZoneProviderConfig config;
    config.primary = primary_.dns_address();
    other.provider = std::make_unique<ZoneProvider>(config, environment);
    PDNSD_ASSERT_OK(other.provider->Start());
    others_.push_back(std::move(other));
  }

  double Counter(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return CounterValue(*registry_, name, labels);
  }
  double Transfers() {
    return Counter("zoneprovider_catalog_transfers_total", {{"state", "successful"}});
  }

  HttpResponse CreateZone(const std::string& zone, uint32_t serial = 1,
                          const std::string& rrsets = "[]") {
    return primary_.Api("POST", "/api/v1/servers/localhost/zones",
                        Cluster::ZoneBody(zone, "Native", serial, rrsets));
  }
  HttpResponse DeleteZone(const std::string& zone) {
    return primary_.Api("DELETE", Cluster::ZonesPath(zone));
  }
  void PublishEvent(ZoneEventType type, const std::string& zone) {
    ZoneEventSubjects subjects;
    PDNSD_ASSERT_OK(bus_->Publish(subjects.For(type), EncodeZoneEvent({type, zone, "", ""})));
  }

  // The zone's catalog entry once `done` holds for it (nullopt: not within `timeout`).
  template <typename Predicate>
  std::optional<distribution::CatalogEntry> WaitEntry(const std::string& zone, Predicate done,
                                                      milliseconds timeout = seconds(30)) {
    std::optional<distribution::CatalogEntry> seen;
    WaitFor(
        [&] {
          auto record = catalog_->Get(zone);
          if (!record.ok()) return false;
          seen = record->entry;
          return done(record->entry);
        },
        timeout, milliseconds(50));
    if (seen && done(*seen)) return seen;
    return std::nullopt;
  }
  std::optional<distribution::CatalogEntry> WaitSerial(const std::string& zone, uint32_t serial,
                                                       milliseconds timeout = seconds(30)) {
    return WaitEntry(
        zone,
        [serial](const distribution::CatalogEntry& e) { return !e.deleted && e.serial == serial; },
        timeout);
  }
  bool WaitIdle(milliseconds timeout = seconds(30)) {
    return WaitFor([&] { return provider_->catalog_backlog() == 0; }, timeout);
  }

  PdnsServer primary_;
  NatsServer nats_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<Bus> provider_bus_;
  std::shared_ptr<LineSink> sink_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ZoneProvider> provider_;
  std::unique_ptr<distribution::ZoneCatalog> catalog_;
  std::vector<OtherProvider> others_;  // destroyed before the members above
};

TEST_F(CatalogPublisherTest, CreatedZoneAppearsWithThePrimarysSerialAndTheDigestOfItsAxfrText) {
  StartBroker();
  StartProvider(/*sweep_interval=*/milliseconds(0));  // events only after the first sweep
  ASSERT_EQ(CreateZone("created.example.", 7).status, 201);
  PublishEvent(ZoneEventType::kAdd, "created.example.");
  auto transfer = TransferZone(primary_.dns_address(), "created.example.", seconds(10));
  PDNSD_ASSERT_OK(StatusOf(transfer));
  const std::string text = AxfrZoneData(*transfer);
  auto entry = WaitSerial("created.example.", transfer->serial);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->digest, Sha256Hex(text));
  EXPECT_EQ(entry->size, text.size());
  EXPECT_FALSE(entry->dnssec);
  auto stored = catalog_->ReadText(*entry);
  PDNSD_ASSERT_OK(StatusOf(stored));
  EXPECT_EQ(*stored, text);
  EXPECT_EQ(Counter("zoneprovider_catalog_publishes_total", {{"result", "published"}}), 1);
  EXPECT_EQ(GaugeValue(*registry_, "zoneprovider_catalog_enabled"), 1);

  // The zonedata request/reply path is served as before.
  auto reply =
      bus_->Request("zonedata.secondary-0",
                    EncodeZoneDataRequest({"created.example.", false, "", true}), seconds(10));
  PDNSD_ASSERT_OK(StatusOf(reply));
  auto decoded = DecodeZoneDataReply(*reply);
  PDNSD_ASSERT_OK(StatusOf(decoded));
  EXPECT_EQ(decoded->zone_data, text);
}

TEST_F(CatalogPublisherTest, BurstOfEventsForOneZoneMakesFarFewerTransfers) {
  StartBroker();
  StartProvider(milliseconds(0));
  // Big enough that a transfer takes longer than publishing twenty events.
  nlohmann::json rrsets = nlohmann::json::array();
  for (int i = 0; i < 2000; ++i) {
    rrsets.push_back({{"name", "h" + std::to_string(i) + ".burst.example."},
                      {"type", "A"},
                      {"ttl", 60},
                      {"changetype", "REPLACE"},
                      {"records", {{{"content", "192.0.2.1"}, {"disabled", false}}}}});
  }
  ASSERT_EQ(CreateZone("burst.example.", 1, rrsets.dump()).status, 201);
  PublishEvent(ZoneEventType::kAdd, "burst.example.");
  const uint32_t first = DecodeSerial(primary_, "burst.example.");
  ASSERT_TRUE(WaitSerial("burst.example.", first).has_value());
  ASSERT_TRUE(WaitIdle());
  const double before = Transfers();

  ASSERT_EQ(primary_
                .Api("PATCH", Cluster::ZonesPath("burst.example."),
                     Cluster::ARecordPatch("www.burst.example.", "192.0.2.9"))
                .status,
            204);
  const uint32_t last = DecodeSerial(primary_, "burst.example.");
  ASSERT_GT(last, first);
  for (int i = 0; i < 20; ++i) PublishEvent(ZoneEventType::kChange, "burst.example.");
  auto entry = WaitSerial("burst.example.", last);
  ASSERT_TRUE(entry.has_value());
  ASSERT_TRUE(WaitIdle());
  const double transfers = Transfers() - before;
  std::printf("20 events for one zone: %.0f transfers\n", transfers);
  EXPECT_GE(transfers, 1);
  EXPECT_LE(transfers, 5);
  EXPECT_EQ(Counter("zoneprovider_catalog_events_total", {{"result", "accepted"}}), 21);
}

TEST_F(CatalogPublisherTest, EventDuringARunningTransferYieldsALaterTransfer) {
  StartBroker();
  StartProvider(milliseconds(0));  // no sweep: every transfer here is an event's
  ASSERT_EQ(CreateZone("during.example.", 1).status, 201);
  PublishEvent(ZoneEventType::kAdd, "during.example.");
  ASSERT_TRUE(WaitSerial("during.example.", DecodeSerial(primary_, "during.example.")));
  ASSERT_TRUE(WaitIdle());
  const double before = Transfers();
  const double unchanged_before =
      Counter("zoneprovider_catalog_publishes_total", {{"result", "unchanged"}});

  // The primary frozen: the transfer for the first event is connected and waits for its answer.
  primary_.process().Signal(SIGSTOP);
  PublishEvent(ZoneEventType::kChange, "during.example.");
  const bool running = WaitFor(
      [&] { return GaugeValue(*registry_, "zoneprovider_catalog_transfers_in_progress") == 1; },
      seconds(10), milliseconds(5));
  // The second event arrives while that transfer runs.
  if (running) PublishEvent(ZoneEventType::kChange, "during.example.");
  const bool marked = running && WaitFor([&] { return provider_->catalog_backlog() == 2; },
                                         seconds(10), milliseconds(5));
  primary_.process().Signal(SIGCONT);
  ASSERT_TRUE(running);
  ASSERT_TRUE(marked) << "backlog " << provider_->catalog_backlog();
  ASSERT_TRUE(WaitFor([&] { return Transfers() - before >= 2; }));
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Transfers() - before, 2);
  // The zone did not change: the later transfer finds serial and digest equal and writes nothing.
  EXPECT_EQ(
      Counter("zoneprovider_catalog_publishes_total", {{"result", "unchanged"}}) - unchanged_before,
      2);
}

// An original Go api-proxy in the fleet: its events carry Go's time format (RFC 3339 with
// nanoseconds and the local offset) and the zone as the request's URL named it (with or
// without the final dot). With no sweep, only those events can publish.
TEST_F(CatalogPublisherTest, EventsInTheOriginalGoProxysBodiesArePublished) {
  StartBroker();
  StartProvider(milliseconds(0));
  ASSERT_EQ(CreateZone("orig.example.", 3).status, 201);
  const auto publish = [&](const std::string& subject, const std::string& body) {
    PDNSD_ASSERT_OK(bus_->Publish(subject, body));
    PDNSD_ASSERT_OK(bus_->Flush(seconds(5)));
  };
  publish("zone.add",
          R"({"zone":"orig.example.","created_at":"2026-12-02T15:04:05.123456789+01:00"})");
  ASSERT_TRUE(WaitSerial("orig.example.", DecodeSerial(primary_, "orig.example.")).has_value());

  ASSERT_EQ(primary_
                .Api("PATCH", Cluster::ZonesPath("orig.example."),
                     Cluster::ARecordPatch("www.orig.example.", "192.0.2.9"))
                .status,
            204);
  publish("zone.modified", R"({"zone":"orig.example","changed_at":"2026-12-02T15:04:06.5+01:00"})");
  auto changed = WaitSerial("orig.example.", DecodeSerial(primary_, "orig.example."));
  ASSERT_TRUE(changed.has_value());
  auto text = catalog_->ReadText(*changed);
  PDNSD_ASSERT_OK(StatusOf(text));
  EXPECT_NE(text->find("192.0.2.9"), std::string::npos);

  ASSERT_EQ(DeleteZone("orig.example.").status, 204);
  publish("zone.delete",
          R"({"zone":"orig.example.","deleted_at":"2026-12-02T15:04:07.000000001+01:00"})");
  EXPECT_TRUE(WaitEntry("orig.example.", [](const distribution::CatalogEntry& e) {
                return e.deleted;
              }).has_value());
  EXPECT_EQ(Counter("zoneprovider_catalog_events_total", {{"result", "accepted"}}), 3);
}

TEST_F(CatalogPublisherTest, DeletedZoneGetsATombstoneOnlyAfterTheApiConfirms) {
  StartBroker();
  // The provider transfers from a PowerDNS that has no zones: every AXFR is refused (NotFound)
  // while the primary's API still has the zone.
  PdnsServer empty;
  PDNSD_ASSERT_OK(empty.Start(PdnsOptions().WithName("empty")));
  const HostPort refusing = empty.dns_address();
  ASSERT_EQ(CreateZone("kept.example.", 3).status, 201);
  // The catalog has a version of the zone (written here as the provider would).
  {
    auto catalog = distribution::ZoneCatalog::Open(*bus_, distribution::CatalogOptions{});
    PDNSD_ASSERT_OK(StatusOf(catalog));
    auto transfer = TransferZone(primary_.dns_address(), "kept.example.", seconds(10));
    PDNSD_ASSERT_OK(StatusOf(transfer));
    const std::string text = AxfrZoneData(*transfer);
    const std::string id = distribution::ZoneCatalog::NewVersionId();
    auto version =
        distribution::BuildZoneVersion({"kept.example.", transfer->serial, false, id, text});
    PDNSD_ASSERT_OK(StatusOf(version));
    PDNSD_ASSERT_OK(StatusOf((*catalog)->Publish(*version, 0, "")));
  }
  StartProvider(seconds(1), &refusing);
  PublishEvent(ZoneEventType::kDelete, "kept.example.");
  // Retried (the DNS refuses, the API has the zone), never deleted.
  WaitFor([&] {
    return Counter("zoneprovider_catalog_transfers_total", {{"state", "failed"}}) >= 3 ||
           Counter("zoneprovider_catalog_tombstones_total") > 0;
  });
  EXPECT_GE(Counter("zoneprovider_catalog_transfers_total", {{"state", "failed"}}), 3);
  auto kept = catalog_->Get("kept.example.");
  PDNSD_ASSERT_OK(StatusOf(kept));
  EXPECT_FALSE(kept->entry.deleted);
  EXPECT_EQ(Counter("zoneprovider_catalog_tombstones_total"), 0);

  // Now the API confirms: the tombstone follows (the sweep or the retry finds it).
  ASSERT_EQ(DeleteZone("kept.example.").status, 204);
  auto gone =
      WaitEntry("kept.example.", [](const distribution::CatalogEntry& e) { return e.deleted; });
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->serial, kept->entry.serial);
  EXPECT_TRUE(WaitFor([&] { return Counter("zoneprovider_catalog_tombstones_total") == 1; }));
}

TEST_F(CatalogPublisherTest, SweepFillsTheCatalogAndPublishesAZoneChangedWithPdnsutil) {
  StartBroker();
  // A new installation with an existing primary: the zones are there before the provider.
  for (const char* zone : {"one.example.", "two.example.", "bypass.example."}) {
    ASSERT_EQ(CreateZone(zone, 5).status, 201);
  }
  StartProvider(seconds(1));
  for (const char* zone : {"one.example.", "two.example.", "bypass.example."}) {
    EXPECT_TRUE(WaitSerial(zone, DecodeSerial(primary_, zone)).has_value()) << zone;
  }
  ASSERT_TRUE(WaitIdle());
  const uint32_t before = DecodeSerial(primary_, "bypass.example.");

  // No event: only the sweep can see it.
  CommandResult edit = primary_.RunPdnsutil({"increase-serial", "bypass.example."});
  ASSERT_TRUE(edit.ok()) << edit.output;
  const auto edited = std::chrono::steady_clock::now();
  // The API's zone list shows the new serial at once (it does not lag the database).
  PdnsApiClient api(TestServiceEnvironment("api", nullptr, primary_).common.powerdns);
  auto zones = api.ListZones();
  PDNSD_ASSERT_OK(StatusOf(zones));
  for (const PdnsZone& zone : *zones) {
    if (zone.name == "bypass.example.") {
      EXPECT_EQ(zone.serial, before + 1);
    }
  }
  auto entry = WaitSerial("bypass.example.", before + 1);
  ASSERT_TRUE(entry.has_value());
  std::printf("pdnsutil change published by the sweep after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                         std::chrono::steady_clock::now() - edited)
                                         .count()));
  EXPECT_EQ(Counter("zoneprovider_catalog_events_total", {{"result", "accepted"}}), 0);
}

TEST_F(CatalogPublisherTest, DeletingMostZonesAtOnceIsHeldByTheGuard) {
  StartBroker();
  std::vector<std::string> zones;
  for (int i = 0; i < 10; ++i) {
    zones.push_back("z" + std::to_string(i) + ".mass.example.");
    ASSERT_EQ(CreateZone(zones.back(), 1).status, 201);
  }
  StartProvider(seconds(1));
  for (const std::string& zone : zones) {
    ASSERT_TRUE(WaitSerial(zone, DecodeSerial(primary_, zone)).has_value()) << zone;
  }
  // Eight of ten deleted behind the proxy's back (SQL, no events): the sweep finds them, the
  // API confirms, and the guard holds them.
  // One SQL transaction, so that one sweep sees all of them gone.
  std::string names;
  for (int i = 0; i < 8; ++i) {
    names += (i ? ",'" : "'") + zones[i].substr(0, zones[i].size() - 1) + "'";
  }
  int exit_code = -1;
  primary_.Sql(
      "BEGIN; DELETE FROM records WHERE domain_id IN (SELECT id FROM domains WHERE name "
      "IN (" +
          names + ")); DELETE FROM domains WHERE name IN (" + names + "); COMMIT;",
      &exit_code);
  ASSERT_EQ(exit_code, 0);
  ASSERT_TRUE(
      WaitFor([&] { return GaugeValue(*registry_, "zoneprovider_catalog_deletions_held") == 8; }));
  std::this_thread::sleep_for(seconds(3));  // several ticks of the gate
  EXPECT_EQ(GaugeValue(*registry_, "zoneprovider_catalog_deletions_held"), 8);
  EXPECT_EQ(sink_->Count("catalog deletions held by the mass-deletion guard"), 1u);
  EXPECT_EQ(Counter("zoneprovider_catalog_tombstones_total"), 0);
  for (const std::string& zone : zones) {
    auto record = catalog_->Get(zone);
    PDNSD_ASSERT_OK(StatusOf(record));
    EXPECT_FALSE(record->entry.deleted) << zone;
  }

  // The primary has them again: released, nothing deleted.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(CreateZone(zones[i], 1).status, 201);
  ASSERT_TRUE(
      WaitFor([&] { return GaugeValue(*registry_, "zoneprovider_catalog_deletions_held") == 0; }));
  EXPECT_EQ(Counter("zoneprovider_catalog_tombstones_total"), 0);

  // One deletion is an ordinary one.
  ASSERT_EQ(DeleteZone(zones[0]).status, 204);
  PublishEvent(ZoneEventType::kDelete, zones[0]);
  EXPECT_TRUE(WaitEntry(zones[0], [](const distribution::CatalogEntry& e) { return e.deleted; }));
  // The counter moves just after the write the entry shows.
  EXPECT_TRUE(WaitFor([&] { return Counter("zoneprovider_catalog_tombstones_total") == 1; }))
      << Counter("zoneprovider_catalog_tombstones_total");
}

TEST_F(CatalogPublisherTest, TwoProvidersShareTheWorkAndEveryVersionReadsBack) {
  StartBroker();
  std::vector<std::string> zones;
  for (int i = 0; i < 20; ++i) {
    zones.push_back("p" + std::to_string(i) + ".two.example.");
    ASSERT_EQ(CreateZone(zones.back(), 1).status, 201);
  }
  // Both fill the empty catalog at once: the same zones, the same revisions expected.
  StartOtherProvider("zone-provider-2");
  StartProvider(seconds(1));
  const auto check_all = [&] {
    for (const std::string& zone : zones) {
      auto entry = WaitSerial(zone, DecodeSerial(primary_, zone));
      ASSERT_TRUE(entry.has_value()) << zone;
      // The chunks the entry names are there and give the digest (none purged by a loser).
      auto text = catalog_->ReadText(*entry);
      PDNSD_ASSERT_OK(StatusOf(text));
      auto transfer = TransferZone(primary_.dns_address(), zone, seconds(10));
      PDNSD_ASSERT_OK(StatusOf(transfer));
      EXPECT_EQ(*text, AxfrZoneData(*transfer)) << zone;
    }
  };
  check_all();
  // Changes with events (split between the two by the queue group) and sweeps of both.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(primary_
                  .Api("PATCH", Cluster::ZonesPath(zones[i]),
                       Cluster::ARecordPatch("www." + zones[i], "192.0.2.7"))
                  .status,
              204);
    PublishEvent(ZoneEventType::kChange, zones[i]);
  }
  check_all();
  const auto total = [&](const std::string& name, const std::map<std::string, std::string>& l) {
    double sum = Counter(name, l);
    for (auto& other : others_) sum += CounterValue(*other.registry, name, l);
    return sum;
  };
  std::printf("two providers: %.0f published, %.0f unchanged, %.0f conflicts, events %.0f + %.0f\n",
              total("zoneprovider_catalog_publishes_total", {{"result", "published"}}),
              total("zoneprovider_catalog_publishes_total", {{"result", "unchanged"}}),
              total("zoneprovider_catalog_publishes_total", {{"result", "conflict"}}),
              Counter("zoneprovider_catalog_events_total", {{"result", "accepted"}}),
              CounterValue(*others_[0].registry, "zoneprovider_catalog_events_total",
                           {{"result", "accepted"}}));
  EXPECT_EQ(total("zoneprovider_catalog_events_total", {{"result", "accepted"}}), 10);
  EXPECT_EQ(total("zoneprovider_catalog_publishes_total", {{"result", "failed"}}), 0);
}

TEST_F(CatalogPublisherTest, BrokerDownAtStartIsWaitedForInTheBackground) {
  StartBroker();
  ASSERT_EQ(CreateZone("waited.example.", 4).status, 201);
  // The provider's bus is connected once, then the broker goes away before the provider starts.
  auto bus = Bus::Connect(TestBusOptions(nats_, "zone-provider"), MakeTestLogger("bus"));
  PDNSD_ASSERT_OK(StatusOf(bus));
  provider_bus_ = std::move(bus).value();
  ASSERT_TRUE(WaitFor([&] { return provider_bus_->IsConnected(); }));
  nats_.Stop();
  ASSERT_TRUE(WaitFor([&] { return !provider_bus_->IsConnected(); }));
  ServiceEnvironment environment =
      TestServiceEnvironment("zone-provider", provider_bus_.get(), primary_);
  registry_ = environment.registry;
  ZoneProviderConfig config;
  config.primary = primary_.dns_address();
  provider_ = std::make_unique<ZoneProvider>(config, environment);
  const auto started = std::chrono::steady_clock::now();
  PDNSD_ASSERT_OK(provider_->Start());
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(2)) << "Start() waited";
  EXPECT_TRUE(provider_->publishes_catalog());
  std::this_thread::sleep_for(seconds(2));  // a few attempts against no broker

  PDNSD_ASSERT_OK(nats_.Start());
  ASSERT_TRUE(
      WaitFor([&] { return bus_->IsConnected() && provider_bus_->IsConnected(); }, seconds(30)));
  auto catalog = distribution::ZoneCatalog::Open(*bus_, environment.common.jetstream.catalog);
  PDNSD_ASSERT_OK(StatusOf(catalog));
  catalog_ = std::move(catalog).value();
  // Opened in the background; its first sweep publishes the zone.
  EXPECT_TRUE(WaitSerial("waited.example.", DecodeSerial(primary_, "waited.example."), seconds(60))
                  .has_value());
  EXPECT_EQ(GaugeValue(*registry_, "zoneprovider_catalog_enabled"), 1);
}

TEST_F(CatalogPublisherTest, BrokerWithoutJetStreamGivesOneWarningAndZoneDataStillWorks) {
  StartBroker(/*jetstream=*/false);
  StartProvider();
  EXPECT_FALSE(provider_->publishes_catalog());
  EXPECT_EQ(sink_->Count("the message broker has no JetStream"), 1u);
  ASSERT_EQ(CreateZone("plain.example.", 2).status, 201);
  PublishEvent(ZoneEventType::kAdd, "plain.example.");
  auto reply =
      bus_->Request("zonedata.secondary-0",
                    EncodeZoneDataRequest({"plain.example.", false, "", true}), seconds(10));
  PDNSD_ASSERT_OK(StatusOf(reply));
  PDNSD_ASSERT_OK(StatusOf(DecodeZoneDataReply(*reply)));
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(sink_->Count("the message broker has no JetStream"), 1u);
  EXPECT_EQ(GaugeValue(*registry_, "zoneprovider_catalog_enabled"), 0);
}

// What a sweep costs the primary with 1,000 zones, in sync with the catalog: printed, not
// asserted (bench-style numbers), except that an in-sync sweep marks nothing.
TEST_F(CatalogPublisherTest, SweepOfAThousandZonesInSyncMarksNothing) {
  StartBroker();
  // Zones straight into the primary's database: 1,000 API calls would take most of a minute.
  // 100 zones per sqlite3 call: one argument of the command line holds at most 128 KiB.
  for (int batch = 0; batch < 10; ++batch) {
    std::string sql = "BEGIN;";
    for (int i = batch * 100; i < (batch + 1) * 100; ++i) {
      const std::string name = "s" + std::to_string(i) + ".sweep.example";
      const std::string id = "(SELECT id FROM domains WHERE name='" + name + "')";
      sql += "INSERT INTO domains (name, type) VALUES ('" + name + "', 'NATIVE');";
      sql += "INSERT INTO records (domain_id, name, type, content, ttl) VALUES (" + id + ", '" +
             name +
             "', 'SOA', 'ns1.example.net. hostmaster.example.net. 1 10800 3600 604800 3600', "
             "3600);";
      sql += "INSERT INTO records (domain_id, name, type, content, ttl) VALUES (" + id + ", '" +
             name + "', 'NS', 'ns1.example.net.', 3600);";
    }
    sql += "COMMIT;";
    int exit_code = -1;
    primary_.Sql(sql, &exit_code);
    ASSERT_EQ(exit_code, 0);
  }
  const auto fill_start = std::chrono::steady_clock::now();
  StartProvider(seconds(1));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Counter("zoneprovider_catalog_publishes_total", {{"result", "published"}}) >= 1000;
      },
      seconds(300)));
  std::printf("empty catalog filled with 1000 zones in %.1f s (4 workers)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count());
  ASSERT_TRUE(WaitIdle(seconds(60)));
  std::this_thread::sleep_for(seconds(2));  // the sweeps after the fill see the whole catalog
  const double marks = Counter("zoneprovider_catalog_sweep_marks_total");
  const double sweeps = Counter("zoneprovider_catalog_sweeps_total", {{"state", "successful"}});
  const double cpu = ProcessCpuSeconds(primary_.process().pid());
  const auto window_start = std::chrono::steady_clock::now();
  // At least two more sweeps. A sweep is due SweepInterval after the last, but never sooner than
  // nine times its duration (catalog_publisher.cc): slow under a sanitizer, so waited for.
  const auto swept = [&] {
    return Counter("zoneprovider_catalog_sweeps_total", {{"state", "successful"}}) - sweeps;
  };
  WaitFor([&] { return swept() >= 2; }, seconds(120));
  const double sweeps_done = swept();
  const double window =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
  const double cpu_per_sweep =
      sweeps_done > 0 ? (ProcessCpuSeconds(primary_.process().pid()) - cpu) / sweeps_done : 0;
  std::printf(
      "sweep of 1000 zones: %.0f sweeps in %.1f s, last took %.1f ms, primary CPU %.1f ms per "
      "sweep (an idle primary's own CPU included)\n",
      sweeps_done, window,
      1000 * GaugeValue(*registry_, "zoneprovider_catalog_sweep_duration_seconds"),
      1000 * cpu_per_sweep);
  // The zone list alone, as the sweep asks for it, five times in a row.
  const double list_cpu = ProcessCpuSeconds(primary_.process().pid());
  const auto list_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(primary_.Api("GET", "/api/v1/servers/localhost/zones").status, 200);
  }
  const double list_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - list_start)
          .count() /
      5;
  std::printf("GET .../zones with 1000 zones: %.1f ms each, primary CPU %.1f ms each\n", list_ms,
              1000 * (ProcessCpuSeconds(primary_.process().pid()) - list_cpu) / 5);
  EXPECT_GE(sweeps_done, 2);
  EXPECT_EQ(Counter("zoneprovider_catalog_sweep_marks_total"), marks);
}

}  // namespace
}  // namespace pdnsd::testing
