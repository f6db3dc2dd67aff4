// Change status (docs/architecture.md, "Change status"): every zone-changing answer of the
// api-proxy carries X-Change-Id, and GET /changes/<id>[?wait=] says which secondaries serve the
// change. Real nats-server (with and without JetStream), PowerDNS primary and two secondaries,
// the services in-process with their default intervals.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/metrics.h"
#include "support/cluster.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double Sample(prometheus::Registry& registry, const std::string& series) {
  const std::string text = RenderMetrics(registry);
  const size_t at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// The status of each secondary in a GET /changes/<id> document, by id.
std::map<std::string, std::string> SecondaryStates(const nlohmann::json& doc) {
  std::map<std::string, std::string> states;
  for (const auto& entry : doc["secondaries"]) {
    states[entry["id"].get<std::string>()] = entry["status"].get<std::string>();
  }
  return states;
}

class ChangeStatusTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.jetstream = GetParam();
    options.health_checker = true;  // its default intervals
    PDNSD_ASSERT_OK(cluster_.Start(options));
    // Both syncers heard by the checker: they count as active from the first change on.
    ASSERT_TRUE(WaitFor([&] {
      return Sample(*cluster_.checker_registry, "healthchecker_actual_active_secondary_count") >= 2;
    }));
  }

  // GET /changes/<id>?wait=30 and its JSON (fails the test on another status).
  nlohmann::json WaitInSync(const std::string& id) {
    HttpResponse answer = cluster_.Proxy("GET", "/changes/" + id + "?wait=30");
    EXPECT_EQ(answer.status, 200) << answer.body << answer.error;
    auto doc = nlohmann::json::parse(answer.body, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << answer.body;
    return doc;
  }

  Cluster cluster_;
};

TEST_P(ChangeStatusTest, AChangeIsInSyncOnEverySecondaryWhenTheWaitReturns) {
  const std::string zone = "status.example.";
  HttpResponse created = cluster_.CreateZone(zone);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string create_id = HeaderValue(created, "X-Change-Id");
  ASSERT_FALSE(create_id.empty());
  nlohmann::json doc = WaitInSync(create_id);
  EXPECT_EQ(doc["id"], create_id);
  EXPECT_EQ(doc["zone"], zone);
  EXPECT_EQ(doc["type"], "create");
  EXPECT_EQ(doc["status"], "INSYNC") << doc.dump();
  const std::map<std::string, std::string> both = {{"secondary-0", "INSYNC"},
                                                   {"secondary-1", "INSYNC"}};
  EXPECT_EQ(SecondaryStates(doc), both) << doc.dump();
  // INSYNC means served: each secondary answers the zone's SOA by DNS at the primary's serial.
  const uint32_t serial = cluster_.PrimarySerial(zone);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(cluster_.ServedSerial(i, zone), serial) << i;
  EXPECT_EQ(doc["serial"], serial);
  for (const auto& entry : doc["secondaries"]) {
    EXPECT_GE(entry["lag_seconds"].get<double>(), 0.0);
    EXPECT_LT(entry["lag_seconds"].get<double>(), 30.0);
  }

  HttpResponse patched = cluster_.SetARecord(zone, "www." + zone, "192.0.2.7");
  ASSERT_EQ(patched.status, 204) << patched.body;
  const std::string patch_id = HeaderValue(patched, "X-Change-Id");
  ASSERT_FALSE(patch_id.empty());
  EXPECT_NE(patch_id, create_id);
  doc = WaitInSync(patch_id);
  EXPECT_EQ(doc["status"], "INSYNC") << doc.dump();
  const uint32_t patched_serial = cluster_.PrimarySerial(zone);
  ASSERT_NE(patched_serial, serial);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(cluster_.ServedSerial(i, zone), patched_serial) << i;

  HttpResponse deleted = cluster_.Proxy("DELETE", Cluster::ZonesPath(zone));
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  doc = WaitInSync(HeaderValue(deleted, "X-Change-Id"));
  EXPECT_EQ(doc["type"], "delete");
  EXPECT_EQ(doc["status"], "INSYNC") << doc.dump();
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(cluster_.SecondaryHasZone(i, zone)) << i;

  // The zone's changes, newest first.
  HttpResponse list = cluster_.Proxy("GET", "/changes?zone=" + zone);
  ASSERT_EQ(list.status, 200) << list.body;
  auto changes = nlohmann::json::parse(list.body)["changes"];
  ASSERT_EQ(changes.size(), 3u) << list.body;
  EXPECT_EQ(changes[0]["type"], "delete");
  EXPECT_EQ(changes[2]["id"], create_id);

  // The lag histogram has one observation per change and secondary.
  const double observed =
      Sample(*cluster_.checker_registry,
             "healthchecker_propagation_seconds_count{secondary=\"secondary-0\"}");
  EXPECT_GE(observed, 3) << RenderMetrics(*cluster_.checker_registry);
}

TEST_P(ChangeStatusTest, WrongKeysUnknownAndBadIdsGetClearErrors) {
  HttpResponse created = cluster_.CreateZone("errors.example.");
  const std::string id = HeaderValue(created, "X-Change-Id");
  ASSERT_FALSE(id.empty());
  const auto error_of = [](const HttpResponse& response) {
    auto doc = nlohmann::json::parse(response.body, nullptr, false);
    return doc.is_object() && doc.contains("error") ? doc["error"].get<std::string>() : "";
  };
  HttpResponse wrong_key =
      ProxyRequest(cluster_.proxy_address(), "wrong-key", "GET", "/changes/" + id);
  EXPECT_EQ(wrong_key.status, 401) << wrong_key.body;
  EXPECT_NE(error_of(wrong_key), "");
  HttpResponse unknown = cluster_.Proxy("GET", "/changes/1-00000000");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(error_of(unknown).find("no change"), std::string::npos) << unknown.body;
  for (const std::string& bad : {std::string("/changes/NOT%20AN%20ID"),
                                 "/changes/" + id + "?wait=601", "/changes/" + id + "?wait=soon",
                                 std::string("/changes"), std::string("/changes?zone=a..b")}) {
    HttpResponse answer = cluster_.Proxy("GET", bad);
    EXPECT_EQ(answer.status, 400) << bad << ": " << answer.body;
    EXPECT_NE(error_of(answer), "") << bad;
  }
  EXPECT_EQ(cluster_.Proxy("POST", "/changes/" + id).status, 405);
  // The proxy still serves: the change it was asked about is in sync.
  EXPECT_EQ(WaitInSync(id)["status"], "INSYNC");
}

// A secondary that stops does not hold changes PENDING: once its heartbeats are missed it is
// shown DOWN and the change is INSYNC on the others.
TEST_P(ChangeStatusTest, AStoppedSecondaryIsShownDownAndDoesNotHoldTheChange) {
  const std::string zone = "down.example.";
  ASSERT_EQ(cluster_.CreateZone(zone).status, 201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
  cluster_.StopSyncer(1);
  HttpResponse patched = cluster_.SetARecord(zone, "www." + zone, "192.0.2.9");
  ASSERT_EQ(patched.status, 204);
  const std::string id = HeaderValue(patched, "X-Change-Id");
  nlohmann::json doc;
  ASSERT_TRUE(WaitFor(
      [&] {
        doc = nlohmann::json::parse(cluster_.Proxy("GET", "/changes/" + id).body, nullptr, false);
        return doc.is_object() && doc["status"] == "INSYNC";
      },
      seconds(30), milliseconds(100)))
      << doc.dump();
  const std::map<std::string, std::string> expected = {{"secondary-0", "INSYNC"},
                                                       {"secondary-1", "DOWN"}};
  EXPECT_EQ(SecondaryStates(doc), expected) << doc.dump();
  EXPECT_EQ(cluster_.ServedSerial(0, zone), cluster_.PrimarySerial(zone));
}

// pdns-distribute-wait, the binary an operator runs after a change (src/tools/change_wait.h).
TEST_P(ChangeStatusTest, TheWaitToolPrintsEachSecondaryAndNamesTheLaggards) {
  const std::string zone = "wait.example.";
  HttpResponse created = cluster_.CreateZone(zone);
  ASSERT_EQ(created.status, 201);
  const std::string tool = std::string(PDNSD_BIN_DIR) + "/pdns-distribute-wait";
  const std::string common = "PDNS_API_KEY=" + ShellQuote(cluster_.primary.api_key()) + " " +
                             ShellQuote(tool) + " --proxy " + ShellQuote(cluster_.proxy_url()) +
                             " --insecure --timeout 30s ";
  int exit_code = -1;
  std::string output =
      RunCommand(common + ShellQuote(HeaderValue(created, "X-Change-Id")) + " 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_NE(output.find("create of " + zone), std::string::npos) << output;
  EXPECT_NE(output.find("  secondary-0  INSYNC  "), std::string::npos) << output;
  EXPECT_NE(output.find("  secondary-1  INSYNC  "), std::string::npos) << output;
  EXPECT_NE(output.find("INSYNC on 2 secondaries"), std::string::npos) << output;

  // Secondary 1's PowerDNS is down: its syncer keeps sending heartbeats and fails the sync, so
  // the change stays PENDING there; the tool gives up and names it.
  cluster_.secondaries[1]->Stop();
  ASSERT_EQ(cluster_.SetARecord(zone, "www." + zone, "192.0.2.10").status, 204);
  output = RunCommand("PDNS_API_KEY=" + ShellQuote(cluster_.primary.api_key()) + " " +
                          ShellQuote(tool) + " --proxy " + ShellQuote(cluster_.proxy_url()) +
                          " --insecure --timeout 3s --zone " + zone + " 2>&1",
                      &exit_code);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_NE(output.find("  secondary-0  INSYNC"), std::string::npos) << output;
  EXPECT_NE(output.find("PENDING after "), std::string::npos) << output;
  EXPECT_NE(output.find(": secondary-1"), std::string::npos) << output;
  PDNSD_ASSERT_OK(cluster_.secondaries[1]->Start());

  // A wrong key and an unknown change: one line, exit 3; no key: usage, exit 2.
  output = RunCommand("PDNS_API_KEY=wrong " + ShellQuote(tool) + " --proxy " +
                          ShellQuote(cluster_.proxy_url()) + " --insecure --zone " + zone + " 2>&1",
                      &exit_code);
  EXPECT_EQ(exit_code, 3) << output;
  EXPECT_NE(output.find("HTTP 401"), std::string::npos) << output;
  output = RunCommand(common + "1-00000000 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 3) << output;
  EXPECT_NE(output.find("HTTP 404"), std::string::npos) << output;
  output = RunCommand("env -u PDNS_API_KEY " + ShellQuote(tool) + " 1-00000000 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 2) << output;
  output = RunCommand(ShellQuote(tool) + " --help", &exit_code);
  EXPECT_EQ(exit_code, 0);
  EXPECT_NE(output.find("Example"), std::string::npos) << output;
}

// The per-secondary gauges an operator alerts on (docs/alerts/) move with the changes and the
// sync reports, not at the periodic check (5 min by default, not reached here): secondary 1's
// PowerDNS is down, two changes wait for it, and both clear once it is back.
TEST_P(ChangeStatusTest, TheBacklogGaugesOfASecondaryMoveWithItsReports) {
  const std::string zone = "backlog.example.";
  ASSERT_EQ(cluster_.CreateZone(zone).status, 201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
  prometheus::Registry& registry = *cluster_.checker_registry;
  const std::string pending0 = "healthchecker_secondary_pending_changes{secondary=\"secondary-0\"}";
  const std::string pending1 = "healthchecker_secondary_pending_changes{secondary=\"secondary-1\"}";
  const std::string zones1 = "healthchecker_secondary_pending_zones{secondary=\"secondary-1\"}";
  const std::string age1 =
      "healthchecker_secondary_oldest_pending_change_seconds{secondary=\"secondary-1\"}";
  ASSERT_TRUE(WaitFor([&] { return Sample(registry, pending1) == 0; })) << RenderMetrics(registry);

  cluster_.secondaries[1]->Stop();
  ASSERT_EQ(cluster_.SetARecord(zone, "www." + zone, "192.0.2.11").status, 204);
  ASSERT_EQ(cluster_.SetARecord(zone, "mail." + zone, "192.0.2.12").status, 204);
  EXPECT_TRUE(WaitFor([&] { return Sample(registry, pending1) == 2; }, seconds(30)))
      << RenderMetrics(registry);
  EXPECT_EQ(Sample(registry, zones1), 1);
  EXPECT_TRUE(WaitFor([&] { return Sample(registry, age1) >= 2; }, seconds(30)))
      << "the age of the oldest pending change grows while it waits";
  EXPECT_TRUE(WaitFor([&] { return Sample(registry, pending0) == 0; }, seconds(30)))
      << "secondary 0 took both changes";

  PDNSD_ASSERT_OK(cluster_.secondaries[1]->Start());
  // The syncer retries the failed sync (or the checker's event check repairs it).
  EXPECT_TRUE(WaitFor([&] { return Sample(registry, pending1) == 0; }, seconds(120)))
      << RenderMetrics(registry);
  EXPECT_EQ(Sample(registry, age1), 0);
  EXPECT_EQ(cluster_.ServedSerial(1, zone), cluster_.PrimarySerial(zone));
}

INSTANTIATE_TEST_SUITE_P(CoreNatsAndJetStream, ChangeStatusTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "JetStream" : "CoreNats";
                         });

}  // namespace
}  // namespace pdnsd::testing
