// ChangeTracker (services/health_checker/change_tracker.h): when a change counts as served by a
// secondary, and what GET /changes shows.
#include "services/health_checker/change_tracker.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include <nlohmann/json.hpp>

namespace pdnsd {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;
using Outcome = ZoneSyncReport::Outcome;
using State = SecondaryChangeStatus::State;

const system_clock::time_point kT0 = system_clock::time_point(std::chrono::hours(490000));

system_clock::time_point At(int ms) { return kT0 + milliseconds(ms); }

ZoneSyncReport Synced(const std::string& zone, int read_at_ms, uint32_t serial = 7) {
  return {zone, Outcome::kSynced, serial, FormatRfc3339(At(read_at_ms)), "", ""};
}

State StateOn(const ChangeStatus& status, const std::string& secondary) {
  for (const auto& entry : status.secondaries) {
    if (entry.id == secondary) return entry.state;
  }
  ADD_FAILURE() << secondary << " not shown";
  return State::kPending;
}

// One row per report: what the change written at 100 ms is on secondary "s1" afterwards.
TEST(ChangeTracker, WhichReportsCompleteAChange) {
  struct Row {
    const char* what;
    ZoneEventType type;
    ZoneSyncReport report;
    int received_ms;
    State expected;
  };
  const Row rows[] = {
      {"data read after the write", ZoneEventType::kChange, Synced("a.", 101), 150, State::kInSync},
      {"data read exactly at the write", ZoneEventType::kChange, Synced("a.", 100), 150,
       State::kInSync},
      {"data read before the write (an older transfer)", ZoneEventType::kChange, Synced("a.", 99),
       150, State::kPending},
      {"another zone", ZoneEventType::kChange, Synced("b.", 200), 250, State::kPending},
      {"no read time (an original provider): the event check decides",
       ZoneEventType::kChange,
       {"a.", Outcome::kSynced, 7, "", "", ""},
       250,
       State::kPending},
      {"a failed attempt after the write",
       ZoneEventType::kChange,
       {"a.", Outcome::kFailed, 0, "", "PowerDNS unreachable", ""},
       150,
       State::kFailed},
      {"a failed attempt before the write",
       ZoneEventType::kChange,
       {"a.", Outcome::kFailed, 0, "", "PowerDNS unreachable", ""},
       50,
       State::kPending},
      {"deleted, read after the write",
       ZoneEventType::kDelete,
       {"a.", Outcome::kDeleted, 0, FormatRfc3339(At(120)), "", ""},
       150,
       State::kInSync},
      {"deleted, no read time, received after the write",
       ZoneEventType::kDelete,
       {"a.", Outcome::kDeleted, 0, "", "", ""},
       150,
       State::kInSync},
      {"deleted, no read time, received before the write",
       ZoneEventType::kDelete,
       {"a.", Outcome::kDeleted, 0, "", "", ""},
       90,
       State::kPending},
      {"a later version of a deleted zone (created again) also has the deletion",
       ZoneEventType::kDelete, Synced("a.", 300), 310, State::kInSync},
  };
  for (const Row& row : rows) {
    ChangeTracker tracker;
    tracker.Add("c1", "a.", row.type, At(100), At(100));
    tracker.Report("s1", row.report, At(row.received_ms));
    auto status = tracker.Get("c1", {"s1"});
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(StateOn(*status, "s1"), row.expected) << row.what;
    EXPECT_EQ(status->in_sync, row.expected == State::kInSync) << row.what;
  }
}

TEST(ChangeTracker, InSyncWhenEveryActiveSecondaryHasItAndADownOneDoesNotHoldIt) {
  ChangeTracker tracker;
  bool added = false;
  tracker.Add("c1", "a.", ZoneEventType::kChange, At(100), At(100), &added);
  EXPECT_TRUE(added);
  tracker.Add("c1", "a.", ZoneEventType::kChange, At(100), At(100), &added);
  EXPECT_FALSE(added);
  const auto lags = tracker.Report("s1", Synced("a.", 105, 9), At(130));
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].secondary, "s1");
  EXPECT_EQ(lags[0].lag, milliseconds(30));
  auto status = tracker.Get("c1", {"s1", "s2"});
  ASSERT_TRUE(status.has_value());
  EXPECT_FALSE(status->in_sync);
  EXPECT_EQ(status->serial, 9u);
  EXPECT_EQ(StateOn(*status, "s1"), State::kInSync);
  EXPECT_EQ(StateOn(*status, "s2"), State::kPending);
  EXPECT_EQ(tracker.OldestPendingAge({"s1", "s2"}, At(1100)), milliseconds(1000));
  // s2 stops being active: shown DOWN once it has reported on the zone, and no longer holds it.
  tracker.Report("s2", {"a.", Outcome::kFailed, 0, "", "timeout", ""}, At(140));
  status = tracker.Get("c1", {"s1"});
  EXPECT_TRUE(status->in_sync);
  EXPECT_EQ(StateOn(*status, "s2"), State::kDown);
  EXPECT_EQ(tracker.OldestPendingAge({"s1"}, At(1100)), std::nullopt);
  // A second report of s1 keeps the first time it had the change.
  EXPECT_TRUE(tracker.Report("s1", Synced("a.", 200), At(210)).empty());
  EXPECT_EQ(tracker.Get("c1", {"s1"})->secondaries.front().served_at, At(130));
  EXPECT_FALSE(tracker.Get("unknown", {"s1"}).has_value());
}

TEST(ChangeTracker, HavingAChangeMeansHavingTheEarlierOnesOfTheZone) {
  ChangeTracker tracker;
  tracker.Add("c1", "a.", ZoneEventType::kChange, At(100), At(100));
  tracker.Add("c2", "a.", ZoneEventType::kChange, At(200), At(200));
  tracker.Add("c3", "a.", ZoneEventType::kChange, At(300), At(300));
  tracker.Add("b1", "b.", ZoneEventType::kChange, At(150), At(150));
  EXPECT_EQ(tracker.Report("s1", Synced("a.", 250), At(260)).size(), 2u);  // c1, c2
  EXPECT_TRUE(tracker.Get("c1", {"s1"})->in_sync);
  EXPECT_TRUE(tracker.Get("c2", {"s1"})->in_sync);
  EXPECT_FALSE(tracker.Get("c3", {"s1"})->in_sync);
  EXPECT_FALSE(tracker.Get("b1", {"s1"})->in_sync);
  // The event check's observation: s1 at the primary's serial read at 350.
  tracker.Observe("s1", "a.", At(350), At(400));
  EXPECT_TRUE(tracker.Get("c3", {"s1"})->in_sync);
  const auto list = tracker.ForZone("a.", {"s1"}, 2);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, "c3");  // newest first
  EXPECT_EQ(list[1].id, "c2");
  // Every zone's, newest first (the status page): b1 was added after c3.
  const auto latest = tracker.Latest({"s1"}, 3);
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[0].id, "b1");
  EXPECT_FALSE(latest[0].in_sync);
  EXPECT_EQ(latest[1].id, "c3");
  EXPECT_TRUE(latest[1].in_sync);
  EXPECT_EQ(latest[2].id, "c2");
}

// The report reaches the health-checker before the event that announced the change.
TEST(ChangeTracker, AReportThatOvertookItsEventCompletesTheChangeAddedAfterIt) {
  ChangeTracker tracker;
  EXPECT_TRUE(tracker.Report("s1", Synced("a.", 105, 9), At(130)).empty());
  EXPECT_TRUE(tracker.Report("s2", Synced("a.", 90, 8), At(131)).empty());  // older data
  const auto lags = tracker.Add("c1", "a.", ZoneEventType::kChange, At(100), At(140));
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].secondary, "s1");
  EXPECT_EQ(lags[0].lag, milliseconds(30));
  auto status = tracker.Get("c1", {"s1", "s2"});
  EXPECT_EQ(StateOn(*status, "s1"), State::kInSync);
  EXPECT_EQ(StateOn(*status, "s2"), State::kPending);
  EXPECT_EQ(status->serial, 9u);
  // Kept only for the window: a change added later is not completed by it.
  tracker.Add("c2", "a.", ZoneEventType::kChange, At(100),
              At(130) + ChangeTracker::kEarlyReportWindow + milliseconds(1));
  EXPECT_EQ(StateOn(*tracker.Get("c2", {"s1"}), "s1"), State::kPending);
}

TEST(ChangeTracker, HistoryIsBoundedByCountAndAge) {
  ChangeTracker tracker({3, std::chrono::seconds(60)});
  for (int i = 0; i < 5; ++i) {
    tracker.Add("c" + std::to_string(i), "a.", ZoneEventType::kChange, At(i), At(i));
  }
  EXPECT_EQ(tracker.size(), 3u);
  EXPECT_FALSE(tracker.Get("c1", {}).has_value());
  EXPECT_TRUE(tracker.Get("c2", {}).has_value());
  // Reports still find the changes kept after the oldest went.
  EXPECT_EQ(tracker.Report("s1", Synced("a.", 10), At(20)).size(), 3u);
  tracker.Add("late", "b.", ZoneEventType::kChange, At(61005), At(61005));
  EXPECT_EQ(tracker.size(), 1u);  // the others are older than 60 s
  EXPECT_TRUE(tracker.ForZone("a.", {}, 10).empty());
  // Reports on zones without changes held keep nothing (a fleet of many zones, few changes).
  tracker.Report("s1", {"a.", Outcome::kFailed, 0, "", "boom", ""}, At(61006));
  tracker.Report("s1", Synced("c.", 61000), At(61007));
  tracker.Observe("s1", "d.", At(61000), At(61008));
  EXPECT_EQ(tracker.zones_held(), 1u);  // b.
}

TEST(ChangeTracker, StatusJsonNamesEverySecondaryWithItsLag) {
  ChangeTracker tracker;
  tracker.Add("18f0-00000001", "a.", ZoneEventType::kAdd, At(100), At(100));
  tracker.Report("s1", Synced("a.", 101, 5), At(125));
  tracker.Report("s2", {"a.", Outcome::kFailed, 0, "", "PowerDNS answered 500", ""}, At(130));
  const auto doc =
      nlohmann::json::parse(EncodeChangeStatus(*tracker.Get("18f0-00000001", {"s1", "s2"})));
  EXPECT_EQ(doc["id"], "18f0-00000001");
  EXPECT_EQ(doc["zone"], "a.");
  EXPECT_EQ(doc["type"], "create");
  EXPECT_EQ(doc["status"], "PENDING");
  EXPECT_EQ(doc["serial"], 5);
  EXPECT_EQ(doc["written_at"], FormatRfc3339(At(100)));
  ASSERT_EQ(doc["secondaries"].size(), 2u);
  EXPECT_EQ(doc["secondaries"][0]["id"], "s1");
  EXPECT_EQ(doc["secondaries"][0]["status"], "INSYNC");
  EXPECT_DOUBLE_EQ(doc["secondaries"][0]["lag_seconds"].get<double>(), 0.025);
  EXPECT_EQ(doc["secondaries"][1]["status"], "FAILED");
  EXPECT_EQ(doc["secondaries"][1]["error"], "PowerDNS answered 500");
  const auto list = nlohmann::json::parse(EncodeChangeList(tracker.ForZone("a.", {}, 5)));
  ASSERT_EQ(list["changes"].size(), 1u);
  EXPECT_EQ(list["changes"][0]["status"], "INSYNC");  // no active secondary holds it
}

// The per-secondary backlog behind the healthchecker_secondary_* gauges: one row per step,
// what s1 and s2 do not serve yet after it (changes, zones, age of the oldest at 1000 ms).
TEST(ChangeTracker, BacklogOfEachSecondaryMovesWithEveryChangeAndReport) {
  ChangeTracker tracker;
  const std::set<std::string> active = {"s1", "s2"};
  struct Row {
    const char* step;
    std::function<void()> apply;
    SecondaryBacklog s1, s2;
  };
  const Row rows[] = {
      {"nothing yet", [] {}, {0, 0, milliseconds(0)}, {0, 0, milliseconds(0)}},
      {"a change of a. at 100 ms",
       [&] { tracker.Add("c1", "a.", ZoneEventType::kChange, At(100), At(100)); },
       {1, 1, milliseconds(900)},
       {1, 1, milliseconds(900)}},
      {"another change of a. at 300 ms",
       [&] { tracker.Add("c2", "a.", ZoneEventType::kChange, At(300), At(300)); },
       {2, 1, milliseconds(900)},
       {2, 1, milliseconds(900)}},
      {"a change of b. at 400 ms",
       [&] { tracker.Add("c3", "b.", ZoneEventType::kChange, At(400), At(400)); },
       {3, 2, milliseconds(900)},
       {3, 2, milliseconds(900)}},
      {"s1 reports a. read at 310 ms: both changes of a.",
       [&] { tracker.Report("s1", Synced("a.", 310), At(320)); },
       {1, 1, milliseconds(600)},
       {3, 2, milliseconds(900)}},
      {"s2 fails on b.: still pending",
       [&] {
         tracker.Report("s2", {"b.", Outcome::kFailed, 0, "", "timeout", ""}, At(450));
       },
       {1, 1, milliseconds(600)},
       {3, 2, milliseconds(900)}},
      {"s2 reports a. read at 200 ms: only the first change",
       [&] { tracker.Report("s2", Synced("a.", 200), At(460)); },
       {1, 1, milliseconds(600)},
       {2, 2, milliseconds(700)}},
  };
  for (const Row& row : rows) {
    row.apply();
    const auto backlog = tracker.Backlog(active, At(1000));
    ASSERT_EQ(backlog.size(), 2u) << row.step;
    EXPECT_EQ(backlog.at("s1"), row.s1) << row.step;
    EXPECT_EQ(backlog.at("s2"), row.s2) << row.step;
  }
  // A secondary that is not active has no backlog; one that is but never reported has all.
  const auto others = tracker.Backlog({"s3"}, At(1000));
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others.at("s3"), (SecondaryBacklog{3, 2, milliseconds(900)}));
}

}  // namespace
}  // namespace pdnsd
