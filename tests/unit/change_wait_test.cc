// pdns-distribute-wait's decisions (tools/change_wait.h): what it reads from the proxy's answers
// and what it prints.
#include "tools/change_wait.h"

#include <gtest/gtest.h>

namespace pdnsd {
namespace {

using std::chrono::milliseconds;

constexpr const char* kPending = R"({"id":"661ba8a58489a-f5670fcf","zone":"example.org.",
  "type":"change","written_at":"2026-12-03T13:14:33.116826Z","status":"PENDING","serial":7,
  "secondaries":[{"id":"ns1","status":"INSYNC","lag_seconds":0.0182},
                 {"id":"ns2","status":"FAILED","error":"PowerDNS answered 500"},
                 {"id":"ns3","status":"PENDING"},{"id":"ns4","status":"DOWN"}]})";

TEST(ChangeWait, PrintsEachSecondaryOnceWhenItArrives) {
  auto change = ParseChangeView(kPending);
  ASSERT_TRUE(change.ok()) << change.status().message();
  EXPECT_EQ(change->zone, "example.org.");
  std::set<std::string> printed;
  EXPECT_EQ(NewlyServedLines(*change, &printed),
            std::vector<std::string>{"  ns1  INSYNC  18.2 ms"});
  EXPECT_TRUE(NewlyServedLines(*change, &printed).empty());  // not again
  change->secondaries[2].status = "INSYNC";                  // ns3 arrives, no lag known
  EXPECT_EQ(NewlyServedLines(*change, &printed), std::vector<std::string>{"  ns3  INSYNC"});
}

TEST(ChangeWait, TheClosingLineNamesTheLaggards) {
  auto change = ParseChangeView(kPending);
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(ClosingLine(*change, milliseconds(60000)),
            "PENDING after 60.0 s: ns2 (FAILED: PowerDNS answered 500), ns3 (DOWN, not waited "
            "for: ns4)");
  change->status = "INSYNC";
  change->secondaries.resize(1);
  EXPECT_EQ(ClosingLine(*change, milliseconds(20)), "INSYNC on 1 secondary");
}

TEST(ChangeWait, AnswersThatAreNotChangesAreRefused) {
  for (const char* bad : {"", "[]", "{}", R"({"id":"x","status":"INSYNC"})",
                          R"({"id":"x","status":"INSYNC","secondaries":[1]})"}) {
    EXPECT_FALSE(ParseChangeView(bad).ok()) << bad;
  }
  EXPECT_EQ(*NewestChangeId(R"({"changes":[{"id":"1-00000001"},{"id":"1-00000000"}]})"),
            "1-00000001");
  EXPECT_EQ(NewestChangeId(R"({"changes":[]})").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(NewestChangeId(R"({"changes":[{"id":"BAD ID"}]})").ok());
  EXPECT_FALSE(NewestChangeId("{}").ok());
}

}  // namespace
}  // namespace pdnsd
