#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "model/json_fields.h"
#include "model/messages.h"
#include "model/subjects.h"
#include "model/zone_name.h"

namespace pdnsd {
namespace {

// PowerDNS's error text cut at 200 bytes (pdns/api_client.cc, api_proxy.cc), where byte 200 falls
// inside "é" (2 bytes), "€" (3 bytes) or "𝄞" (4 bytes).
TEST(Utf8Text, CutInsideAMultiByteCharacterDropsTheWholeCharacter) {
  struct Case {
    std::string character;
    size_t ascii_before;  // bytes of 'x' before the character
    size_t kept;          // bytes TruncateUtf8(text, 200) keeps
  };
  const Case cases[] = {
      {"\xC3\xA9", 199, 199},         {"\xC3\xA9", 198, 200},
      {"\xE2\x82\xAC", 198, 198},     {"\xE2\x82\xAC", 199, 199},
      {"\xE2\x82\xAC", 197, 200},     {"\xF0\x9D\x84\x9E", 197, 197},
      {"\xF0\x9D\x84\x9E", 199, 199}, {"\xF0\x9D\x84\x9E", 196, 200},
  };
  for (const Case& c : cases) {
    const std::string text = std::string(c.ascii_before, 'x') + c.character + "tail";
    const std::string cut = TruncateUtf8(text, 200);
    EXPECT_EQ(cut.size(), c.kept) << c.ascii_before << " + " << c.character.size();
    EXPECT_EQ(cut, text.substr(0, c.kept));
    EXPECT_NO_THROW(nlohmann::json(cut).dump()) << "still valid UTF-8";
  }
  EXPECT_EQ(TruncateUtf8("short", 200), "short");
  // Not UTF-8 at all (continuation bytes only): still cut within 3 bytes of the limit.
  EXPECT_EQ(TruncateUtf8(std::string(300, '\x80'), 200).size(), 197u);
}

TEST(Utf8Text, EncodersNeverThrowOnInvalidUtf8) {
  // The start of an error answer cut inside "€": what nlohmann's plain dump() throws on
  // (type_error 316) and what used to end a worker thread and the process.
  const std::string cut = std::string(198, 'x') + "\xE2\x82";
  EXPECT_THROW(nlohmann::json(cut).dump(), nlohmann::json::type_error);
  std::string encoded;
  ASSERT_NO_THROW(encoded = EncodeJson(nlohmann::json{{"error", cut}}));
  EXPECT_NE(encoded.find("\xEF\xBF\xBD"), std::string::npos) << "U+FFFD replaces the cut bytes";
  std::string reply;
  ASSERT_NO_THROW(reply = EncodeErrorReply("example.org.", Status::Unavailable(cut)));
  auto doc = nlohmann::json::parse(reply, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << reply;
}

TEST(ZoneName, NormalisesCaseAndTrailingDot) {
  EXPECT_EQ(*NormalizeZoneName("Example.ORG"), "example.org.");
  EXPECT_EQ(*NormalizeZoneName("example.org."), "example.org.");
  EXPECT_EQ(*NormalizeZoneName("0/25.2.0.192.IN-ADDR.ARPA"), "0/25.2.0.192.in-addr.arpa.");
}

TEST(ZoneName, RejectsInvalidNames) {
  EXPECT_FALSE(NormalizeZoneName("").ok());
  EXPECT_FALSE(NormalizeZoneName(".").ok());
  EXPECT_FALSE(NormalizeZoneName("a..b").ok());
  EXPECT_FALSE(NormalizeZoneName(".a").ok());
  EXPECT_FALSE(NormalizeZoneName(std::string(64, 'a') + ".org").ok());
  EXPECT_TRUE(NormalizeZoneName(std::string(63, 'a') + ".org").ok());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(50, 'a') + ".";
  EXPECT_FALSE(NormalizeZoneName(long_name).ok()) << long_name.size();
  EXPECT_FALSE(NormalizeZoneName("exa\nmple.org").ok());
  EXPECT_FALSE(NormalizeZoneName(std::string("exa\0mple.org", 12)).ok());
  EXPECT_FALSE(NormalizeZoneName("exa mple.org").ok());
  EXPECT_FALSE(NormalizeZoneName("exa\x7fmple.org").ok());
  EXPECT_EQ(NormalizeZoneName("a..b").status().code(), StatusCode::kInvalidArgument);
}

TEST(ZoneName, ApiIdEncodesUnsafeCharacters) {
  EXPECT_EQ(ZoneNameToApiId("0/25.2.0.192.in-addr.arpa."), "0=2F25.2.0.192.in-addr.arpa.");
  EXPECT_EQ(ZoneNameToApiId("_srv.example.org."), "=5Fsrv.example.org.");
  EXPECT_EQ(*ApiIdToZoneName("0=2F25.2.0.192.in-addr.arpa."), "0/25.2.0.192.in-addr.arpa.");
  EXPECT_FALSE(ApiIdToZoneName("bad=2").ok());
  EXPECT_FALSE(ApiIdToZoneName("bad=ZZ.org.").ok());
}

TEST(ZoneName, SubjectTokens) {
  EXPECT_TRUE(IsValidSubjectToken("secondary-1"));
  EXPECT_FALSE(IsValidSubjectToken(""));
  EXPECT_FALSE(IsValidSubjectToken("a.b"));
  EXPECT_FALSE(IsValidSubjectToken("a*"));
  EXPECT_FALSE(IsValidSubjectToken("a>"));
  EXPECT_FALSE(IsValidSubjectToken("a b"));
}

// The original concatenates [ZoneDataTopics]/[ZoneStateTopics] Prefix and the ID as written
// ("zonestate." in its files); our earlier spelling without the dot names the same subject.
TEST(Subjects, PrefixAndIdGiveOneSubjectWithOrWithoutTheTrailingDot) {
  const struct {
    const char* prefix;
    const char* id;
    const char* subject;
  } cases[] = {
      {"zonestate.", "ns1", "zonestate.ns1"},  // the original's example files
      {"zonestate", "ns1", "zonestate.ns1"},   // without the dot
      {"zonedata.", "ab12", "zonedata.ab12"},
      {"zonedata", "ab12", "zonedata.ab12"},
      {"site.zonedata.", "x", "site.zonedata.x"},
      {"site.zonedata", "x", "site.zonedata.x"},
      {"", "ns1", "ns1"},  // the original's concatenation of an empty prefix
  };
  for (const auto& c : cases) {
    EXPECT_EQ(PeerSubject(c.prefix, c.id), c.subject) << c.prefix << " + " << c.id;
    EXPECT_TRUE(IsValidSubject(PeerSubject(c.prefix, c.id))) << c.subject;
  }
}

TEST(Subjects, ValidSubjectsHaveNoEmptyTokensAndNoWildcards) {
  for (const char* good : {"zonestate.ns1", "a", "a.b.c", "zone-data_1.x"}) {
    EXPECT_TRUE(IsValidSubject(good)) << good;
  }
  for (const char* bad : {"", ".", "zonestate..ns1", ".a", "a.", "a.*", "a.>", "a b.c", "a.b\t"}) {
    EXPECT_FALSE(IsValidSubject(bad)) << bad;
  }
}

TEST(Messages, ZoneEventRoundTripKeepsOriginalFieldNames) {
  const std::string add = EncodeZoneEvent({ZoneEventType::kAdd, "example.org.", "", ""});
  EXPECT_NE(add.find("\"created_at\""), std::string::npos);
  EXPECT_NE(
      EncodeZoneEvent({ZoneEventType::kChange, "example.org.", "", ""}).find("\"changed_at\""),
      std::string::npos);
  EXPECT_NE(
      EncodeZoneEvent({ZoneEventType::kDelete, "example.org.", "", ""}).find("\"deleted_at\""),
      std::string::npos);
  auto decoded = DecodeZoneEvent(ZoneEventType::kAdd, R"({"zone":"Example.Org","created_at":"x"})");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->zone, "example.org.");
}

TEST(Messages, BadEventsAreRejectedWithTheField) {
  EXPECT_EQ(DecodeZoneEvent(ZoneEventType::kAdd, "{not json").status().message(), "malformed JSON");
  EXPECT_EQ(DecodeZoneEvent(ZoneEventType::kAdd, "[]").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_NE(DecodeZoneEvent(ZoneEventType::kAdd, "{}").status().message().find("zone"),
            std::string::npos);
  EXPECT_FALSE(DecodeZoneEvent(ZoneEventType::kAdd, R"({"zone":42})").ok());
  EXPECT_FALSE(DecodeZoneEvent(ZoneEventType::kAdd, R"({"zone":"a..b"})").ok());
  EXPECT_FALSE(DecodeZoneEvent(ZoneEventType::kAdd, R"({"zone":"a.b","created_at":5})").ok());
}

TEST(Messages, ZoneDataReplyAndErrorReply) {
  ZoneDataReply reply{
      "example.org.", "example.org. 3600 IN SOA a. b. 1 2 3 4 5\n", true, true, "", ""};
  auto decoded = DecodeZoneDataReply(EncodeZoneDataReply(reply));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->zone_data, reply.zone_data);
  EXPECT_TRUE(decoded->dnssec_enabled);
  EXPECT_TRUE(decoded->presigned_records);

  EXPECT_EQ(
      DecodeZoneDataReply(EncodeErrorReply("x.org.", Status::NotFound("gone"))).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(
      DecodeZoneDataReply(EncodeErrorReply("x.org.", Status::Timeout("slow"))).status().code(),
      StatusCode::kUnavailable);
  EXPECT_EQ(
      DecodeZoneDataReply(EncodeErrorReply("", Status::InvalidArgument("bad"))).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeZoneDataReply(R"({"zone":"x.org.","zone_data":7})").ok());
}

TEST(Messages, ZoneDataBodiesOfTheOriginalGoServices) {
  // What an original syncer sends (Go encoding/json of its request: time.Time in RFC 3339 with
  // nanoseconds and the local offset). It says nothing about error replies.
  auto request = DecodeZoneDataRequest(
      R"({"zone":"example.org.","only_soa":true,"requested_at":"2026-12-01T21:00:00.123456789+01:00"})");
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_TRUE(request->only_soa);
  EXPECT_FALSE(request->accept_error_reply);
  EXPECT_FALSE(AcceptsErrorReply(R"({"zone":"example.org.","only_soa":true})"));

  // What an original provider replies: miekg/dns presentation format (tabs), every record of
  // the AXFR including the closing SOA, no final newline; for only_soa just the SOA line.
  const std::string soa =
      "example.org.\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. 7 10800 3600 604800 "
      "3600";
  const std::string axfr = soa + "\nexample.org.\t3600\tIN\tNS\tns1.example.net.\n" + soa;
  for (const std::string& data : {soa, axfr}) {
    // Go escapes the tabs and newlines as \t and \n, as nlohmann::json does.
    const std::string body = R"({"zone":"example.org.","zone_data":)" +
                             nlohmann::json(data).dump() +
                             R"(,"dnssec_enabled":true,"presigned_records":true,)"
                             R"("replied_at":"2026-12-01T21:00:00.5+01:00"})";
    auto reply = DecodeZoneDataReply(body);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString() << body;
    EXPECT_EQ(reply->zone_data, data);
    EXPECT_TRUE(reply->dnssec_enabled);
  }
}

TEST(Messages, OurZoneDataRequestIsTheOriginalsPlusOneField) {
  ZoneDataRequest request{"example.org.", true, "", false};
  auto doc = nlohmann::json::parse(EncodeZoneDataRequest(request));
  EXPECT_EQ(doc.size(), 3u) << doc.dump();
  EXPECT_TRUE(doc["only_soa"].get<bool>());
  // Go's time.Time accepts only RFC 3339: an original provider drops a request it cannot parse.
  EXPECT_TRUE(std::regex_match(doc["requested_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << doc.dump();
  request.accept_error_reply = true;
  const std::string marked = EncodeZoneDataRequest(request);
  EXPECT_TRUE(nlohmann::json::parse(marked)["accept_error_reply"].get<bool>());
  auto decoded = DecodeZoneDataRequest(marked);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->accept_error_reply);
  // A rejected request still tells whether its sender reads error replies.
  EXPECT_TRUE(AcceptsErrorReply(R"({"zone":"a..b","accept_error_reply":true})"));
  EXPECT_FALSE(AcceptsErrorReply(R"({"zone":"a..b","accept_error_reply":"yes"})"));
  EXPECT_FALSE(AcceptsErrorReply("{garbage"));
  EXPECT_FALSE(DecodeZoneDataRequest(R"({"zone":"a.b","accept_error_reply":1})").ok());
}

TEST(Messages, ZoneDataRequestTypes) {
  auto request = DecodeZoneDataRequest(R"({"zone":"X.org","only_soa":true})");
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->zone, "x.org.");
  EXPECT_TRUE(request->only_soa);
  EXPECT_FALSE(DecodeZoneDataRequest(R"({"zone":"x.org","only_soa":"yes"})").ok());
  EXPECT_FALSE(DecodeZoneDataRequest(R"({"only_soa":true})").ok());
}

TEST(Messages, StateMapRoundTripAndLargeSerials) {
  ZoneStateReply reply;
  reply.statemap["a.org."] = 4294967295u;
  reply.statemap["b.org."] = 1;
  auto decoded = DecodeZoneStateReply(EncodeZoneStateReply(reply));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->statemap, reply.statemap);
  EXPECT_FALSE(DecodeZoneStateReply(R"({"statemap":{"a.org.":-1}})").ok());
  EXPECT_FALSE(DecodeZoneStateReply(R"({"statemap":{"a.org.":4294967296}})").ok());
  auto all = DecodeZoneStateRequest(R"({"requested_at":"t"})");
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->zone.has_value());
  EXPECT_FALSE(all->accept_error_reply);  // the original health-checker's request
  auto ours = DecodeZoneStateRequest(EncodeZoneStateRequest({std::nullopt, "", true}));
  ASSERT_TRUE(ours.ok());
  EXPECT_TRUE(ours->accept_error_reply);
  EXPECT_FALSE(DecodeZoneStateRequest(R"({"accept_error_reply":"yes"})").ok());
}

TEST(Messages, Rfc3339TimesParseBackToWhatWasFormatted) {
  using std::chrono::system_clock;
  const system_clock::time_point at =
      system_clock::time_point(std::chrono::microseconds(1796342929123456));
  auto parsed = ParseRfc3339(FormatRfc3339(at));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(*parsed, at);
  struct Case {
    const char* text;
    bool ok;
    int64_t micros;  // since 1970, when ok
  };
  const Case cases[] = {
      {"1970-01-01T00:00:00Z", true, 0},
      {"1970-01-01T00:00:01.5Z", true, 1500000},
      {"1970-01-01t00:00:01.000001z", true, 1000001},
      {"1970-01-01T01:00:00+01:00", true, 0},
      {"1969-12-31T23:30:00-00:30", true, 0},
      {"2024-02-29T00:00:00Z", true, 1709164800000000},
      {"2023-02-29T00:00:00Z", false, 0},
      {"2026-13-01T00:00:00Z", false, 0},
      {"2026-12-01T24:00:00Z", false, 0},
      {"2026-12-01T00:00:00", false, 0},    // no zone
      {"2026-12-01T00:00:00.Z", false, 0},  // empty fraction
      {"2026-12-01T00:00:00.1234567890Z", false, 0},
      {"2026-12-01 00:00:00Z", false, 0},
      {"2026-12-01T00:00:00Zjunk", false, 0},
      {"2026-12-01T00:00:00+1:00", false, 0},
      {"1970-01-01T00:00:00+01:00", false, 0},  // before 1970
      {"9999-12-31T23:59:59-01:00", false, 0},  // beyond system_clock
      {"7158-12-03T12:00:00.123456789+01:00", false, 0},
      {"2262-04-11T23:47:16Z", false, 0},
      {"2262-04-11T23:47:15Z", true, 9223372035000000},
      {"", false, 0},
      {"x", false, 0},
  };
  for (const Case& c : cases) {
    auto time = ParseRfc3339(c.text);
    EXPECT_EQ(time.ok(), c.ok) << c.text;
    if (c.ok && time.ok()) {
      EXPECT_EQ(
          std::chrono::duration_cast<std::chrono::microseconds>(time->time_since_epoch()).count(),
          c.micros)
          << c.text;
    }
  }
}

TEST(Messages, ChangeIdsCarryTheirWriteTimeAndTravelInEvents) {
  using std::chrono::system_clock;
  const system_clock::time_point at =
      system_clock::time_point(std::chrono::microseconds(1796342929123456));
  const std::string id = MakeChangeId(at, 0xdeadbeef);
  EXPECT_TRUE(IsValidChangeId(id)) << id;
  EXPECT_EQ(id.substr(id.size() - 9), "-deadbeef");
  ASSERT_TRUE(ChangeIdTime(id).has_value());
  EXPECT_EQ(*ChangeIdTime(id), at);
  EXPECT_FALSE(ChangeIdTime("abc").has_value());
  EXPECT_FALSE(ChangeIdTime("-deadbeef").has_value());
  EXPECT_FALSE(ChangeIdTime("12-deadbeeg").has_value());
  // 15 hex digits are more microseconds than a system_clock holds: no time, no overflow.
  EXPECT_FALSE(ChangeIdTime("fffffffffffffff-00000000").has_value());
  EXPECT_TRUE(ChangeIdTime("20c49ba5e353f7-00000000").has_value());  // 2262-04-11
  EXPECT_FALSE(IsValidChangeId(""));
  EXPECT_FALSE(IsValidChangeId("ABC"));
  EXPECT_FALSE(IsValidChangeId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidChangeId("a b"));

  const std::string event = EncodeZoneEvent({ZoneEventType::kChange, "example.org.", "", id});
  auto decoded = DecodeZoneEvent(ZoneEventType::kChange, event);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->change_id, id);
  // The original's events have none, and an original peer ignores the field.
  EXPECT_EQ(EncodeZoneEvent({ZoneEventType::kChange, "example.org.", "t", ""}).find("change_id"),
            std::string::npos);
  EXPECT_FALSE(DecodeZoneEvent(ZoneEventType::kChange, R"({"zone":"a.b","change_id":"X Y"})").ok());
  EXPECT_FALSE(DecodeZoneEvent(ZoneEventType::kChange, R"({"zone":"a.b","change_id":7})").ok());
}

TEST(Messages, ZoneSyncReportsRoundTripAndBadOnesAreRefused) {
  ZoneSyncReport synced{"example.org.",
                        ZoneSyncReport::Outcome::kSynced,
                        4294967295u,
                        "2026-12-03T12:00:00.000001Z",
                        "",
                        "2026-12-03T12:00:01Z"};
  auto back = DecodeZoneSyncReport(EncodeZoneSyncReport(synced));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->outcome, ZoneSyncReport::Outcome::kSynced);
  EXPECT_EQ(back->serial, 4294967295u);
  EXPECT_EQ(back->read_at, synced.read_at);
  ZoneSyncReport failed{"example.org.", ZoneSyncReport::Outcome::kFailed, 0, "", "boom", ""};
  back = DecodeZoneSyncReport(EncodeZoneSyncReport(failed));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->outcome, ZoneSyncReport::Outcome::kFailed);
  EXPECT_EQ(back->error, "boom");
  EXPECT_FALSE(back->reported_at.empty());
  back = DecodeZoneSyncReport(R"({"zone":"a.b","outcome":"deleted"})");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->outcome, ZoneSyncReport::Outcome::kDeleted);
  for (const char* bad : {
           R"({"outcome":"deleted"})",
           R"({"zone":"a.b"})",
           R"({"zone":"a.b","outcome":"done"})",
           R"({"zone":"a.b","outcome":"synced"})",
           R"({"zone":"a.b","outcome":"synced","serial":-1})",
           R"({"zone":"a.b","outcome":"synced","serial":4294967296})",
           R"({"zone":"a.b","outcome":"deleted","read_at":"yesterday"})",
           R"({"zone":"a..b","outcome":"deleted"})",
           "[]",
       }) {
    EXPECT_EQ(DecodeZoneSyncReport(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Messages, ChangeStatusRequestsNameAChangeOrAZone) {
  auto by_id = DecodeChangeStatusRequest(EncodeChangeStatusRequest({"18f0-00000001", "", 100}));
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->id, "18f0-00000001");
  auto by_zone = DecodeChangeStatusRequest(R"({"zone":"Example.ORG","limit":5})");
  ASSERT_TRUE(by_zone.ok());
  EXPECT_EQ(by_zone->zone, "example.org.");
  EXPECT_EQ(by_zone->limit, 5u);
  EXPECT_EQ(DecodeChangeStatusRequest(R"({"zone":"a.b"})")->limit, 100u);
  for (const char* bad :
       {"{}", R"({"id":"a","zone":"a.b"})", R"({"id":"A B"})", R"({"zone":"a..b"})",
        R"({"zone":"a.b","limit":0})", R"({"zone":"a.b","limit":1001})", R"({"id":5})", "7"}) {
    EXPECT_EQ(DecodeChangeStatusRequest(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Messages, SerialArithmeticFollowsRfc1982) {
  EXPECT_TRUE(SerialGreater(2, 1));
  EXPECT_FALSE(SerialGreater(1, 2));
  EXPECT_FALSE(SerialGreater(5, 5));
  EXPECT_TRUE(SerialGreater(1, 4294967295u));  // wrapped around
  EXPECT_TRUE(SerialGreater(2147483648u, 1));
}

}  // namespace
}  // namespace pdnsd
