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
  PDNSD_EXPECT_OK(cluster_.WaitAllServe("after-garbage.example.",
                                        cluster_.PrimarySerial("after-garbage.example.")));
}

TEST_F(BadInputTest, ZoneProviderAnswersBadRequestsAndUnknownZonesWithErrorReplies) {
  auto reply = client_->Request("zonedata.secondary-0",
                                R"({"zone":"a..b","only_soa":false,"accept_error_reply":true})",
                                std::chrono::seconds(5));
  PDNSD_ASSERT_OK(reply.status());
  auto decoded = DecodeZoneDataReply(*reply);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << *reply;
  EXPECT_NE(reply->find("\"error_code\":\"bad_request\""), std::string::npos) << *reply;

  for (bool only_soa : {true, false}) {
    reply = client_->Request("zonedata.secondary-0",
                             EncodeZoneDataRequest({"unknown.example.", only_soa, "", true}),
                             std::chrono::seconds(10));
    PDNSD_ASSERT_OK(reply.status());
    EXPECT_EQ(DecodeZoneDataReply(*reply).status().code(), StatusCode::kNotFound) << *reply;
    EXPECT_NE(reply->find("\"error_code\":\"not_found\""), std::string::npos) << *reply;
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
  EXPECT_EQ(Sample(*cluster_.syncer_registries[1], "secondarysyncer_zone_state_request_total"), 3);

  // The local PowerDNS down: an error reply for ours; silence for a request as the original
  // health-checker sends it (no "accept_error_reply"; it would read an error reply as an empty
  // state map).
  cluster_.secondaries[1]->Stop();
  reply =
      client_->Request("zonestate.secondary-1", EncodeZoneStateRequest({std::nullopt, "", true}),
                       std::chrono::seconds(20));
  PDNSD_ASSERT_OK(reply.status());
  EXPECT_NE(reply->find("\"error_code\":\"unavailable\""), std::string::npos) << *reply;
  reply = client_->Request("zonestate.secondary-1", R"({"requested_at":"2026-12-01T20:00:00Z"})",
                           std::chrono::seconds(8));
  EXPECT_EQ(reply.status().code(), StatusCode::kTimeout) << (reply.ok() ? *reply : "");
}

TEST_F(BadInputTest, ProxyRejectsInvalidZoneNamesBeforeCallingPowerDns) {
  const double before = Sample(*cluster_.proxy_registry, "apiproxy_powerdns_api_requests_total");
  const std::string base = "/api/v1/servers/localhost/zones";
  const std::string long_label = std::string(64, 'a') + ".org.";
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
  for (const std::string& path : {base + "/a..b.", base + "/" + long_label, base + "/" + long_name,
                                  base + "/a%01b.org.", base + "/bad=ZZ.org."}) {
    HttpResponse response = cluster_.Proxy("PATCH", path, R"({"rrsets":[]})");
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_NE(response.body.find("\"error\""), std::string::npos) << response.body;
  }
  for (const char* body : {R"({"name":"","kind":"Native"})", R"({"name":"x..y.","kind":"Native"})",
                           R"({"kind":"Native"})", "not json"}) {
    HttpResponse response = cluster_.Proxy("POST", base, body);
    EXPECT_EQ(response.status, 400) << body;
  }
  EXPECT_EQ(Sample(*cluster_.proxy_registry, "apiproxy_powerdns_api_requests_total"), before);
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
  EXPECT_EQ(cluster_.CreateZone("dup.example.", 1).status, 409);
  EXPECT_GE(cluster_.SetARecord("missing.example.", "a.missing.example.", "192.0.2.1").status, 400);

  cluster_.primary.Stop();
  HttpResponse response = cluster_.Proxy("GET", "/api/v1/servers/localhost/zones");
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("\"error\""), std::string::npos) << response.body;
  response = cluster_.Proxy("DELETE", Cluster::ZonesPath("dup.example."));
  EXPECT_EQ(response.status, 502);
  PDNSD_ASSERT_OK(client_->Flush(std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(events, 1) << "an event was published for a failed request";
  subscriptions.clear();
}

TEST_F(BadInputTest, AxfrEndpointRefusesOtherQueriesAndSurvivesGarbage) {
  const HostPort endpoint = cluster_.syncers[0]->axfr_address();
  const std::string dig =
      "dig +time=2 +tries=1 -p " + std::to_string(endpoint.port) + " @" + endpoint.host + " ";
  EXPECT_NE(RunCommand(dig + "example.org. A").find("status: REFUSED"), std::string::npos);
  EXPECT_NE(RunCommand(dig + "example.org. TXT +tcp").find("status: REFUSED"), std::string::npos);
  // A zone the primary does not have: an error at once, not a hang.
  const std::string unknown = RunCommand(dig + "nowhere.example. SOA");
  EXPECT_NE(unknown.find("status: NOTAUTH"), std::string::npos) << unknown;

  // Garbage and a truncated message over TCP close that connection only.
  for (const std::string& junk :
       {std::string("\x00\x05hello", 7), std::string("\x00\x40\x12", 3)}) {
    const int fd = ConnectRaw(endpoint);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendBytes(fd, junk));
    shutdown(fd, SHUT_WR);
    EXPECT_TRUE(PeerClosed(fd));
    close(fd);
  }
  ASSERT_EQ(cluster_.CreateZone("still.example.", 9).status, 201);
  const uint32_t serial = cluster_.PrimarySerial("still.example.");
  PDNSD_EXPECT_OK(cluster_.WaitAllServe("still.example.", serial));
  const std::string soa = RunCommand(dig + "still.example. SOA +short");
  EXPECT_NE(soa.find(" " + std::to_string(serial) + " "), std::string::npos) << soa;
  EXPECT_GE(
      Sample(*cluster_.syncer_registries[0],
             "secondarysyncer_local_dns_proxy_queries_total{qtype=\"*\",state=\"prohibited\"}"),
      2);
}

}  // namespace
}  // namespace pdnsd::testing
