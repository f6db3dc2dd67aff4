#include "services/secondary_syncer/sync_rules.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace pdnsd {
namespace {

using std::chrono::milliseconds;

TEST(DnssecStateOfZoneText, ReadsSignaturesAndTheApexNsec3param) {
  struct Case {
    const char* name;
    std::string text;
    ZoneDnssecState expected;
  };
  const std::string soa = "z.example.\t3600\tIN\tSOA\tns1.example.net. h.example.net. 1 2 3 4 5\n";
  const std::vector<Case> cases = {
      {"unsigned", soa + "z.example.\t3600\tIN\tNS\tns1.example.net.\n", {false, ""}},
      {"RRSIG",
       soa + "z.example.\t3600\tIN\tRRSIG\tSOA 13 2 3600 1 2 3 z.example. AAAA\n",
       {true, ""}},
      {"NSEC alone",
       soa + "z.example. 3600 IN NSEC www.z.example. SOA NS RRSIG NSEC\n",
       {true, ""}},
      {"NSEC3 with NSEC3PARAM",
       soa + "z.example.\t0\tIN\tNSEC3PARAM\t1\t0\t0\t-\nabc.z.example.\t60\tIN\tNSEC3\t1 0 0 - x "
             "A\n",
       {true, "1 0 0 -"}},
      {"no class, TTL after the class",
       soa + "z.example. IN 60 NSEC3PARAM 1 0 5 ab\n"
             "z.example. RRSIG NSEC3PARAM 13 2 60 1 2 3 z. A\n",
       {true, "1 0 5 ab"}},
      {"NSEC3PARAM below the apex is not the zone's",
       soa + "sub.z.example. 0 IN NSEC3PARAM 1 0 0 -\nz.example. 0 IN NSEC z.example. SOA\n",
       {true, ""}},
      {"NSEC3PARAM in an unsigned zone is ignored",
       soa + "z.example. 0 IN NSEC3PARAM 1 0 0 -\n",
       {false, ""}},
      {"a type name inside rdata is not a type",
       soa + "www.z.example. 60 IN TXT \"RRSIG\"\nz.example. 60 IN CNAME NSEC.example.net.\n",
       {false, ""}},
      {"CRLF lines and comments",
       "; a comment RRSIG\r\n" + soa + "z.example. 60 IN RRSIG x\r\n",
       {true, ""}},
      {"empty", "", {false, ""}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DnssecStateOfZoneText(c.text), c.expected) << c.name;
  }
}

TEST(MetadataCacheMayBeStale, OnlyWhenTheTransferChangesDnssecMetadata) {
  const ZoneDnssecState unsigned_zone{false, ""};
  const ZoneDnssecState nsec{true, ""};
  const ZoneDnssecState nsec3{true, "1 0 0 -"};
  const ZoneDnssecState nsec3_salted{true, "1 0 1 ab"};
  struct Case {
    const char* name;
    std::optional<ZoneDnssecState> before;
    ZoneDnssecState served;
    bool expected;
  };
  const std::vector<Case> cases = {
      {"new unsigned zone", std::nullopt, unsigned_zone, false},
      {"new signed zone", std::nullopt, nsec, true},
      {"new NSEC3 zone", std::nullopt, nsec3, true},
      {"stays unsigned", unsigned_zone, unsigned_zone, false},
      {"turns signed", unsigned_zone, nsec, true},
      {"turns unsigned", nsec, unsigned_zone, true},
      {"NSEC3 turns unsigned", nsec3, unsigned_zone, true},
      {"stays NSEC (a key added, re-signed)", nsec, nsec, false},
      {"NSEC to NSEC3", nsec, nsec3, true},
      {"NSEC3 to NSEC", nsec3, nsec, true},
      {"NSEC3 parameters change", nsec3, nsec3_salted, true},
      {"stays NSEC3", nsec3, nsec3, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MetadataCacheMayBeStale(c.before, c.served), c.expected) << c.name;
  }
}

TEST(DecideCommitWait, WaitsForTheCommitAndEndsEarlyWhenSuperseded) {
  using D = CommitWaitDecision;
  const milliseconds soon{5};
  const milliseconds late = kUnchangedSerialCommitWait + milliseconds(1);
  struct Case {
    const char* name;
    CommitProgress progress;
    D expected;
  };
  const std::vector<Case> cases = {
      {"serial not there yet", {.serial_matches = false, .serial_moved = true}, D::kWait},
      {"serial not there yet, marked again",
       {.serial_matches = false, .serial_moved = true, .marked_again = true},
       D::kWait},
      {"not there yet, however long", {.serial_matches = false, .since_served = late}, D::kWait},
      {"new serial committed", {.serial_matches = true, .serial_moved = true}, D::kCommitted},
      {"first transfer committed", {.serial_matches = true, .first_transfer = true}, D::kCommitted},
      {"same serial, last_check moved",
       {.serial_matches = true, .last_check_advanced = true, .marked_again = true},
       D::kCommitted},
      {"same serial, last_check moved, but maybe by the superseded reconcile's commit",
       {.serial_matches = true,
        .last_check_advanced = true,
        .previous_commit_unconfirmed = true,
        .since_served = soon},
       D::kWait},
      {"new serial after a superseded reconcile",
       {.serial_matches = true, .serial_moved = true, .previous_commit_unconfirmed = true},
       D::kCommitted},
      {"same serial, same second: wait", {.serial_matches = true, .since_served = soon}, D::kWait},
      {"same serial, same second, marked again: stop",
       {.serial_matches = true, .marked_again = true, .since_served = soon},
       D::kSuperseded},
      {"same serial, past the wait",
       {.serial_matches = true, .since_served = late},
       D::kAssumedCommitted},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecideCommitWait(c.progress), c.expected) << c.name;
  }
}

TEST(RetrieveAgainAfter, DoublesFrom50MsUpTo2sUntilATransferStarts) {
  EXPECT_EQ(RetrieveAgainAfter(1, false), milliseconds(50));
  EXPECT_EQ(RetrieveAgainAfter(2, false), milliseconds(100));
  EXPECT_EQ(RetrieveAgainAfter(3, false), milliseconds(200));
  EXPECT_EQ(RetrieveAgainAfter(6, false), milliseconds(1600));
  EXPECT_EQ(RetrieveAgainAfter(7, false), milliseconds(2000));
  EXPECT_EQ(RetrieveAgainAfter(50, false), milliseconds(2000));
  EXPECT_EQ(RetrieveAgainAfter(0, false), milliseconds(50));
  EXPECT_EQ(RetrieveAgainAfter(1, true), std::nullopt);
  EXPECT_EQ(RetrieveAgainAfter(5, true), std::nullopt);
}

}  // namespace
}  // namespace pdnsd
