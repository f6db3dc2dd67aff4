// Self-healing: the health-checker finds secondaries that missed something and makes their
// syncers repair them. Real nats-server and PowerDNS; services in-process with short intervals.
#include <gtest/gtest.h>

#include <prometheus/registry.h>
#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "model/zone_name.h"
#include "support/cluster.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ClusterOptions HealingOptions() {
  ClusterOptions options;
  options.health_checker = true;
  // Short enough for liveness tests, long enough that a loaded CI machine does not flap.
  options.ping_interval = milliseconds(500);
  // Event checks would race the drift the tests make by hand; the event-check test runs one itself.
  options.checker.event_check_wait = seconds(60);
  options.checker.periodic_interval = seconds(60);  // tests prove healing without waiting for it
  options.checker.refresh_interval = seconds(1);
  options.checker.nsec3_interval = seconds(3600);
  options.checker.ensure_nsec3 = false;
  options.checker.state_timeout = seconds(5);
  options.checker.signing_window = milliseconds(200);
  return options;
}

// The set of zones a secondary's API lists, with their serials.
std::map<std::string, uint32_t> ZonesOf(const PdnsServer& server) {
  std::map<std::string, uint32_t> zones;
  HttpResponse response = server.Api("GET", "/api/v1/servers/localhost/zones");
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (!doc.is_array()) return zones;
  for (const auto& zone : doc)
    zones[zone["name"].get<std::string>()] = zone["serial"].get<uint32_t>();
  return zones;
}

std::map<std::string, uint32_t> PrimaryZones(const Cluster& cluster) {
  std::map<std::string, uint32_t> zones;
  for (const auto& [name, api_serial] : ZonesOf(cluster.primary)) {
    zones[name] = cluster.PrimarySerial(name);
  }
  return zones;
}

::testing::AssertionResult SecondaryMatchesPrimary(Cluster& cluster, int index,
                                                   milliseconds timeout = seconds(60)) {
  std::map<std::string, uint32_t> primary, secondary;
  const bool ok = WaitFor(
      [&] {
        primary = PrimaryZones(cluster);
        secondary = ZonesOf(*cluster.secondaries[index]);
        return primary == secondary;
      },
      timeout, milliseconds(100));
  if (ok) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << "secondary" << index << " differs:";
  for (const auto& [zone, serial] : primary) failure << " primary " << zone << "=" << serial;
  for (const auto& [zone, serial] : secondary) failure << " secondary " << zone << "=" << serial;
  return failure;
}

double Sample(prometheus::Registry& registry, const std::string& series) {
  const std::string text = RenderMetrics(registry);
  const size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// True once the checker has heard every syncer and finished its first full check of each, so
// that drift a test makes afterwards is found by the check the test means.
bool CheckerSettled(HealthChecker& checker, size_t secondaries) {
  return WaitFor([&] {
    auto status = nlohmann::json::parse(checker.StatusJson());
    size_t checked = 0;
    for (const auto& entry : status["secondaries"]) checked += entry.contains("last_check") ? 1 : 0;
    return checked == secondaries;
  });
}

class HealingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(cluster_.Start(HealingOptions()));
    ASSERT_TRUE(CheckerSettled(*cluster_.checker, 2));
  }
  Cluster cluster_;
};

TEST_F(HealingTest, SyncerThatWasDownIsHealedWhenItComesBack) {
  for (const char* zone : {"keep.example.", "change.example.", "remove.example."}) {
    ASSERT_EQ(cluster_.CreateZone(zone, 1).status, 201);
  }
  ASSERT_TRUE(SecondaryMatchesPrimary(cluster_, 1));
  cluster_.StopSyncer(1);
  ASSERT_EQ(cluster_.CreateZone("added.example.", 1).status, 201);
  ASSERT_EQ(cluster_.SetARecord("change.example.", "www.change.example.", "192.0.2.5").status, 204);
  ASSERT_EQ(cluster_.Proxy("DELETE", Cluster::ZonesPath("remove.example.")).status, 204);
  ASSERT_TRUE(SecondaryMatchesPrimary(cluster_, 0));
  // Secondary 1 missed all of it (events are not replayed on core NATS).
  EXPECT_EQ(ZonesOf(*cluster_.secondaries[1]).count("added.example."), 0u);

  PDNSD_ASSERT_OK(cluster_.StartSyncer(1));  // a new boot id: the checker runs a full check
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 1, seconds(30)));
  EXPECT_EQ(DigShort(cluster_.secondaries[1]->dns_address(), "www.change.example.", "A"),
            "192.0.2.5");
  // The metrics say which check healed it: the full check (counted with the periodic ones),
  // not the event check (the scheduled first periodic check may repeat the same events).
  EXPECT_GE(
      Sample(*cluster_.checker_registry,
             "healthchecker_interval_health_published_zone_events_total{event_type=\"create\"}"),
      1);
  EXPECT_EQ(
      Sample(*cluster_.checker_registry,
             "healthchecker_event_health_check_published_zone_events_total{event_type=\"create\"}"),
      0);
}

TEST_F(HealingTest, DriftByHandIsRepaired) {
  for (const char* zone : {"a.example.", "b.example.", "c.example."}) {
    ASSERT_EQ(cluster_.CreateZone(zone, 1).status, 201);
  }
  ASSERT_TRUE(SecondaryMatchesPrimary(cluster_, 0));
  // The scheduler's first periodic check (two ping intervals after the start) must not be the
  // one that finds the drift made below: wait until it started, then for a check of ours, which
  // runs only after it (one periodic check at a time). The next one is a minute away.
  ASSERT_TRUE(WaitFor([&] {
    return Sample(*cluster_.checker_registry, "healthchecker_interval_health_cycles_total") >= 1;
  }));
  cluster_.checker->RunPeriodicCheck();
  PdnsServer& secondary = *cluster_.secondaries[0];
  // A zone deleted by hand, a stray zone added, a zone set back to an old serial. The
  // secondary's sqlite3 may be busy with the checker's first repairs: PowerDNS then answers 500
  // ("database is locked") and an operator would try again.
  auto by_hand = [&](const std::string& method, const std::string& path,
                     const std::string& body = "") {
    HttpResponse response;
    WaitFor([&] { return (response = secondary.Api(method, path, body)).status != 500; },
            seconds(10), milliseconds(100));
    return response.status;
  };
  ASSERT_EQ(by_hand("DELETE", Cluster::ZonesPath("a.example.")), 204);
  ASSERT_EQ(
      by_hand("POST", "/api/v1/servers/localhost/zones",
              R"({"name":"stray.example.","kind":"Native","nameservers":["ns1.example.net."]})"),
      201);
  int code = -1;
  secondary.Sql("update records set content = replace(content, ' " +
                    std::to_string(cluster_.PrimarySerial("b.example.")) +
                    " ', ' 1 ') where type = 'SOA' and name = 'b.example'",
                &code);
  ASSERT_EQ(code, 0);
  ASSERT_NE(ZonesOf(secondary), PrimaryZones(cluster_));
  cluster_.checker->RunPeriodicCheck();
  // What that check found, before a later check sees the repaired state.
  auto status = nlohmann::json::parse(
      HttpCall("GET", "http://" + cluster_.checker->status_address().ToString() + "/status").body);
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 0, seconds(30)));
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 1, seconds(5)));

  ASSERT_TRUE(status["secondaries"].is_array()) << status.dump();
  bool found = false;
  for (const auto& entry : status["secondaries"]) {
    if (entry["id"] == "secondary-0") {
      found = true;
      EXPECT_EQ(entry["state"], "passing");
      EXPECT_EQ(entry["zones"]["missing"], 1);
      EXPECT_EQ(entry["zones"]["stray"], 1);
      EXPECT_EQ(entry["zones"]["behind"], 1);
    }
  }
  EXPECT_TRUE(found) << status.dump();
}

TEST_F(HealingTest, NewEmptySecondaryReceivesEveryZoneAtOnce) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(cluster_.CreateZone("boot" + std::to_string(i) + ".example.", 1).status, 201);
  }
  PDNSD_ASSERT_OK(cluster_.AddSecondary());
  // Well before the 60 s periodic check: the first heartbeat triggers a full check.
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 2, seconds(20)));
}

// A zone created through the proxy, served, then its serial moved with pdnsutil (no event):
// the background refresh (every second here) must announce it. The refresh leaves a zone whose
// event check is still due to that check (PlanRefresh), so the edit waits until the create's
// event check (100 ms here) is done: then only the refresh can find it.
void ExpectBypassAnnouncedByTheRefresh(Cluster& cluster, const std::string& zone) {
  ASSERT_EQ(cluster.CreateZone(zone, 1).status, 201);
  const uint32_t before = cluster.PrimarySerial(zone);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, before));
  ASSERT_TRUE(WaitFor([&] {
    auto status = nlohmann::json::parse(cluster.checker->StatusJson());
    return status["event_checks_pending"] == 0;
  }));
  CommandResult edit = cluster.primary.RunPdnsutil({"increase-serial", zone});
  ASSERT_TRUE(edit.ok()) << edit.output;
  cluster.primary.Api("PUT", "/api/v1/servers/localhost/cache/flush?domain=" + zone);
  const uint32_t after = cluster.PrimarySerial(zone);
  ASSERT_NE(after, before);
  PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, after, seconds(20)));
}

ClusterOptions QuickEventCheckOptions() {
  ClusterOptions options = HealingOptions();
  options.checker.event_check_wait = milliseconds(100);
  return options;
}

TEST(HealingRefresh, ChangeThatBypassedTheProxyIsAnnouncedAtTheRefresh) {
  Cluster cluster;
  PDNSD_ASSERT_OK(cluster.Start(QuickEventCheckOptions()));
  ExpectBypassAnnouncedByTheRefresh(cluster, "bypass.example.");
}

// The follow-up of issue 9: a periodic check that found the primary empty (its mass-deletion
// guard refused, as at the start of every cluster) must not keep the background refresh from
// announcing a later change that bypassed the proxy.
TEST(HealingRefresh, BypassingChangeIsAnnouncedAfterAPeriodicCheckOfAnEmptyPrimary) {
  Cluster cluster;
  PDNSD_ASSERT_OK(cluster.Start(QuickEventCheckOptions()));
  cluster.checker->RunPeriodicCheck();  // no zones yet: the guard refuses, the alert is raised
  ExpectBypassAnnouncedByTheRefresh(cluster, "after-empty.example.");
}

// Issue 10: the refresh skipped every zone that had an event since the last refresh, so a
// write that bypassed the proxy after the event's check waited for the periodic check (measured
// 54-223 s). The refresh is run by hand here (its own interval is an hour): the zone had an
// event, its check ran, then pdnsutil moved the serial, and the next refresh must announce it.
TEST(HealingRefresh, BypassAfterAnEventsCheckIsAnnouncedByTheNextRefresh) {
  ClusterOptions options = HealingOptions();
  options.checker.refresh_interval = std::chrono::hours(1);
  options.checker.periodic_interval = std::chrono::hours(1);
  options.checker.event_check_wait = milliseconds(100);
  Cluster cluster;
  PDNSD_ASSERT_OK(cluster.Start(options));
  ASSERT_TRUE(CheckerSettled(*cluster.checker, 2));
  // The first periodic check (2 heartbeat intervals after the start) is over: nothing but the
  // refresh below can find the bypassing write.
  ASSERT_TRUE(WaitFor([&] {
    return Sample(*cluster.checker_registry, "healthchecker_interval_health_cycles_total") >= 1;
  }));
  const std::string zone = "evented.example.";
  ASSERT_EQ(cluster.CreateZone(zone, 1).status, 201);  // the add event: a check 100 ms later
  const uint32_t before = cluster.PrimarySerial(zone);
  PDNSD_ASSERT_OK(cluster.WaitAllServe(zone, before));
  const auto checks_done = [&] {
    auto status = nlohmann::json::parse(cluster.checker->StatusJson());
    return status["event_checks_pending"] == 0;
  };
  ASSERT_TRUE(WaitFor([&] {
    return Sample(*cluster.checker_registry,
                  "healthchecker_event_health_check_received_zone_events_total{event_type="
                  "\"create\"}") >= 1;
  }));
  ASSERT_TRUE(WaitFor(checks_done));
  CommandResult edit = cluster.primary.RunPdnsutil({"increase-serial", zone});
  ASSERT_TRUE(edit.ok()) << edit.output;
  cluster.primary.Api("PUT", "/api/v1/servers/localhost/cache/flush?domain=" + zone);
  const uint32_t after = cluster.PrimarySerial(zone);
  ASSERT_NE(after, before);
  cluster.checker->RunRefresh();
  PDNSD_EXPECT_OK(cluster.WaitAllServe(zone, after, seconds(20)));
  EXPECT_GE(Sample(*cluster.checker_registry,
                   "healthchecker_refresh_published_zone_events_total{event_type=\"change\"}"),
            1);
}

TEST_F(HealingTest, RestartedCheckerRelearnsSecondariesFromHeartbeats) {
  cluster_.StopHealthChecker();
  PDNSD_ASSERT_OK(cluster_.StartHealthChecker());
  EXPECT_TRUE(WaitFor([&] { return cluster_.checker->liveness().ActiveSecondaries().size() == 2; },
                      seconds(2)));
  // And it carries on: a zone missing on a secondary is repaired.
  ASSERT_EQ(cluster_.CreateZone("after-restart.example.", 1).status, 201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe("after-restart.example.",
                                        cluster_.PrimarySerial("after-restart.example.")));
  ASSERT_EQ(
      cluster_.secondaries[1]->Api("DELETE", Cluster::ZonesPath("after-restart.example.")).status,
      204);
  cluster_.checker->RunPeriodicCheck();
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 1, seconds(20)));
}

TEST_F(HealingTest, StoppedSyncerBecomesCriticalThenDeregistered) {
  ASSERT_TRUE(WaitFor(
      [&] { return cluster_.checker->liveness().StateOf("secondary-1") == Liveness::kPassing; }));
  cluster_.StopSyncer(1);
  EXPECT_TRUE(WaitFor(
      [&] { return cluster_.checker->liveness().StateOf("secondary-1") == Liveness::kCritical; },
      seconds(5)));
  EXPECT_EQ(cluster_.checker->liveness().ActiveSecondaries().size(), 1u);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Sample(*cluster_.checker_registry,
                      "healthchecker_service_liveness{id=\"secondary-1\",service=\"pdns-secondary-"
                      "syncer\",state=\"critical\"}") == 1;
      },
      seconds(3)))
      << RenderMetrics(*cluster_.checker_registry);
  EXPECT_TRUE(
      WaitFor([&] { return !cluster_.checker->liveness().StateOf("secondary-1").has_value(); },
              seconds(10)));
  PDNSD_ASSERT_OK(cluster_.StartSyncer(1));
  EXPECT_TRUE(WaitFor(
      [&] { return cluster_.checker->liveness().StateOf("secondary-1") == Liveness::kPassing; },
      seconds(5)));
}

TEST(HealingGuard, EmptyPrimaryAnnouncesNoStrayZones) {
  ClusterOptions options = HealingOptions();
  options.health_checker = false;
  Cluster cluster;
  PDNSD_ASSERT_OK(cluster.Start(options));
  for (const char* zone : {"one.example.", "two.example."}) {
    ASSERT_EQ(cluster.CreateZone(zone, 1).status, 201);
  }
  ASSERT_TRUE(SecondaryMatchesPrimary(cluster, 0));
  ASSERT_TRUE(SecondaryMatchesPrimary(cluster, 1));
  // A health-checker pointed at an empty PowerDNS (a misconfiguration, or a wiped primary).
  PdnsServer empty;
  PDNSD_ASSERT_OK(empty.Start(PdnsOptions().WithName("empty").Primary()));
  HealthCheckerConfig checker = options.checker;
  checker.primary = empty.dns_address();
  auto bus = Bus::Connect(TestBusOptions(cluster.nats, "checker"), MakeTestLogger("checker"));
  PDNSD_ASSERT_OK(bus.status());
  ServiceEnvironment environment = TestServiceEnvironment("checker", bus->get(), empty);
  environment.common.ping_interval = options.ping_interval;
  checker.status_listen = {"127.0.0.1", 0};
  HealthChecker health(checker, environment);
  PDNSD_ASSERT_OK(health.Start());
  ASSERT_TRUE(WaitFor([&] { return health.liveness().ActiveSecondaries().size() == 2; }));
  health.RunPeriodicCheck();
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(ZonesOf(*cluster.secondaries[0]).size(), 2u);
  EXPECT_EQ(ZonesOf(*cluster.secondaries[1]).size(), 2u);
  EXPECT_GE(Sample(*environment.registry, "healthchecker_mass_deletion_alerts_total"), 1);
  auto status = nlohmann::json::parse(health.StatusJson());
  EXPECT_TRUE(status["primary"]["alert"].is_string()) << status.dump();
  health.Stop();
}

}  // namespace
}  // namespace pdnsd::testing

namespace pdnsd::testing {
namespace {

TEST_F(HealingTest, EventCheckSendsTargetedEventToTheSecondaryThatDiffers) {
  ASSERT_EQ(cluster_.CreateZone("event.example.", 1).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("event.example.", cluster_.PrimarySerial("event.example.")));
  ASSERT_EQ(cluster_.secondaries[1]->Api("DELETE", Cluster::ZonesPath("event.example.")).status,
            204);
  cluster_.checker->RunEventCheck("event.example.");
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 1, seconds(20)));
  EXPECT_EQ(
      Sample(*cluster_.checker_registry,
             "healthchecker_event_health_check_published_zone_events_total{event_type=\"create\"}"),
      1);
}

TEST_F(HealingTest, SerialsAboveTwoToThe31AndTheWrapPropagate) {
  ASSERT_EQ(cluster_.CreateZone("wrap.example.", 4294967290u).status, 201);
  uint32_t serial = cluster_.PrimarySerial("wrap.example.");
  ASSERT_GT(serial, 2147483648u);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe("wrap.example.", serial));
  for (int i = 0; i < 8 && serial > 2147483648u; ++i) {
    ASSERT_EQ(
        cluster_
            .SetARecord("wrap.example.", "www.wrap.example.", "192.0.2." + std::to_string(i + 1))
            .status,
        204);
    serial = cluster_.PrimarySerial("wrap.example.");
  }
  ASSERT_LT(serial, 100u) << "the serial should have wrapped";
  PDNSD_EXPECT_OK(cluster_.WaitAllServe("wrap.example.", serial));
  cluster_.checker->RunPeriodicCheck();
  auto status = nlohmann::json::parse(cluster_.checker->StatusJson());
  for (const auto& entry : status["secondaries"]) {
    EXPECT_EQ(entry["zones"]["behind"], 0) << status.dump();
  }
}

TEST_F(HealingTest, Nsec3ParamIsSetAndServedBySecondaries) {
  ASSERT_EQ(cluster_.CreateZone("nsec3.example.", 1, "[]", /*dnssec=*/true).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("nsec3.example.", cluster_.PrimarySerial("nsec3.example.")));
  cluster_.checker->RunNsec3Check();
  auto zone =
      nlohmann::json::parse(cluster_.primary.Api("GET", Cluster::ZonesPath("nsec3.example.")).body);
  EXPECT_EQ(zone["nsec3param"], "1 0 0 -");
  EXPECT_EQ(zone["nsec3narrow"], false);
  for (auto& secondary : cluster_.secondaries) {
    std::string answer;
    EXPECT_TRUE(WaitFor(
        [&] {
          answer = DigShort(secondary->dns_address(), "nsec3.example.", "NSEC3PARAM");
          return answer == "1 0 0 -";
        },
        seconds(20)))
        << "served: \"" << answer << "\", serial " << cluster_.ServedSerial(0, "nsec3.example.")
        << "/" << cluster_.ServedSerial(1, "nsec3.example.") << " primary "
        << cluster_.PrimarySerial("nsec3.example.") << "\n"
        << RunCommand("dig +norec -p " + std::to_string(secondary->dns_address().port) +
                      " @127.0.0.1 nsec3.example. NSEC3PARAM +dnssec");
  }
  EXPECT_EQ(Sample(*cluster_.checker_registry, "healthchecker_ensure_nsec3_cyles_total"), 1);
}

TEST_F(HealingTest, SigningSyncAnnouncesEveryDnssecZone) {
  for (const char* zone : {"signed1.example.", "signed2.example."}) {
    ASSERT_EQ(cluster_.CreateZone(zone, 1, "[]", /*dnssec=*/true).status, 201);
  }
  ASSERT_EQ(cluster_.CreateZone("plain.example.", 1).status, 201);
  auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "listener"), MakeTestLogger("listener"));
  PDNSD_ASSERT_OK(bus.status());
  std::mutex mutex;
  std::set<std::string> announced;
  auto subscription = (*bus)->Subscribe("zone.modified", "", [&](const BusMessage& message) {
    auto event = DecodeZoneEvent(ZoneEventType::kChange, message.data);
    std::lock_guard lock(mutex);
    if (event.ok()) announced.insert(event->zone);
  });
  PDNSD_ASSERT_OK((*bus)->Flush(seconds(5)));
  cluster_.checker->RunSigningSync();
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mutex);
        return announced.size() >= 2;
      },
      seconds(10)));
  std::lock_guard lock(mutex);
  EXPECT_EQ(announced, (std::set<std::string>{"signed1.example.", "signed2.example."}));
  subscription->reset();
}

TEST_F(HealingTest, MalformedHeartbeatsAndSilentSecondariesAreHandled) {
  auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "intruder"), MakeTestLogger("intruder"));
  PDNSD_ASSERT_OK(bus.status());
  for (const char* junk :
       {"{", "[]", R"({"id":"x"})", R"({"id":"a.b","service":"s","boot_id":"b"})",
        R"({"id":"x","service":"s","boot_id":"b","load1":-1})"}) {
    PDNSD_ASSERT_OK((*bus)->Publish("heartbeat.pdns-secondary-syncer.x", junk));
  }
  // A "syncer" that sends heartbeats but never answers state requests.
  Heartbeat ghost{"ghost", "pdns-secondary-syncer", "test", {}, "nowhere", 0, NewBootId(), "", ""};
  HeartbeatSender ghost_beats(bus->get(), "heartbeat", ghost, milliseconds(200),
                              MakeTestLogger("ghost"));
  ghost_beats.Start();
  // And one that answers state requests with an absurd map (a negative serial).
  Bus* liar_bus = bus->get();
  auto liar_state = liar_bus->Subscribe("zonestate.liar", "", [liar_bus](const BusMessage& m) {
    liar_bus->Respond(m, R"({"statemap":{"ghostly.example.":-5},"created_at":"x"})");
  });
  PDNSD_ASSERT_OK(liar_state.status());
  Heartbeat liar{"liar", "pdns-secondary-syncer", "test", {}, "nowhere", 0, NewBootId(), "", ""};
  HeartbeatSender liar_beats(liar_bus, "heartbeat", liar, milliseconds(200),
                             MakeTestLogger("liar"));
  liar_beats.Start();
  PDNSD_ASSERT_OK((*bus)->Flush(seconds(5)));
  EXPECT_TRUE(WaitFor([&] {
    return Sample(*cluster_.checker_registry, "healthchecker_invalid_messages_total") >= 5;
  }));
  ASSERT_TRUE(WaitFor([&] { return cluster_.checker->liveness().StateOf("ghost").has_value(); }));
  ASSERT_EQ(cluster_.CreateZone("ghostly.example.", 1).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("ghostly.example.", cluster_.PrimarySerial("ghostly.example.")));
  ASSERT_EQ(cluster_.secondaries[0]->Api("DELETE", Cluster::ZonesPath("ghostly.example.")).status,
            204);
  cluster_.checker->RunPeriodicCheck();  // must not hang on the ghost
  auto status = nlohmann::json::parse(cluster_.checker->StatusJson());
  bool ghost_marked = false, liar_marked = false;
  for (const auto& entry : status["secondaries"]) {
    if (entry["id"] == "ghost") ghost_marked = entry.contains("error");
    if (entry["id"] == "liar") liar_marked = entry.contains("error");
  }
  EXPECT_TRUE(ghost_marked) << status.dump();
  EXPECT_TRUE(liar_marked) << status.dump();
  EXPECT_GE(Sample(*cluster_.checker_registry, "healthchecker_invalid_messages_total"), 6);
  EXPECT_TRUE(SecondaryMatchesPrimary(cluster_, 0, seconds(20)));
  liar_beats.Stop();
  ghost_beats.Stop();
  liar_state->reset();
}

}  // namespace
}  // namespace pdnsd::testing

namespace pdnsd::testing {
namespace {

TEST_F(HealingTest, ZonesWhoseSignaturesExpireSoonAreSentAgain) {
  ASSERT_EQ(cluster_.CreateZone("expiring.example.", 1, "[]", /*dnssec=*/true).status, 201);
  PDNSD_ASSERT_OK(
      cluster_.WaitAllServe("expiring.example.", cluster_.PrimarySerial("expiring.example.")));
  // PowerDNS signs for about three weeks ahead: nothing expires within the default 7 days.
  cluster_.checker->RunPeriodicCheck();
  EXPECT_EQ(Sample(*cluster_.checker_registry, "healthchecker_expiring_signature_zones_total"), 0);

  // A checker that calls anything within 60 days "expiring" re-sends the zone to each secondary.
  HealthCheckerConfig config = HealingOptions().checker;
  config.signature_expiry = std::chrono::hours(24 * 60);
  config.status_listen = {"127.0.0.1", 0};
  config.primary = cluster_.primary.dns_address();
  auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "checker2"), MakeTestLogger("checker2"));
  PDNSD_ASSERT_OK(bus.status());
  ServiceEnvironment environment = TestServiceEnvironment("checker2", bus->get(), cluster_.primary);
  environment.common.ping_interval = milliseconds(500);
  auto registry = environment.registry;
  HealthChecker checker(config, environment);
  PDNSD_ASSERT_OK(checker.Start());
  ASSERT_TRUE(CheckerSettled(checker, 2));
  const double before = Sample(*registry, "healthchecker_expiring_signature_zones_total");
  checker.RunPeriodicCheck();
  EXPECT_EQ(Sample(*registry, "healthchecker_expiring_signature_zones_total") - before, 2);
  checker.Stop();
}

}  // namespace
}  // namespace pdnsd::testing
