// Bad input never crashes a service or loses data: a clear error, a log line, a counter, and
// the next good message is still processed.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/metrics.h"
#include "model/messages.h"
#include "support/cluster.h"
#include "support/hostile_report.h"
#include "support/raw_client.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

// The value of the first sample line starting with `series` in exposition text; -1 if absent.
double Sample(prometheus::Registry& registry, const std::string& series) {
  const std::string text = RenderMetrics(registry);
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

const bool kHostileReport = RegisterHostileReport("bad_input_test");

// "Anything lost" where a zone is served: whether every secondary serves `zone` at the
// primary's serial.
std::string ZoneKept(Cluster& cluster, const std::string& zone) {
  const uint32_t primary = cluster.PrimarySerial(zone);
  std::string serials;
  bool kept = primary != 0;
  for (size_t i = 0; i < cluster.secondaries.size(); ++i) {
    const uint32_t served = cluster.ServedSerial(static_cast<int>(i), zone);
    kept = kept && served == primary;
    serials += (i == 0 ? "" : ", ") + std::to_string(served);
  }
  return std::string(kept ? "none" : "LOST") + ": " + zone + " on the secondaries at serial " +
         serials + " (primary " + std::to_string(primary) + ")";
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(cluster_.Start());
    auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "test-client"), MakeTestLogger("client"));
    PDNSD_ASSERT_OK(bus.status());
    client_ = std::move(*bus);
  }
  void TearDown() override { client_.reset(); }

  Cluster cluster_;
  std::unique_ptr<Bus> client_;
};

TEST_F(BadInputTest, MalformedEventsAreCountedAndTheNextGoodOneIsProcessed) {
  const std::vector<std::string> bad = {"{not json",
                                        "[]",
                                        "{}",
                                        R"({"zone":42})",
                                        R"({"zone":"a..b."})",
                                        R"({"zone":""})",
                                        std::string("{\"zone\":\"a\x01.org\"}")};
  const std::vector<std::string> subjects = {"zone.add", "zone.modified", "zone.delete",
                                             "zone.add.secondary-0", "zone.delete.secondary-1"};
  // A zone every secondary serves before the garbage: a malformed delete must not take it.
  ASSERT_EQ(cluster_.CreateZone("before-garbage.example.", 2).status, 201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe("before-garbage.example.",
                                        cluster_.PrimarySerial("before-garbage.example.")));
  for (const auto& subject : subjects) {
    for (const auto& body : bad) PDNSD_ASSERT_OK(client_->Publish(subject, body));
  }
  PDNSD_ASSERT_OK(client_->Flush(std::chrono::seconds(5)));
  // Each syncer hears the broadcast subjects plus its own targeted one.
  const double expected = static_cast<double>(bad.size() * 4);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(WaitFor([&] {
      return Sample(*cluster_.syncer_registries[i], "secondarysyncer_invalid_messages_total") ==
             expected;
    })) << Sample(*cluster_.syncer_registries[i], "secondarysyncer_invalid_messages_total");
  }
  ASSERT_EQ(cluster_.CreateZone("after-garbage.example.", 3).status, 201);
  const Status served = cluster_.WaitAllServe("after-garbage.example.",
                                              cluster_.PrimarySerial("after-garbage.example."));
  PDNSD_EXPECT_OK(served);
  ReportHostileCase(
      {.input = std::to_string(bad.size()) +
                " malformed zone events (not JSON, [], {}, zone 42, "
                "a..b., empty, control byte) on " +
                std::to_string(subjects.size()) + " subjects",
       .outcome = "invalid_messages_total " +
                  std::to_string(static_cast<int>(Sample(
                      *cluster_.syncer_registries[0], "secondarysyncer_invalid_messages_total"))) +
                  " / " +
                  std::to_string(static_cast<int>(Sample(
                      *cluster_.syncer_registries[1], "secondarysyncer_invalid_messages_total"))) +
                  " on the two syncers (expected " + std::to_string(static_cast<int>(expected)) +
                  ")",
       .alive = served.ok(),
       .alive_check = "a zone created afterwards is served by every secondary",
       .lost = ZoneKept(cluster_, "before-garbage.example.")});
}

TEST_F(BadInputTest, ZoneProviderAnswersBadRequestsAndUnknownZonesWithErrorReplies) {
  auto reply = client_->Request("zonedata.secondary-0",
                                R"({"zone":"a..b","only_soa":false,"accept_error_reply":true})",
                                std::chrono::seconds(5));
  PDNSD_ASSERT_OK(reply.status());
  auto decoded = DecodeZoneDataReply(*reply);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << *reply;
  EXPECT_NE(reply->find("\"error_code\":\"bad_request\""), std::string::npos) << *reply;
  // The error codes each bad request got, for the table.
  std::vector<std::string> codes = {
      nlohmann::json::parse(*reply, nullptr, false).value("error_code", "?")};

  for (bool only_soa : {true, false}) {
    reply = client_->Request("zonedata.secondary-0",
                             EncodeZoneDataRequest({"unknown.example.", only_soa, "", true}),
                             std::chrono::seconds(10));
    PDNSD_ASSERT_OK(reply.status());
    EXPECT_EQ(DecodeZoneDataReply(*reply).status().code(), StatusCode::kNotFound) << *reply;
    EXPECT_NE(reply->find("\"error_code\":\"not_found\""), std::string::npos) << *reply;
    codes.push_back(nlohmann::json::parse(*reply, nullptr, false).value("error_code", "?"));
  }
  EXPECT_GE(Sample(*cluster_.provider_registry, "zoneprovider_invalid_requests_total"), 1);

  // The primary's PowerDNS down: an error reply the syncer understands, not silence.
  ASSERT_EQ(cluster_.CreateZone("known.example.", 1).status, 201);
  cluster_.primary.Stop();
  for (bool only_soa : {true, false}) {
    reply = client_->Request("zonedata.secondary-0",
                             EncodeZoneDataRequest({"known.example.", only_soa, "", true}),
                             std::chrono::seconds(20));
    PDNSD_ASSERT_OK(reply.status());
    EXPECT_EQ(DecodeZoneDataReply(*reply).status().code(), StatusCode::kUnavailable) << *reply;
    EXPECT_NE(reply->find("\"error_code\":\"unavailable\""), std::string::npos) << *reply;
    codes.push_back(nlohmann::json::parse(*reply, nullptr, false).value("error_code", "?"));
  }
  // Alive: the provider still replies (an unknown zone: not_found) after all of them.
  reply = client_->Request("zonedata.secondary-0",
                           EncodeZoneDataRequest({"unknown.example.", true, "", true}),
                           std::chrono::seconds(10));
  const bool alive = reply.ok();
  EXPECT_TRUE(alive);
  const char* inputs[] = {"zone-data request for a..b", "zone-data SOA request, unknown zone",
                          "zone-data AXFR request, unknown zone",
                          "zone-data SOA request, the primary's PowerDNS down",
                          "zone-data AXFR request, the primary's PowerDNS down"};
  for (size_t i = 0; i < codes.size() && i < std::size(inputs); ++i) {
    ReportHostileCase({.input = inputs[i],
                       .outcome = "error reply, error_code " + codes[i],
                       .alive = alive,
                       .alive_check = "the provider replies to the next request",
                       .lost = std::to_string(5 - codes.size()) + " of 5 requests unanswered"});
  }
}

// PowerDNS quotes a zone's stored master back, byte for byte, when it cannot parse it (GET
// /zones/<id> answers 500 "Could not retrieve Domain Info: Unable to convert presentation address
// '...'"). Here the master is UTF-8 text followed by a byte that is no UTF-8 (a row written with
// SQL, as an import might): nlohmann cannot parse that answer, so PdnsApiClient keeps its first
// 200 bytes (pdns/api_client.cc), and byte 200 falls inside a 4-byte character. The row has no
// records, so the primary refuses its SOA and the zone provider asks the API whether the zone is
// gone; the cut text goes into its error reply, encoded on a worker thread.
TEST_F(BadInputTest, ZoneProviderRepliesValidJsonWhenPowerDnsQuotesTextItCannotParse) {
  auto hex = [](const std::string& bytes) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : bytes) out += {kDigits[c >> 4], kDigits[c & 0xf]};
    return out;
  };
  int exit_code = -1;
  cluster_.primary.Sql(
      "INSERT INTO domains (name, type, master) VALUES "
      "('probe.example', 'NATIVE', 'PROBE');",
      &exit_code);
  ASSERT_EQ(exit_code, 0);
  const HttpResponse probe =
      cluster_.primary.Api("GET", "/api/v1/servers/localhost/zones/probe.example.?rrsets=false");
  ASSERT_EQ(probe.status, 500) << probe.body;
  const size_t quoted_at = probe.body.find("'PROBE'");
  ASSERT_NE(quoted_at, std::string::npos) << probe.body;
  // Where the master starts in PowerDNS's answer; pad it so that a "𝄞" (4 bytes) covers byte 200
  // with two bytes on each side.
  const size_t master_at = quoted_at + 1;
  ASSERT_LT(master_at, 190u) << probe.body;
  const size_t pad = (200 - master_at + 2) % 4;
  const std::string clef = "\xF0\x9D\x84\x9E";
  std::string master(pad, 'x');
  for (int i = 0; i < 40; ++i) master += clef;
  master += "\xFF";
  cluster_.primary.Sql(
      "INSERT INTO domains (name, type, master) VALUES "
      "('broken.example', 'NATIVE', CAST(X'" +
          hex(master) + "' AS TEXT));",
      &exit_code);
  ASSERT_EQ(exit_code, 0);
  const HttpResponse answer =
      cluster_.primary.Api("GET", "/api/v1/servers/localhost/zones/broken.example.?rrsets=false");
  ASSERT_EQ(answer.status, 500) << answer.body;
  ASSERT_NE(answer.body.find(master), std::string::npos) << "PowerDNS quotes it as stored";
  ASSERT_TRUE(nlohmann::json::parse(answer.body, nullptr, false).is_discarded())
      << "not JSON nlohmann can parse, so our client cuts it";
  ASSERT_EQ((static_cast<unsigned char>(answer.body[200]) & 0xC0), 0x80)
      << "byte 200 continues a character";

  for (bool only_soa : {true, false}) {
    auto reply = client_->Request("zonedata.secondary-0",
                                  EncodeZoneDataRequest({"broken.example.", only_soa, "", true}),
                                  std::chrono::seconds(20));
    ASSERT_TRUE(reply.ok()) << "only_soa " << only_soa << ": " << reply.status().ToString();
    // nlohmann's parser takes only valid UTF-8.
    auto doc = nlohmann::json::parse(*reply, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << *reply;
    EXPECT_EQ(doc.value("error_code", ""), "unavailable") << *reply;
    const std::string error = doc.value("error", "");
    EXPECT_NE(error.find("Unable to convert presentation address"), std::string::npos) << error;
    EXPECT_NE(error.find(clef + clef), std::string::npos) << error;
    // Cut before the character, not inside it: nothing was replaced by U+FFFD.
    EXPECT_EQ(error.find("\xEF\xBF\xBD"), std::string::npos) << error;
    EXPECT_EQ(error.substr(error.size() - clef.size()), clef) << error;
  }

  // And the provider keeps serving.
  ASSERT_EQ(cluster_.CreateZone("after-broken.example.", 1).status, 201);
  auto reply = client_->Request("zonedata.secondary-0",
                                EncodeZoneDataRequest({"after-broken.example.", false, "", true}),
                                std::chrono::seconds(10));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_TRUE(DecodeZoneDataReply(*reply).ok()) << *reply;
  auto zone_data = DecodeZoneDataReply(*reply);
  ReportHostileCase({.input = "PowerDNS quotes a stored master that is no UTF-8, cut at byte 200",
                     .outcome = "valid JSON error replies (unavailable), cut before the character",
                     .alive = zone_data.ok(),
                     .alive_check = "zone data of a zone created afterwards",
                     .lost = zone_data.ok() && !zone_data->zone_data.empty()
                                 ? "none: after-broken.example. data complete (" +
                                       std::to_string(zone_data->zone_data.size()) + " bytes)"
                                 : "LOST: no zone data"});
}

TEST_F(BadInputTest, ZoneProviderSendsNoErrorReplyToARequesterThatDoesNotReadThem) {
  // As an original Go syncer asks (no accept_error_reply): an error reply would be taken as
  // zone data (and crash it for only_soa), so errors get no reply, as from the original
  // provider, while data is answered as usual.
  for (const std::string& request :
       {std::string("{garbage"), std::string(R"({"zone":"a..b","only_soa":true})"),
        EncodeZoneDataRequest({"unknown.example.", true, ""}),
        EncodeZoneDataRequest({"unknown.example.", false, ""})}) {
    auto reply = client_->Request("zonedata.secondary-0", request, std::chrono::seconds(3));
    EXPECT_EQ(reply.status().code(), StatusCode::kTimeout)
        << request << " -> " << (reply.ok() ? *reply : "");
  }
  EXPECT_EQ(Sample(*cluster_.provider_registry, "zoneprovider_unanswered_requests_total"), 4);
  ASSERT_EQ(cluster_.CreateZone("asked.example.", 4).status, 201);
  auto reply =
      client_->Request("zonedata.secondary-0", EncodeZoneDataRequest({"asked.example.", false, ""}),
                       std::chrono::seconds(10));
  PDNSD_ASSERT_OK(reply.status());
  auto decoded = DecodeZoneDataReply(*reply);
  PDNSD_ASSERT_OK(decoded.status());
  // Every record of the AXFR, the closing SOA included (an original syncer serves it verbatim).
  std::vector<std::string> lines;
  std::istringstream in(decoded->zone_data);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 3u) << decoded->zone_data;
  EXPECT_NE(lines.front().find("\tSOA\t"), std::string::npos) << decoded->zone_data;
  EXPECT_EQ(lines.back(), lines.front()) << decoded->zone_data;
  EXPECT_EQ(
      std::count_if(lines.begin(), lines.end(),
                    [](const std::string& l) { return l.find("\tSOA\t") != std::string::npos; }),
      2)
      << decoded->zone_data;
  ReportHostileCase(
      {.input = "4 bad zone-data requests as an original syncer asks (no accept_error_reply)",
       .outcome = "no reply (unanswered_requests_total " +
                  std::to_string(static_cast<int>(Sample(
                      *cluster_.provider_registry, "zoneprovider_unanswered_requests_total"))) +
                  ")",
       .alive = decoded.ok(),
       .alive_check = "zone data for a zone created afterwards",
       .lost = std::string(lines.back() == lines.front() ? "none" : "LOST") + ": " +
               std::to_string(lines.size()) + " lines of AXFR, closing SOA kept"});
}

TEST_F(BadInputTest, ZoneStateRequestsAnswerWithStateMapOrError) {
  ASSERT_EQ(cluster_.CreateZone("state.example.", 42).status, 201);
  const uint32_t serial = cluster_.PrimarySerial("state.example.");
  PDNSD_ASSERT_OK(cluster_.WaitAllServe("state.example.", serial));
  auto reply = client_->Request("zonestate.secondary-1", EncodeZoneStateRequest({}),
                                std::chrono::seconds(5));
  PDNSD_ASSERT_OK(reply.status());
  auto state = DecodeZoneStateReply(*reply);
  PDNSD_ASSERT_OK(state.status());
  EXPECT_EQ(state->statemap.at("state.example."), serial);

  reply = client_->Request("zonestate.secondary-1",
                           EncodeZoneStateRequest({std::string("State.Example"), "", true}),
                           std::chrono::seconds(5));
  state = DecodeZoneStateReply(*reply);
  PDNSD_ASSERT_OK(state.status());
  EXPECT_EQ(state->statemap.size(), 1u);

  reply = client_->Request("zonestate.secondary-1", "[1,2", std::chrono::seconds(5));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_NE(reply->find("bad_request"), std::string::npos) << *reply;
  const bool bad_request = reply->find("bad_request") != std::string::npos;
  EXPECT_EQ(Sample(*cluster_.syncer_registries[1], "secondarysyncer_zone_state_request_total"), 3);
  // Alive and nothing lost: the state map still has the zone at its serial.
  auto after = client_->Request("zonestate.secondary-1", EncodeZoneStateRequest({}),
                                std::chrono::seconds(5));
  auto after_state =
      after.ok() ? DecodeZoneStateReply(*after) : StatusOr<ZoneStateReply>(after.status());
  const bool alive = after_state.ok();
  EXPECT_TRUE(alive);
  const uint32_t kept = alive && after_state->statemap.count("state.example.") != 0
                            ? after_state->statemap.at("state.example.")
                            : 0;
  EXPECT_EQ(kept, serial);
  ReportHostileCase({.input = "zone-state request \"[1,2\"",
                     .outcome = bad_request ? "error reply bad_request" : "no bad_request",
                     .alive = alive,
                     .alive_check = "the syncer answers the next state request",
                     .lost = std::string(kept == serial ? "none" : "LOST") +
                             ": state.example. in the state map at serial " + std::to_string(kept) +
                             " (primary " + std::to_string(serial) + ")"});

  // The local PowerDNS down: an error reply for ours; silence for a request as the original
  // health-checker sends it (no "accept_error_reply"; it would read an error reply as an empty
  // state map).
  cluster_.secondaries[1]->Stop();
  reply =
      client_->Request("zonestate.secondary-1", EncodeZoneStateRequest({std::nullopt, "", true}),
                       std::chrono::seconds(20));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_NE(reply->find("\"error_code\":\"unavailable\""), std::string::npos) << *reply;
  const bool unavailable = reply->find("\"error_code\":\"unavailable\"") != std::string::npos;
  reply = client_->Request("zonestate.secondary-1", R"({"requested_at":"2026-12-01T20:00:00Z"})",
                           std::chrono::seconds(8));
  EXPECT_EQ(reply.status().code(), StatusCode::kTimeout) << (reply.ok() ? *reply : "");
  // Alive: the other syncer still answers.
  auto other = client_->Request("zonestate.secondary-0", EncodeZoneStateRequest({}),
                                std::chrono::seconds(5));
  auto other_state =
      other.ok() ? DecodeZoneStateReply(*other) : StatusOr<ZoneStateReply>(other.status());
  EXPECT_TRUE(other_state.ok());
  const uint32_t other_kept = other_state.ok() && other_state->statemap.count("state.example.") != 0
                                  ? other_state->statemap.at("state.example.")
                                  : 0;
  ReportHostileCase(
      {.input = "zone-state requests with the syncer's PowerDNS down (ours / original checker's)",
       .outcome = std::string(unavailable ? "error reply unavailable" : "no unavailable") + " / " +
                  (reply.status().code() == StatusCode::kTimeout ? "no reply" : "a reply"),
       .alive = other_state.ok(),
       .alive_check = "the other syncer answers its state request",
       .lost = std::string(other_kept == serial ? "none" : "LOST") +
               ": the other secondary's state map has state.example. at " +
               std::to_string(other_kept) + " (primary " + std::to_string(serial) + ")"});
}

TEST_F(BadInputTest, ProxyRejectsInvalidZoneNamesBeforeCallingPowerDns) {
  const double before = Sample(*cluster_.proxy_registry, "apiproxy_powerdns_api_requests_total");
  const std::string base = "/api/v1/servers/localhost/zones";
  const std::string long_label = std::string(64, 'a') + ".org.";
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
  int patch_400 = 0;
  for (const std::string& path : {base + "/a..b.", base + "/" + long_label, base + "/" + long_name,
                                  base + "/a%01b.org.", base + "/bad=ZZ.org."}) {
    HttpResponse response = cluster_.Proxy("PATCH", path, R"({"rrsets":[]})");
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_NE(response.body.find("\"error\""), std::string::npos) << response.body;
    if (response.status == 400) ++patch_400;
  }
  int post_400 = 0;
  for (const char* body : {R"({"name":"","kind":"Native"})", R"({"name":"x..y.","kind":"Native"})",
                           R"({"kind":"Native"})", "not json"}) {
    HttpResponse response = cluster_.Proxy("POST", base, body);
    EXPECT_EQ(response.status, 400) << body;
    if (response.status == 400) ++post_400;
  }
  const double reached = Sample(*cluster_.proxy_registry, "apiproxy_powerdns_api_requests_total");
  EXPECT_EQ(reached, before);
  const int listed = cluster_.Proxy("GET", base).status;
  EXPECT_EQ(listed, 200);
  const std::string lost =
      std::to_string(static_cast<int>(reached - before)) +
      " of the bad requests reached PowerDNS (apiproxy_powerdns_api_requests_total)";
  ReportHostileCase({.input = "PATCH of 5 invalid zone names (a..b., 64-octet label, 305 octets, "
                              "%01, =ZZ)",
                     .outcome = std::to_string(patch_400) + " of 5 HTTP 400 with a JSON error",
                     .alive = listed == 200,
                     .alive_check = "GET zones via the proxy: HTTP " + std::to_string(listed),
                     .lost = lost});
  ReportHostileCase(
      {.input = "POST of 4 invalid zone bodies (empty name, x..y., no name, not JSON)",
       .outcome = std::to_string(post_400) + " of 4 HTTP 400",
       .alive = listed == 200,
       .alive_check = "GET zones via the proxy: HTTP " + std::to_string(listed),
       .lost = lost});
}

TEST_F(BadInputTest, ProxyPublishesNothingForFailuresAndAnswers502WhenPowerDnsIsDown) {
  std::atomic<int> events{0};
  std::vector<std::unique_ptr<Subscription>> subscriptions;
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete"}) {
    auto sub = client_->Subscribe(subject, "", [&](const BusMessage&) { ++events; });
    PDNSD_ASSERT_OK(sub.status());
    subscriptions.push_back(std::move(*sub));
  }
  PDNSD_ASSERT_OK(client_->Flush(std::chrono::seconds(5)));
  // Non-2xx answers from PowerDNS: a PATCH of a zone that does not exist, a duplicate create.
  ASSERT_EQ(cluster_.CreateZone("dup.example.", 1).status, 201);
  EXPECT_TRUE(WaitFor([&] { return events == 1; }));
  const int duplicate = cluster_.CreateZone("dup.example.", 1).status;
  EXPECT_EQ(duplicate, 409);
  const int missing =
      cluster_.SetARecord("missing.example.", "a.missing.example.", "192.0.2.1").status;
  EXPECT_GE(missing, 400);

  cluster_.primary.Stop();
  HttpResponse response = cluster_.Proxy("GET", "/api/v1/servers/localhost/zones");
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("\"error\""), std::string::npos) << response.body;
  const bool json_error = response.body.find("\"error\"") != std::string::npos;
  const int listed = response.status;
  response = cluster_.Proxy("DELETE", Cluster::ZonesPath("dup.example."));
  EXPECT_EQ(response.status, 502);
  PDNSD_ASSERT_OK(client_->Flush(std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(events, 1) << "an event was published for a failed request";
  subscriptions.clear();
  ReportHostileCase(
      {.input = "duplicate create, PATCH of a missing zone, GET and DELETE with PowerDNS down",
       .outcome = "HTTP " + std::to_string(duplicate) + ", " + std::to_string(missing) + ", " +
                  std::to_string(listed) + ", " + std::to_string(response.status),
       .alive = json_error,
       .alive_check = "the proxy answers with PowerDNS down: 502 with a JSON error",
       .lost = std::to_string(events - 1) + " events published for the failed requests (1 for "
                                            "the one create that succeeded)"});
}

TEST_F(BadInputTest, AxfrEndpointRefusesOtherQueriesAndSurvivesGarbage) {
  const HostPort endpoint = cluster_.syncers[0]->axfr_address();
  const std::string dig =
      "dig +time=2 +tries=1 -p " + std::to_string(endpoint.port) + " @" + endpoint.host + " ";
  // The "status: X" of dig's answer, for the table.
  auto dig_status = [](const std::string& out) {
    const size_t at = out.find("status: ");
    return at == std::string::npos ? std::string("no answer")
                                   : out.substr(at + 8, out.find(',', at) - at - 8);
  };
  const std::string a_query = RunCommand(dig + "example.org. A");
  const std::string txt_query = RunCommand(dig + "example.org. TXT +tcp");
  EXPECT_NE(a_query.find("status: REFUSED"), std::string::npos);
  EXPECT_NE(txt_query.find("status: REFUSED"), std::string::npos);
  // A zone the primary does not have: an error at once, not a hang.
  const std::string unknown = RunCommand(dig + "nowhere.example. SOA");
  EXPECT_NE(unknown.find("status: NOTAUTH"), std::string::npos) << unknown;

  // Garbage and a truncated message over TCP close that connection only.
  std::vector<bool> closed;
  for (const std::string& junk :
       {std::string("\x00\x05hello", 7), std::string("\x00\x40\x12", 3)}) {
    const int fd = ConnectRaw(endpoint);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendBytes(fd, junk));
    shutdown(fd, SHUT_WR);
    closed.push_back(PeerClosed(fd));
    EXPECT_TRUE(closed.back());
    close(fd);
  }
  ASSERT_EQ(cluster_.CreateZone("still.example.", 9).status, 201);
  const uint32_t serial = cluster_.PrimarySerial("still.example.");
  PDNSD_EXPECT_OK(cluster_.WaitAllServe("still.example.", serial));
  const std::string soa = RunCommand(dig + "still.example. SOA +short");
  EXPECT_NE(soa.find(" " + std::to_string(serial) + " "), std::string::npos) << soa;
  const bool alive = soa.find(" " + std::to_string(serial) + " ") != std::string::npos;
  const std::string alive_check = "SOA of a zone created afterwards from the endpoint";
  const std::string lost = ZoneKept(cluster_, "still.example.");
  const std::pair<std::string, std::string> rows[] = {
      {"A query to the SOA/AXFR endpoint (UDP)", dig_status(a_query)},
      {"TXT query to the SOA/AXFR endpoint (TCP)", dig_status(txt_query)},
      {"SOA query for a zone the primary lacks", dig_status(unknown)},
      {"TCP: a 5-octet message that is no DNS", closed[0] ? "connection closed" : "left open"},
      {"TCP: a length prefix of 64 octets and 1 octet",
       closed[1] ? "connection closed" : "left open"}};
  for (const auto& [input, outcome] : rows) {
    ReportHostileCase({.input = input,
                       .outcome = outcome,
                       .alive = alive,
                       .alive_check = alive_check,
                       .lost = lost});
  }
  EXPECT_GE(
      Sample(*cluster_.syncer_registries[0],
             "secondarysyncer_local_dns_proxy_queries_total{qtype=\"*\",state=\"prohibited\"}"),
      2);
}

}  // namespace
}  // namespace pdnsd::testing
