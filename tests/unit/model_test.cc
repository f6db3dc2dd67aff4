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
  const std::string add = EncodeZoneEvent({ZoneEventType::kAdd, "example.org.", ""});
  EXPECT_NE(add.find("\"created_at\""), std::string::npos);
  EXPECT_NE(EncodeZoneEvent({ZoneEventType::kChange, "example.org.", ""}).find("\"changed_at\""),
            std::string::npos);
  EXPECT_NE(EncodeZoneEvent({ZoneEventType::kDelete, "example.org.", ""}).find("\"deleted_at\""),
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
  ZoneDataReply reply{"example.org.", "example.org. 3600 IN SOA a. b. 1 2 3 4 5\n", true, true, ""};
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

TEST(Messages, SerialArithmeticFollowsRfc1982) {
  EXPECT_TRUE(SerialGreater(2, 1));
  EXPECT_FALSE(SerialGreater(1, 2));
  EXPECT_FALSE(SerialGreater(5, 5));
  EXPECT_TRUE(SerialGreater(1, 4294967295u));  // wrapped around
  EXPECT_TRUE(SerialGreater(2147483648u, 1));
}

}  // namespace
}  // namespace pdnsd
