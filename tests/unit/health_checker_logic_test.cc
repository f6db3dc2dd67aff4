#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "services/health_checker/announcement_plan.h"
#include "services/health_checker/catalog_plan.h"
#include "services/health_checker/check_rules.h"
#include "services/health_checker/check_schedule.h"
#include "services/health_checker/signing_schedule.h"
#include "services/health_checker/timer_queue.h"
#include "services/health_checker/zone_diff.h"
#include "support/simulated_clock.h"

namespace pdnsd {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::SimulatedClock;

// ---------------------------------------------------------------------------------------------
// TimerQueue, on a SimulatedClock: time moves only when a test advances it.

// Counts finished tasks; tests wait on it instead of sleeping a guessed time.
class Counter {
 public:
  void Add() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    cv_.notify_all();
  }
  bool WaitFor(int n, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

// Holds the queue's one thread inside a task until Open(), so that tests can fill the queue
// without racing the thread.
class Gate {
 public:
  explicit Gate(TimerQueue& queue) : open_(opened_.get_future().share()) {
    auto started = std::make_shared<std::promise<void>>();  // std::function needs a copyable task
    std::future<void> started_future = started->get_future();
    queue.ScheduleAfter(milliseconds(0), [started, open = open_] {
      started->set_value();
      open.wait();
    });
    started_future.wait();
  }
  ~Gate() { Open(); }
  void Open() {
    if (!is_open_) opened_.set_value();
    is_open_ = true;
  }

 private:
  std::promise<void> opened_;
  std::shared_future<void> open_;
  bool is_open_ = false;
};

TEST(TimerQueue, RunsTasksInDueOrder) {
  std::mutex mutex;
  std::vector<int> order;
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  Gate gate(queue);
  const auto base = clock.Now() + milliseconds(20);
  std::vector<int> delays = {7, 3, 9, 0, 5, 1, 8, 2, 6, 4};
  for (int d : delays) {
    ASSERT_TRUE(queue.Schedule(base + milliseconds(10 * d), [&, d] {
      {
        std::lock_guard lock(mutex);
        order.push_back(d);
      }
      done.Add();
    }));
  }
  gate.Open();
  clock.Advance(milliseconds(200));
  ASSERT_TRUE(done.WaitFor(10));
  std::lock_guard lock(mutex);
  std::vector<int> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
}

TEST(TimerQueue, EqualDueTimesRunInInsertionOrder) {
  std::vector<int> order;  // only the timer thread writes; read after the counter says done
  std::mutex mutex;
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  const auto due = clock.Now() + milliseconds(100);
  constexpr int kTasks = 1000;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(queue.Schedule(due, [&, i] {
      {
        std::lock_guard lock(mutex);
        order.push_back(i);
      }
      done.Add();
    }));
  }
  clock.Advance(milliseconds(100));
  ASSERT_TRUE(done.WaitFor(kTasks));
  std::lock_guard lock(mutex);
  ASSERT_EQ(order.size(), static_cast<size_t>(kTasks));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(TimerQueue, NeverRunsATaskBeforeItsDueTime) {
  std::atomic<int> early{0};
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  constexpr int kTasks = 50;
  for (int i = 0; i < kTasks; ++i) {
    const auto due = clock.Now() + milliseconds(i % 10 * 5);
    queue.Schedule(due, [&, due] {
      if (clock.Now() < due) ++early;
      done.Add();
    });
  }
  // In steps, so that tasks come due while others are still waiting.
  for (int step = 0; step < 10; ++step) {
    ASSERT_TRUE(done.WaitFor(kTasks / 10 * (step + 1)));
    clock.Advance(milliseconds(5));
  }
  ASSERT_TRUE(done.WaitFor(kTasks));
  EXPECT_EQ(early.load(), 0);
}

TEST(TimerQueue, HoldsManyThousandsPendingWithOneThread) {
  constexpr int kTasks = 20000;
  std::vector<steady_clock::time_point> ran;  // written by the timer thread only
  ran.reserve(kTasks);
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  Gate gate(queue);         // the count below must not depend on timing
  const auto base = clock.Now();
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> spread(-100, 200);  // some already due, some not
  for (int i = 0; i < kTasks; ++i) {
    const auto due = base + milliseconds(spread(rng));
    ASSERT_TRUE(queue.Schedule(due, [&ran, &done, due] {
      ran.push_back(due);
      done.Add();
    }));
  }
  EXPECT_EQ(queue.pending(), static_cast<size_t>(kTasks));
  gate.Open();
  clock.Advance(milliseconds(200));
  ASSERT_TRUE(done.WaitFor(kTasks, milliseconds(30000)));
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_TRUE(std::is_sorted(ran.begin(), ran.end())) << "tasks did not run in due order";
}

TEST(TimerQueue, AnEarlierTaskScheduledLaterIsNotHeldUpByALaterOne) {
  std::atomic<bool> late_ran{false};
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  queue.ScheduleAfter(milliseconds(60000), [&] { late_ran = true; });
  ASSERT_TRUE(clock.AwaitWaiters(1));  // the thread waits for the 60 s task
  const auto start = clock.Now();
  queue.ScheduleAfter(milliseconds(20), [&] { done.Add(); });
  clock.Advance(milliseconds(20));
  ASSERT_TRUE(done.WaitFor(1, milliseconds(5000)));
  EXPECT_LT(clock.Now() - start, milliseconds(5000));
  EXPECT_FALSE(late_ran.load());
  EXPECT_EQ(queue.pending(), 1u);
}

TEST(TimerQueue, PastDueTaskRunsAtOnce) {
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  queue.Schedule(clock.Now() - milliseconds(1000), [&] { done.Add(); });
  EXPECT_TRUE(done.WaitFor(1, milliseconds(5000)));
}

TEST(TimerQueue, StopDropsPendingWaitsForRunningAndRefusesNewTasks) {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  std::atomic<bool> dropped_ran{false};
  auto capture = std::make_shared<int>(1);
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  queue.ScheduleAfter(milliseconds(0), [&] {
    started = true;
    std::this_thread::sleep_for(milliseconds(200));
    finished = true;
  });
  queue.ScheduleAfter(milliseconds(60000), [&, capture] { dropped_ran = true; });
  EXPECT_EQ(capture.use_count(), 2);
  while (!started) std::this_thread::sleep_for(milliseconds(1));
  queue.Stop();
  EXPECT_TRUE(finished.load()) << "Stop() returned while a task was still running";
  EXPECT_FALSE(dropped_ran.load());
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(capture.use_count(), 1) << "a dropped task's captures were not released";
  EXPECT_FALSE(queue.Schedule(clock.Now(), [] {}));
  EXPECT_FALSE(queue.ScheduleAfter(milliseconds(0), [] {}));
  EXPECT_EQ(queue.pending(), 0u);
  queue.Stop();  // idempotent
}

TEST(TimerQueue, ConcurrentStopCallsAreSafe) {
  SimulatedClock clock;
  TimerQueue queue(clock);
  for (int i = 0; i < 100; ++i) queue.ScheduleAfter(milliseconds(i), [] {});
  std::vector<std::thread> stoppers;
  for (int i = 0; i < 4; ++i) stoppers.emplace_back([&] { queue.Stop(); });
  for (auto& t : stoppers) t.join();
  EXPECT_EQ(queue.pending(), 0u);
}

TEST(TimerQueue, TaskMayScheduleAndStop) {
  Counter done;
  std::atomic<bool> after_stop_accepted{true};
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  queue.ScheduleAfter(milliseconds(0), [&] {
    queue.ScheduleAfter(milliseconds(5), [&] {
      queue.Stop();  // from the timer thread itself: must not self-join
      after_stop_accepted = queue.ScheduleAfter(milliseconds(0), [] {});
      done.Add();
    });
    done.Add();
  });
  ASSERT_TRUE(done.WaitFor(1));
  clock.Advance(milliseconds(5));
  ASSERT_TRUE(done.WaitFor(2));
  EXPECT_FALSE(after_stop_accepted.load());
  queue.Stop();  // joins from the test thread
}

TEST(TimerQueue, ManyThreadsScheduleConcurrently) {
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::uniform_int_distribution<int> delay(0, 30);
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(queue.ScheduleAfter(milliseconds(delay(rng)), [&] { done.Add(); }));
      }
    });
  }
  for (auto& p : producers) p.join();
  clock.Advance(milliseconds(30));
  ASSERT_TRUE(done.WaitFor(kThreads * kPerThread, milliseconds(30000)));
}

TEST(TimerQueue, RunsWhenTheQueuesClockReachesTheDueTime) {
  Counter done;
  SimulatedClock clock;
  TimerQueue queue(clock);  // declared after what its tasks use, so it is destroyed first
  queue.ScheduleAfter(std::chrono::seconds(10), [&] { done.Add(); });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(milliseconds(9999));
  EXPECT_FALSE(done.WaitFor(1, milliseconds(50)));
  EXPECT_EQ(queue.pending(), 1u);
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(done.WaitFor(1));
  EXPECT_EQ(queue.pending(), 0u);
}

TEST(TimerQueue, DestructorDropsPendingTasks) {
  std::atomic<bool> ran{false};
  {
    SimulatedClock clock;
    TimerQueue queue(clock);
    queue.ScheduleAfter(milliseconds(60000), [&] { ran = true; });
  }
  EXPECT_FALSE(ran.load());
}

// ---------------------------------------------------------------------------------------------
// Signing schedule

std::chrono::system_clock::time_point Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0,
                                          int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours(h) + minutes(mi) + seconds(s);
}

std::string Format(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const auto secs = duration_cast<seconds>(tp - day).count();
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return out;
}

// Compare as text so that a failure shows readable dates.
#define EXPECT_NEXT_SYNC(now, expected) EXPECT_EQ(Format(NextSigningSync(now)), Format(expected))

TEST(SigningSchedule, CalendarSanity) {
  using namespace std::chrono;
  EXPECT_EQ(weekday(sys_days{2026y / 12 / 31}), Thursday);
  EXPECT_EQ(weekday(sys_days{2026y / 5 / 7}), Thursday);
  EXPECT_EQ(weekday(sys_days{2028y / 2 / 29}), Tuesday);
}

TEST(SigningSchedule, AroundThursdayOneOClock) {
  // 2026-05-07 is a Thursday.
  EXPECT_NEXT_SYNC(Utc(2026, 5, 7, 0, 0, 0), Utc(2026, 5, 7, 1));
  EXPECT_NEXT_SYNC(Utc(2026, 5, 7, 0, 59, 59), Utc(2026, 5, 7, 1));
  EXPECT_NEXT_SYNC(Utc(2026, 5, 7, 1, 0, 0), Utc(2026, 5, 14, 1));  // strictly after
  EXPECT_NEXT_SYNC(Utc(2026, 5, 7, 1, 0, 1), Utc(2026, 5, 14, 1));
  EXPECT_NEXT_SYNC(Utc(2026, 5, 7, 23, 59, 59), Utc(2026, 5, 14, 1));
}

TEST(SigningSchedule, SubSecondEdges) {
  using namespace std::chrono;
  const auto one = Utc(2026, 5, 7, 1);
  EXPECT_EQ(NextSigningSync(one - nanoseconds(1)), one);
  EXPECT_EQ(NextSigningSync(one), one + weeks(1));
  EXPECT_EQ(NextSigningSync(one + nanoseconds(1)), one + weeks(1));
}

TEST(SigningSchedule, OtherDaysOfTheWeek) {
  EXPECT_NEXT_SYNC(Utc(2026, 5, 6, 12), Utc(2026, 5, 7, 1));  // Wednesday
  EXPECT_NEXT_SYNC(Utc(2026, 5, 6, 23, 59, 59), Utc(2026, 5, 7, 1));
  EXPECT_NEXT_SYNC(Utc(2026, 5, 8, 0, 30), Utc(2026, 5, 14, 1));  // Friday
  EXPECT_NEXT_SYNC(Utc(2026, 5, 10, 1), Utc(2026, 5, 14, 1));     // Sunday
  EXPECT_NEXT_SYNC(Utc(2026, 5, 11, 1), Utc(2026, 5, 14, 1));     // Monday
}

TEST(SigningSchedule, AlwaysAThursdayOneOClockWithinAWeek) {
  using namespace std::chrono;
  auto now = Utc(2026, 1, 1);
  for (int i = 0; i < 24 * 7 * 3; ++i, now += minutes(61)) {
    const auto next = NextSigningSync(now);
    ASSERT_GT(next, now);
    ASSERT_LE(next - now, weeks(1));
    const sys_days day = floor<days>(next);
    ASSERT_EQ(weekday(day), Thursday);
    ASSERT_EQ(next - day, hours(1));
  }
}

TEST(SigningSchedule, YearEnd) {
  // 2026-12-31 is a Thursday.
  EXPECT_NEXT_SYNC(Utc(2026, 12, 31, 0, 30), Utc(2026, 12, 31, 1));
  EXPECT_NEXT_SYNC(Utc(2026, 12, 31, 2), Utc(2027, 1, 7, 1));
  EXPECT_NEXT_SYNC(Utc(2027, 1, 1), Utc(2027, 1, 7, 1));
  EXPECT_NEXT_SYNC(Utc(2026, 12, 28), Utc(2026, 12, 31, 1));
}

TEST(SigningSchedule, LeapDay) {
  // 2028-02-29 is a Tuesday; the Thursday after is 2028-03-02.
  EXPECT_NEXT_SYNC(Utc(2028, 2, 29), Utc(2028, 3, 2, 1));
  EXPECT_NEXT_SYNC(Utc(2028, 2, 29, 23, 59, 59), Utc(2028, 3, 2, 1));
  EXPECT_NEXT_SYNC(Utc(2028, 2, 24, 2), Utc(2028, 3, 2, 1));  // across the leap day
  EXPECT_NEXT_SYNC(Utc(2028, 2, 28, 12), Utc(2028, 3, 2, 1));
}

TEST(SigningSchedule, BeforeTheEpoch) {
  // 1970-01-01 is a Thursday; times before it are negative and must floor, not truncate.
  EXPECT_NEXT_SYNC(Utc(1969, 12, 31, 12), Utc(1970, 1, 1, 1));
  EXPECT_NEXT_SYNC(Utc(1970, 1, 1, 0, 30), Utc(1970, 1, 1, 1));
  EXPECT_NEXT_SYNC(Utc(1969, 12, 25, 0, 30), Utc(1969, 12, 25, 1));
}

TEST(SpreadOffset, SpreadsEvenlyAndRoundsDown) {
  const milliseconds window(1000);
  EXPECT_EQ(SpreadOffset(0, 0, window), milliseconds(0));
  EXPECT_EQ(SpreadOffset(5, 0, window), milliseconds(0));
  EXPECT_EQ(SpreadOffset(0, 4, window), milliseconds(0));
  EXPECT_EQ(SpreadOffset(1, 4, window), milliseconds(250));
  EXPECT_EQ(SpreadOffset(3, 4, window), milliseconds(750));
  EXPECT_EQ(SpreadOffset(1, 3, window), milliseconds(333));
  EXPECT_EQ(SpreadOffset(2, 3, window), milliseconds(666));
  EXPECT_EQ(SpreadOffset(0, 1, window), milliseconds(0));
  EXPECT_EQ(SpreadOffset(1, 2, milliseconds(0)), milliseconds(0));
  EXPECT_EQ(SpreadOffset(1, 2, milliseconds(-1000)), milliseconds(0));
  // More items than milliseconds: several share an offset, still in order.
  EXPECT_EQ(SpreadOffset(2, 10, milliseconds(3)), milliseconds(0));
  EXPECT_EQ(SpreadOffset(9, 10, milliseconds(3)), milliseconds(2));
}

TEST(SpreadOffset, MonotonicInsideTheWindow) {
  const milliseconds window = std::chrono::hours(1);
  const size_t count = 20000 * 3;  // zones × secondaries
  milliseconds previous(-1);
  for (size_t i = 0; i < count; ++i) {
    const milliseconds offset = SpreadOffset(i, count, window);
    ASSERT_GE(offset, previous);
    ASSERT_LT(offset, window);
    previous = offset;
  }
}

TEST(SpreadOffset, LargeValuesDoNotOverflow) {
  // index * window would overflow 64 bits here; the exact result is index * window / count.
  EXPECT_EQ(SpreadOffset(999'999'999, 1'000'000'000, milliseconds(1'000'000'000'000)),
            milliseconds(999'999'999'000));
  EXPECT_EQ(SpreadOffset(999'999, 1'000'000, std::chrono::hours(24 * 7)),
            milliseconds(604'799'395));  // 999999 * 604800000 / 1000000 = 604799395.2
  const size_t huge = size_t{1} << 40;
  EXPECT_EQ(SpreadOffset(huge - 1, huge, milliseconds(int64_t{1} << 40)),
            milliseconds((int64_t{1} << 40) - 1));
}

// ---------------------------------------------------------------------------------------------
// DiffZones

using SerialMap = std::map<std::string, uint32_t>;

TEST(DiffZones, ClassifiesEveryZone) {
  const SerialMap primary = {{"a.org.", 1}, {"b.org.", 5}, {"c.org.", 7}, {"d.org.", 9}};
  const SerialMap secondary = {{"b.org.", 5}, {"c.org.", 6}, {"d.org.", 10}, {"e.org.", 1}};
  const ZoneDiff diff = DiffZones(primary, secondary);
  EXPECT_EQ(diff.missing, std::vector<std::string>({"a.org."}));
  EXPECT_EQ(diff.differing, std::vector<std::string>({"c.org.", "d.org."}));  // behind, ahead
  EXPECT_EQ(diff.stray, std::vector<std::string>({"e.org."}));
  EXPECT_EQ(diff.in_sync, 1u);
}

TEST(DiffZones, SerialDifferenceInEitherDirectionAcrossWraparound) {
  // RFC 1982: 1 is ahead of 0xFFFFFFFF. Ahead or behind, it is out of sync (docs/architecture.md,
  // "The health-checker").
  const ZoneDiff behind = DiffZones({{"z.", 1}}, {{"z.", 0xFFFFFFFFu}});
  const ZoneDiff ahead = DiffZones({{"z.", 0xFFFFFFFFu}}, {{"z.", 1}});
  const ZoneDiff high = DiffZones({{"z.", 0x80000000u}}, {{"z.", 0x80000000u}});
  EXPECT_EQ(behind.differing, std::vector<std::string>({"z."}));
  EXPECT_EQ(ahead.differing, std::vector<std::string>({"z."}));
  EXPECT_TRUE(high.differing.empty());
  EXPECT_EQ(high.in_sync, 1u);
}

TEST(SecondaryZoneCounts, ImproveZoneByZoneBetweenStateMaps) {
  const SerialMap primary = {{"a.org.", 1}, {"b.org.", 5}, {"c.org.", 7}, {"d.org.", 9}};
  const SerialMap secondary = {{"b.org.", 5}, {"c.org.", 6}, {"e.org.", 1}};
  const SecondaryZoneCounts start = SecondaryZoneCounts::FromDiff(DiffZones(primary, secondary));
  EXPECT_EQ(start.in_sync, 1u);
  EXPECT_EQ(start.behind, std::set<std::string>({"c.org."}));
  EXPECT_EQ(start.missing, std::set<std::string>({"a.org.", "d.org."}));
  EXPECT_EQ(start.stray, std::set<std::string>({"e.org."}));

  struct Row {
    const char* what;
    std::string zone;
    bool in_sync;  // FoundInSync, else FoundGone
    bool moved;
    size_t in_sync_after, behind_after, missing_after, stray_after;
  };
  const Row rows[] = {
      {"a zone behind synced", "c.org.", true, true, 2, 0, 2, 1},
      {"a missing zone synced", "a.org.", true, true, 2, 1, 1, 1},
      {"a zone in sync synced again", "b.org.", true, false, 1, 1, 2, 1},
      {"a zone created since the map", "new.org.", true, false, 1, 1, 2, 1},
      {"a stray zone deleted", "e.org.", false, true, 1, 1, 2, 0},
      {"a missing zone deleted on the primary", "d.org.", false, true, 1, 1, 1, 1},
      {"a zone behind deleted on the primary", "c.org.", false, true, 1, 0, 2, 1},
      {"an unknown zone deleted", "x.org.", false, false, 1, 1, 2, 1},
  };
  for (const Row& row : rows) {
    SecondaryZoneCounts counts = start;
    EXPECT_EQ(row.in_sync ? counts.FoundInSync(row.zone) : counts.FoundGone(row.zone), row.moved)
        << row.what;
    EXPECT_EQ(counts.in_sync, row.in_sync_after) << row.what;
    EXPECT_EQ(counts.behind.size(), row.behind_after) << row.what;
    EXPECT_EQ(counts.missing.size(), row.missing_after) << row.what;
    EXPECT_EQ(counts.stray.size(), row.stray_after) << row.what;
  }
}

TEST(DiffZones, EmptySides) {
  const SerialMap some = {{"a.", 1}, {"b.", 2}};
  const ZoneDiff none = DiffZones({}, {});
  EXPECT_TRUE(none.missing.empty() && none.differing.empty() && none.stray.empty());
  EXPECT_EQ(none.in_sync, 0u);
  EXPECT_EQ(DiffZones(some, {}).missing, std::vector<std::string>({"a.", "b."}));
  EXPECT_TRUE(DiffZones(some, {}).stray.empty());
  EXPECT_EQ(DiffZones({}, some).stray, std::vector<std::string>({"a.", "b."}));
  EXPECT_TRUE(DiffZones({}, some).missing.empty());
  const ZoneDiff same = DiffZones(some, some);
  EXPECT_EQ(same.in_sync, 2u);
  EXPECT_TRUE(same.missing.empty() && same.differing.empty() && same.stray.empty());
}

TEST(DiffZones, InterleavedNamesIncludingRfc2317) {
  const SerialMap primary = {
      {"0/25.2.0.192.in-addr.arpa.", 3}, {"a.", 1}, {"example.com.", 2}, {"zz.", 1}};
  const SerialMap secondary = {
      {"0/25.2.0.192.in-addr.arpa.", 3}, {"b.", 1}, {"example.com.", 2}, {"zzz.", 1}};
  const ZoneDiff diff = DiffZones(primary, secondary);
  EXPECT_EQ(diff.missing, std::vector<std::string>({"a.", "zz."}));
  EXPECT_EQ(diff.stray, std::vector<std::string>({"b.", "zzz."}));
  EXPECT_TRUE(diff.differing.empty());
  EXPECT_EQ(diff.in_sync, 2u);
}

TEST(DiffZones, TwentyThousandZonesTimesThreeSecondaries) {
  constexpr int kZones = 20000;
  SerialMap primary;
  for (int i = 0; i < kZones; ++i) {
    primary.emplace("zone" + std::to_string(i) + ".example.", 2026010100u + i % 97);
  }
  // Secondary k: every 100th zone missing, every 250th differing, 50 stray zones.
  std::vector<SerialMap> secondaries(3);
  for (int k = 0; k < 3; ++k) {
    int i = 0;
    for (const auto& [zone, serial] : primary) {
      if ((i + k) % 100 != 0)
        secondaries[k].emplace(zone, (i + k) % 250 == 1 ? serial + 1 : serial);
      ++i;
    }
    for (int s = 0; s < 50; ++s) secondaries[k].emplace("stray" + std::to_string(s) + ".", 1);
  }
  const auto start = steady_clock::now();
  std::vector<ZoneDiff> diffs;
  for (const auto& secondary : secondaries) diffs.push_back(DiffZones(primary, secondary));
  const auto elapsed = std::chrono::duration<double, std::milli>(steady_clock::now() - start);
  std::printf("[ TIMING   ] DiffZones: %d zones x 3 secondaries in %.3f ms\n", kZones,
              elapsed.count());
  for (const auto& diff : diffs) {
    EXPECT_EQ(diff.missing.size(), 200u);
    EXPECT_EQ(diff.differing.size(), 80u);
    EXPECT_EQ(diff.stray.size(), 50u);
    EXPECT_EQ(diff.in_sync + diff.missing.size() + diff.differing.size(),
              static_cast<size_t>(kZones));
  }
}

// ---------------------------------------------------------------------------------------------
// MassDeletionGuard

TEST(MassDeletionGuard, FirstCycleRefusesOnlyNoAnswerAndEmpty) {
  MassDeletionGuard guard(0.5);
  const Status no_answer = guard.Check(std::nullopt);
  EXPECT_EQ(no_answer.code(), StatusCode::kUnavailable);
  EXPECT_NE(no_answer.message().find("did not answer"), std::string::npos) << no_answer.message();
  const Status empty = guard.Check(0);
  EXPECT_EQ(empty.code(), StatusCode::kUnavailable);
  EXPECT_NE(empty.message().find("empty"), std::string::npos) << empty.message();
  EXPECT_FALSE(guard.baseline().has_value());
  EXPECT_TRUE(guard.Check(3).ok());
  EXPECT_EQ(guard.baseline(), 3u);
}

TEST(MassDeletionGuard, SuddenShrinkIsRefusedAndKeepsTheBaseline) {
  MassDeletionGuard guard(0.5);
  ASSERT_TRUE(guard.Check(100).ok());
  const Status shrunk = guard.Check(40);
  EXPECT_EQ(shrunk.code(), StatusCode::kUnavailable);
  EXPECT_NE(shrunk.message().find("from 100 to 40"), std::string::npos) << shrunk.message();
  EXPECT_NE(shrunk.message().find("50.0%"), std::string::npos) << shrunk.message();
  EXPECT_EQ(guard.baseline(), 100u);
  EXPECT_FALSE(guard.Check(40).ok()) << "a refused cycle must not become the new baseline";
  EXPECT_TRUE(guard.Check(100).ok());
}

TEST(MassDeletionGuard, ShrinkOfExactlyTheShareIsAccepted) {
  MassDeletionGuard at(0.5);
  ASSERT_TRUE(at.Check(100).ok());
  EXPECT_TRUE(at.Check(50).ok());
  MassDeletionGuard over(0.5);
  ASSERT_TRUE(over.Check(100).ok());
  EXPECT_FALSE(over.Check(49).ok());
}

TEST(MassDeletionGuard, SlowShrinkInStepsIsAcceptedStepByStep) {
  MassDeletionGuard guard(0.5);
  for (size_t count : {100u, 80u, 60u, 45u, 30u, 16u, 8u, 4u, 2u, 1u}) {
    EXPECT_TRUE(guard.Check(count).ok()) << count;
    EXPECT_EQ(guard.baseline(), count);
  }
}

TEST(MassDeletionGuard, GrowthIsAcceptedAndRaisesTheBaseline) {
  MassDeletionGuard guard(0.5);
  ASSERT_TRUE(guard.Check(10).ok());
  ASSERT_TRUE(guard.Check(1000).ok());
  EXPECT_EQ(guard.baseline(), 1000u);
  EXPECT_FALSE(guard.Check(10).ok());
}

TEST(MassDeletionGuard, NoAnswerOrEmptyKeepsTheBaseline) {
  MassDeletionGuard guard(0.5);
  ASSERT_TRUE(guard.Check(100).ok());
  EXPECT_FALSE(guard.Check(std::nullopt).ok());
  EXPECT_FALSE(guard.Check(0).ok());
  EXPECT_EQ(guard.baseline(), 100u);
  EXPECT_FALSE(guard.Check(40).ok());
  EXPECT_TRUE(guard.Check(90).ok());
}

TEST(MassDeletionGuard, ResetAcceptsAnIntendedMassDeletion) {
  MassDeletionGuard guard(0.5);
  ASSERT_TRUE(guard.Check(100).ok());
  ASSERT_FALSE(guard.Check(10).ok());
  guard.Reset();
  EXPECT_FALSE(guard.baseline().has_value());
  EXPECT_FALSE(guard.Check(0).ok());
  EXPECT_TRUE(guard.Check(10).ok());
}

TEST(MassDeletionGuard, ShareIsClamped) {
  MassDeletionGuard strict(0.0);
  ASSERT_TRUE(strict.Check(100).ok());
  EXPECT_FALSE(strict.Check(99).ok());
  EXPECT_TRUE(strict.Check(100).ok());
  MassDeletionGuard negative(-1.0);
  ASSERT_TRUE(negative.Check(100).ok());
  EXPECT_FALSE(negative.Check(99).ok());
  MassDeletionGuard lax(1.0);
  ASSERT_TRUE(lax.Check(100).ok());
  EXPECT_TRUE(lax.Check(1).ok());
  EXPECT_FALSE(lax.Check(0).ok());
  MassDeletionGuard above(2.0);
  ASSERT_TRUE(above.Check(100).ok());
  EXPECT_TRUE(above.Check(1).ok());
  MassDeletionGuard nan(std::nan(""));
  ASSERT_TRUE(nan.Check(100).ok());
  EXPECT_FALSE(nan.Check(99).ok());
}

// ---------------------------------------------------------------------------------------------
// MassDeletionVerdict: the guard's rule as a table

TEST(MassDeletionVerdict, Table) {
  constexpr std::optional<size_t> kNone;
  struct Case {
    double share;
    std::optional<size_t> baseline;
    std::optional<size_t> count;
    bool allowed;
    const char* says;  // part of the refusal's message
  };
  const Case cases[] = {
      {0.5, kNone, kNone, false, "did not answer"},
      {0.5, 100, kNone, false, "did not answer"},
      {0.5, kNone, 0, false, "empty"},
      {0.5, 100, 0, false, "empty"},
      {1.0, 100, 0, false, "empty"},  // even a share of 1 never accepts an empty list
      {0.5, kNone, 1, true, ""},      // first cycle: any non-empty list
      {0.5, kNone, 100000, true, ""},
      {0.5, 100, 100, true, ""},
      {0.5, 100, 1000, true, ""},  // growth
      {0.5, 100, 50, true, ""},    // exactly the share
      {0.5, 100, 49, false, "from 100 to 49"},
      {0.5, 100, 40, false, "(60.0%), more than the allowed 50.0%"},
      {0.0, 100, 99, false, "from 100 to 99"},
      {0.0, 100, 100, true, ""},
      {-1.0, 100, 99, false, "allowed 0.0%"},  // clamped to 0
      {1.0, 100, 1, true, ""},
      {2.0, 100, 1, true, ""},  // clamped to 1
      {std::nan(""), 100, 99, false, "allowed 0.0%"},
      {0.1, 10, 9, true, ""},
      {0.1, 10, 8, false, "from 10 to 8"},
  };
  for (const Case& c : cases) {
    const Status verdict = MassDeletionVerdict(c.share, c.baseline, c.count);
    const std::string row = "share " + std::to_string(c.share) + ", baseline " +
                            (c.baseline ? std::to_string(*c.baseline) : "none") + ", count " +
                            (c.count ? std::to_string(*c.count) : "none");
    EXPECT_EQ(verdict.ok(), c.allowed) << row << ": " << verdict.message();
    if (!c.allowed) {
      EXPECT_EQ(verdict.code(), StatusCode::kUnavailable) << row;
      EXPECT_NE(verdict.message().find(c.says), std::string::npos)
          << row << ": " << verdict.message();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// What to announce

using Announcements = std::vector<Announcement>;
constexpr ZoneEventType kAdd = ZoneEventType::kAdd;
constexpr ZoneEventType kChange = ZoneEventType::kChange;
constexpr ZoneEventType kDelete = ZoneEventType::kDelete;

TEST(PlanSecondaryRepair, Table) {
  struct Case {
    const char* name;
    SerialMap primary;
    std::set<std::string> unknown;
    SerialMap secondary;
    bool announce_stray;
    Announcements expected;
    size_t in_sync;
  };
  const Case cases[] = {
      {"in sync", {{"a.", 1}, {"b.", 2}}, {}, {{"a.", 1}, {"b.", 2}}, true, {}, 2},
      {"missing", {{"a.", 1}}, {}, {}, true, {{kAdd, "a."}}, 0},
      {"behind", {{"a.", 2}}, {}, {{"a.", 1}}, true, {{kChange, "a."}}, 0},
      {"ahead", {{"a.", 1}}, {}, {{"a.", 2}}, true, {{kChange, "a."}}, 0},
      {"across wraparound", {{"a.", 1}}, {}, {{"a.", 0xFFFFFFFFu}}, true, {{kChange, "a."}}, 0},
      {"stray", {{"a.", 1}}, {}, {{"a.", 1}, {"s.", 1}}, true, {{kDelete, "s."}}, 1},
      {"stray, guard refused", {{"a.", 1}}, {}, {{"a.", 1}, {"s.", 1}}, false, {}, 1},
      {"guard refused: adds and changes still go",
       {{"a.", 1}, {"b.", 2}},
       {},
       {{"b.", 1}, {"s.", 1}},
       false,
       {{kAdd, "a."}, {kChange, "b."}},
       0},
      {"adds, then changes, then deletes, each by zone",
       {{"a.", 1}, {"c.", 3}, {"d.", 4}, {"f.", 6}},
       {},
       {{"b.", 1}, {"c.", 1}, {"d.", 4}, {"e.", 1}, {"f.", 7}},
       true,
       {{kAdd, "a."}, {kChange, "c."}, {kChange, "f."}, {kDelete, "b."}, {kDelete, "e."}},
       1},
      {"unreadable on the primary: never deleted from the secondary",
       {{"a.", 1}},
       {"u."},
       {{"a.", 1}, {"u.", 5}},
       true,
       {},
       1},
      {"unreadable on the primary, absent on the secondary: no add", {}, {"u."}, {}, true, {}, 0},
      {"empty secondary", {{"a.", 1}, {"b.", 1}}, {}, {}, false, {{kAdd, "a."}, {kAdd, "b."}}, 0},
      {"RFC 2317 names",
       {{"0/25.2.0.192.in-addr.arpa.", 3}},
       {},
       {{"0/25.2.0.192.in-addr.arpa.", 2}},
       true,
       {{kChange, "0/25.2.0.192.in-addr.arpa."}},
       0},
  };
  for (const Case& c : cases) {
    const SecondaryRepair repair =
        PlanSecondaryRepair(c.primary, c.unknown, c.secondary, c.announce_stray);
    EXPECT_EQ(repair.announcements, c.expected) << c.name;
    EXPECT_EQ(repair.diff.in_sync, c.in_sync) << c.name;
  }
}

TEST(PlanSecondaryRepair, DiffCountsStrayEvenWhenTheGuardRefused) {
  const SecondaryRepair repair =
      PlanSecondaryRepair({{"a.", 1}, {"b.", 2}}, {}, {{"b.", 3}, {"s.", 1}, {"t.", 1}}, false);
  EXPECT_EQ(repair.diff.missing, std::vector<std::string>({"a."}));
  EXPECT_EQ(repair.diff.differing, std::vector<std::string>({"b."}));
  EXPECT_EQ(repair.diff.stray, std::vector<std::string>({"s.", "t."}));
}

TEST(EventCheckAnnouncement, Table) {
  constexpr std::optional<uint32_t> kLacks;
  constexpr std::optional<ZoneEventType> kNothing;
  struct Case {
    std::optional<uint32_t> primary;
    std::optional<uint32_t> secondary;
    std::optional<ZoneEventType> expected;
  };
  const Case cases[] = {
      {5, kLacks, kAdd},         {5, 5, kNothing},           {5, 4, kChange},
      {5, 6, kChange},  // behind or ahead
      {1, 0xFFFFFFFFu, kChange}, {0, 0, kNothing},           {kLacks, 5, kDelete},
      {kLacks, 0, kDelete},      {kLacks, kLacks, kNothing},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EventCheckAnnouncement(c.primary, c.secondary), c.expected)
        << "primary " << (c.primary ? std::to_string(*c.primary) : "lacks") << ", secondary "
        << (c.secondary ? std::to_string(*c.secondary) : "lacks");
  }
}

TEST(PlanRefresh, Table) {
  struct Case {
    const char* name;
    SerialMap previous;
    SerialMap current;
    std::set<std::string> unknown;
    std::set<std::string> pending;
    CheckedSerials checked;
    bool announce_deletions;
    Announcements expected;
  };
  const Case cases[] = {
      {"nothing moved", {{"a.", 1}}, {{"a.", 1}}, {}, {}, {}, true, {}},
      {"appeared", {{"a.", 1}}, {{"a.", 1}, {"b.", 1}}, {}, {}, {}, true, {{kAdd, "b."}}},
      {"serial moved", {{"a.", 1}}, {{"a.", 2}}, {}, {}, {}, true, {{kChange, "a."}}},
      {"serial moved back", {{"a.", 2}}, {{"a.", 1}}, {}, {}, {}, true, {{kChange, "a."}}},
      {"vanished", {{"a.", 1}, {"b.", 1}}, {{"a.", 1}}, {}, {}, {}, true, {{kDelete, "b."}}},
      {"vanished, guard refused", {{"a.", 1}, {"b.", 1}}, {{"a.", 1}}, {}, {}, {}, false, {}},
      {"unreadable now is not vanished",
       {{"a.", 1}, {"u.", 1}},
       {{"a.", 1}},
       {"u."},
       {},
       {},
       true,
       {}},
      {"zones whose event check is still due are left to it",
       {{"a.", 1}, {"d.", 1}},
       {{"a.", 2}, {"n.", 1}},
       {},
       {"a.", "d.", "n."},
       {},
       true,
       {}},
      // Issue 10: an evented zone was skipped, so a write that bypassed the proxy after the
      // event's check was announced by nothing but the periodic check.
      {"moved after its event check: announced",
       {{"a.", 1}},
       {{"a.", 3}},
       {},
       {},
       {{"a.", 2}},
       true,
       {{kChange, "a."}}},
      {"the serial its event check compared: not again",
       {{"a.", 1}},
       {{"a.", 2}},
       {},
       {},
       {{"a.", 2}},
       true,
       {}},
      {"created through the proxy and checked: not again",
       {},
       {{"n.", 1}},
       {},
       {},
       {{"n.", 1}},
       true,
       {}},
      {"checked absent, served now: add",
       {},
       {{"n.", 1}},
       {},
       {},
       {{"n.", std::nullopt}},
       true,
       {{kAdd, "n."}}},
      {"deleted through the proxy and checked: not again",
       {{"a.", 1}, {"d.", 1}},
       {{"a.", 1}},
       {},
       {},
       {{"d.", std::nullopt}},
       true,
       {}},
      {"checked served, gone now: delete",
       {{"a.", 1}},
       {{"a.", 1}},
       {},
       {},
       {{"d.", 4}},
       true,
       {{kDelete, "d."}}},
      {"guard refused: adds and changes still go",
       {{"a.", 1}, {"b.", 1}, {"c.", 1}},
       {{"a.", 2}, {"z.", 1}},
       {},
       {},
       {},
       false,
       {{kChange, "a."}, {kAdd, "z."}}},
      {"adds and changes by zone, then deletes",
       {{"b.", 1}, {"c.", 1}, {"e.", 1}},
       {{"a.", 1}, {"c.", 2}, {"d.", 1}},
       {},
       {},
       {},
       true,
       {{kAdd, "a."}, {kChange, "c."}, {kAdd, "d."}, {kDelete, "b."}, {kDelete, "e."}}},
      {"everything vanished", {{"a.", 1}}, {}, {}, {}, {}, true, {{kDelete, "a."}}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(
        PlanRefresh(c.previous, c.current, c.unknown, c.pending, c.checked, c.announce_deletions),
        c.expected)
        << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Catalog mode (catalog_plan.h)

CatalogZone Version(uint32_t serial) { return {.serial = serial, .digest = "d", .deleted = false}; }
CatalogZone Gone(uint32_t serial) { return {.serial = serial, .digest = "", .deleted = true}; }

TEST(PlanCatalogRepair, Table) {
  struct Case {
    const char* name;
    SerialMap primary;
    std::set<std::string> unknown;
    CatalogZones catalog;
    bool announce_deletions;
    Announcements expected;
    std::vector<std::string> differing;
  };
  const Case cases[] = {
      {"agree", {{"a.", 1}}, {}, {{"a.", Version(1)}}, true, {}, {}},
      {"no entry: add", {{"a.", 1}}, {}, {}, true, {{kAdd, "a."}}, {"a."}},
      {"tombstone while the primary has it: add",
       {{"a.", 1}},
       {},
       {{"a.", Gone(1)}},
       true,
       {{kAdd, "a."}},
       {"a."}},
      {"entry behind: change",
       {{"a.", 2}},
       {},
       {{"a.", Version(1)}},
       true,
       {{kChange, "a."}},
       {"a."}},
      {"entry ahead: change",
       {{"a.", 1}},
       {},
       {{"a.", Version(2)}},
       true,
       {{kChange, "a."}},
       {"a."}},
      {"live entry the primary lacks: delete",
       {},
       {},
       {{"a.", Version(1)}},
       true,
       {{kDelete, "a."}},
       {"a."}},
      {"... held back by the guard, still counted",
       {},
       {},
       {{"a.", Version(1)}},
       false,
       {},
       {"a."}},
      {"tombstone the primary lacks: agree", {}, {}, {{"a.", Gone(1)}}, true, {}, {}},
      {"unreadable zones are left out", {}, {"a.", "b."}, {{"a.", Version(1)}}, true, {}, {}},
      {"adds, changes, deletes, each by zone",
       {{"b.", 1}, {"c.", 2}, {"e.", 1}, {"a.", 1}},
       {},
       {{"c.", Version(1)}, {"d.", Version(1)}, {"f.", Version(1)}, {"e.", Gone(1)}},
       true,
       {{kAdd, "a."},
        {kAdd, "b."},
        {kAdd, "e."},
        {kChange, "c."},
        {kDelete, "d."},
        {kDelete, "f."}},
       {"a.", "b.", "c.", "d.", "e.", "f."}},
  };
  for (const Case& c : cases) {
    const CatalogRepair repair =
        PlanCatalogRepair(c.primary, c.unknown, c.catalog, c.announce_deletions);
    EXPECT_EQ(repair.announcements, c.expected) << c.name;
    EXPECT_EQ(repair.differing, c.differing) << c.name;
  }
}

TEST(SecondaryComparisonBasis, Table) {
  struct Case {
    const char* name;
    SerialMap primary;
    std::set<std::string> unknown;
    CatalogZones catalog;
    ComparisonBasis expected;
  };
  const Case cases[] = {
      {"the primary's serials", {{"a.", 2}}, {}, {{"a.", Version(2)}}, {{{"a.", 2}}, {}}},
      {"catalog behind: the primary's (the catalog is being repaired)",
       {{"a.", 2}},
       {},
       {{"a.", Version(1)}},
       {{{"a.", 2}}, {}}},
      {"a stray catalog entry is not a zone to have", {}, {}, {{"a.", Version(1)}}, {{}, {}}},
      {"unreadable with a version: the catalog's serial",
       {},
       {"a."},
       {{"a.", Version(7)}},
       {{{"a.", 7}}, {}}},
      {"unreadable with a tombstone or none: still unknown",
       {},
       {"a.", "b."},
       {{"a.", Gone(7)}},
       {{}, {"a.", "b."}}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SecondaryComparisonBasis(c.primary, c.unknown, c.catalog), c.expected) << c.name;
  }
}

TEST(CatalogEventCheckAnnouncement, Table) {
  struct Case {
    std::optional<uint32_t> primary;
    std::optional<CatalogZone> catalog;
    std::optional<ZoneEventType> expected;
  };
  const Case cases[] = {
      {1, Version(1), std::nullopt},
      {2, Version(1), kChange},
      {1, Version(2), kChange},
      {1, std::nullopt, kAdd},
      {1, Gone(1), kAdd},
      {std::nullopt, Version(1), kDelete},
      {std::nullopt, Gone(1), std::nullopt},
      {std::nullopt, std::nullopt, std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CatalogEventCheckAnnouncement(c.primary, c.catalog), c.expected)
        << "primary " << c.primary.value_or(0) << " catalog "
        << (c.catalog ? std::to_string(c.catalog->serial) + (c.catalog->deleted ? " gone" : "")
                      : "none");
  }
}

TEST(CatalogRepairDue, Table) {
  const steady_clock::time_point t0{std::chrono::hours(1)};
  const milliseconds gap{300000};
  struct Case {
    std::optional<steady_clock::time_point> last;
    steady_clock::time_point now;
    bool due;
  };
  const Case cases[] = {
      {std::nullopt, t0, true},
      {t0, t0, false},
      {t0, t0 + milliseconds(20000), false},  // its own broadcast checked again
      {t0, t0 + gap - milliseconds(1), false},
      {t0, t0 + gap, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CatalogRepairDue(c.last, c.now, gap), c.due)
        << (c.last ? std::to_string((c.now - *c.last).count()) : "never");
  }
}

TEST(CanonicalZoneDigest, Table) {
  const std::string soa = "z.\t3600\tIN\tSOA\tns. h. 2 1 1 1 1";
  const std::string a = "www.z.\t60\tIN\tA\t192.0.2.1";
  const std::string sig = "www.z.\t60\tIN\tRRSIG\tA 13 3 60 2 1 1 z. c2ln";
  const std::string reference =
      CanonicalZoneDigest(soa + "\n" + a + "\n" + sig + "\n" + soa + "\n");
  struct Case {
    const char* name;
    std::string text;
    bool same;
  };
  const Case cases[] = {
      {"the same transfer", soa + "\n" + a + "\n" + sig + "\n" + soa + "\n", true},
      {"another order (a signed zone from a secondary)",
       soa + "\n" + sig + "\n" + a + "\n" + soa + "\n", true},
      {"without the closing SOA", soa + "\n" + a + "\n" + sig + "\n", true},
      {"no final line break, CRLF lines", soa + "\r\n" + a + "\r\n" + sig, true},
      {"a record missing", soa + "\n" + a + "\n" + soa + "\n", false},
      {"other content", soa + "\n" + "www.z.\t60\tIN\tA\t192.0.2.9\n" + sig + "\n", false},
      {"another TTL", soa + "\n" + "www.z.\t61\tIN\tA\t192.0.2.1\n" + sig + "\n", false},
      {"a record twice", soa + "\n" + a + "\n" + a + "\n" + sig + "\n", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CanonicalZoneDigest(c.text) == reference, c.same) << c.name;
  }
  EXPECT_EQ(CanonicalZoneDigest("").size(), 64u);
}

TEST(PickDigestSample, Table) {
  using Zones = std::vector<std::string>;
  struct Case {
    Zones candidates;
    size_t cursor;
    size_t count;
    DigestSample expected;
  };
  const Case cases[] = {
      {{}, 3, 4, {{}, 0}},
      {{"a.", "b.", "c."}, 0, 2, {{"a.", "b."}, 2}},
      {{"a.", "b.", "c."}, 2, 2, {{"c.", "a."}, 1}},        // wraps around
      {{"a.", "b.", "c."}, 1, 9, {{"b.", "c.", "a."}, 1}},  // each at most once
      {{"a.", "b."}, 7, 1, {{"b."}, 0}},  // a cursor past the end (fewer zones now)
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PickDigestSample(c.candidates, c.cursor, c.count), c.expected)
        << c.candidates.size() << " zones, cursor " << c.cursor << ", count " << c.count;
  }
}

// ---------------------------------------------------------------------------------------------
// Check rules

TEST(NeedsNsec3Param, Table) {
  struct Case {
    std::string nsec3param;
    bool narrow;
    bool needs;
  };
  const Case cases[] = {
      {"1 0 0 -", false, false},  {"1 0 0 -", true, true},  // narrow transfers empty
      {"", false, true},                                    // NSEC
      {"1 0 10 ab", false, true}, {"1 1 0 -", false, true},
      {"1 0 0 ab", false, true},  {"1 0 0 - ", false, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NeedsNsec3Param(c.nsec3param, c.narrow), c.needs)
        << '"' << c.nsec3param << "\" narrow " << c.narrow;
  }
}

TEST(SignatureExpiresSoon, Table) {
  using std::chrono::seconds;
  const auto now = std::chrono::system_clock::time_point(seconds(1'800'000'000));
  const milliseconds week = std::chrono::hours(24 * 7);
  struct Case {
    int64_t expiration;
    milliseconds window;
    bool expires_soon;
  };
  const Case cases[] = {
      {0, week, false},  // no RRSIG seen
      {1'800'000'000 + 604'800, week, false},
      {1'800'000'000 + 604'799, week, true},
      {1'800'000'000 + 86'400, week, true},
      {1'800'000'000, week, true},
      {1'700'000'000, week, true},  // already expired
      {1'800'000'001, milliseconds(0), false},
      {1'800'000'000, milliseconds(0), false},
      {1'799'999'999, milliseconds(0), true},
      {1'800'000'000 + 30 * 86'400, week, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SignatureExpiresSoon(c.expiration, now, c.window), c.expires_soon)
        << c.expiration << " within " << c.window.count() << " ms";
  }
}

TEST(PrimaryAnswerUsable, Table) {
  struct Case {
    size_t listed, unreadable;
    bool usable;
  };
  const Case cases[] = {
      {0, 0, true},  {10, 0, true},   {10, 1, true},    {10, 2, false},        {1, 1, false},
      {9, 1, false}, {100, 10, true}, {100, 11, false}, {100000, 10000, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PrimaryAnswerUsable(c.listed, c.unreadable), c.usable)
        << c.unreadable << " of " << c.listed;
  }
}

// ---------------------------------------------------------------------------------------------
// CheckSchedule: a week of the scheduler's decisions without waiting

class CheckScheduleTest : public ::testing::Test {
 protected:
  using Seconds = std::chrono::seconds;
  static constexpr TimedWorkflow kPeriodic = TimedWorkflow::kPeriodicCheck;
  static constexpr TimedWorkflow kRefresh = TimedWorkflow::kRefresh;
  static constexpr TimedWorkflow kNsec3 = TimedWorkflow::kNsec3Check;
  static constexpr TimedWorkflow kSigning = TimedWorkflow::kSigningSync;

  static CheckIntervals Intervals(bool nsec3_enabled = true) {
    return {.first_periodic = Seconds(2),
            .periodic = Seconds(300),
            .refresh = Seconds(60),
            .nsec3 = Seconds(3600),
            .nsec3_enabled = nsec3_enabled};
  }

  // Which workflows are due `after` the start (both clocks moved alike).
  std::vector<TimedWorkflow> DueAt(const CheckSchedule& schedule, Clock::Duration after) const {
    std::vector<TimedWorkflow> due;
    for (TimedWorkflow w : {kPeriodic, kRefresh, kNsec3, kSigning}) {
      if (schedule.IsDue(
              w, start_ + after,
              wall_start_ + std::chrono::duration_cast<Clock::WallTime::duration>(after)))
        due.push_back(w);
    }
    return due;
  }

  const Clock::TimePoint start_ = Clock::TimePoint(std::chrono::hours(1000));
  // Wednesday 2026-05-06 23:00:00 UTC: the signing sync is due two hours later.
  const Clock::WallTime wall_start_ = Utc(2026, 5, 6, 23);
};

TEST_F(CheckScheduleTest, WhatIsDueWhenTable) {
  using std::chrono::hours;
  const CheckSchedule schedule(Intervals(), start_, wall_start_);
  using Due = std::vector<TimedWorkflow>;
  const struct {
    Clock::Duration after;
    Due due;
  } cases[] = {
      {Seconds(0), {}},
      {Seconds(1), {}},
      {Seconds(2), {kPeriodic}},  // first_periodic
      {Seconds(59), {kPeriodic}},
      {Seconds(60), {kPeriodic, kRefresh}},
      {Seconds(3599), {kPeriodic, kRefresh}},
      {Seconds(3600), {kPeriodic, kRefresh, kNsec3}},
      {hours(2) - std::chrono::nanoseconds(1), {kPeriodic, kRefresh, kNsec3}},
      {hours(2), {kPeriodic, kRefresh, kNsec3, kSigning}},  // Thursday 01:00 UTC
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DueAt(schedule, c.after), c.due)
        << std::chrono::duration_cast<std::chrono::milliseconds>(c.after).count() << " ms";
  }
}

TEST_F(CheckScheduleTest, NextRunIsOneIntervalAfterTheLastEnded) {
  CheckSchedule schedule(Intervals(), start_, wall_start_);
  // The periodic check ran from 2 s to 10 s: next due at 310 s, not at 302 s.
  schedule.Ran(kPeriodic, start_ + Seconds(10), wall_start_ + Seconds(10));
  EXPECT_FALSE(schedule.IsDue(kPeriodic, start_ + Seconds(309), wall_start_));
  EXPECT_TRUE(schedule.IsDue(kPeriodic, start_ + Seconds(310), wall_start_));
  schedule.Ran(kRefresh, start_ + Seconds(61), wall_start_ + Seconds(61));
  EXPECT_FALSE(schedule.IsDue(kRefresh, start_ + Seconds(120), wall_start_));
  EXPECT_TRUE(schedule.IsDue(kRefresh, start_ + Seconds(121), wall_start_));
  schedule.Ran(kNsec3, start_ + Seconds(3600), wall_start_ + Seconds(3600));
  EXPECT_FALSE(schedule.IsDue(kNsec3, start_ + Seconds(7199), wall_start_));
  EXPECT_TRUE(schedule.IsDue(kNsec3, start_ + Seconds(7200), wall_start_));
}

TEST_F(CheckScheduleTest, SigningSyncFollowsTheCalendarWeekByWeek) {
  CheckSchedule schedule(Intervals(), start_, wall_start_);
  EXPECT_EQ(Format(schedule.next_signing_sync()), Format(Utc(2026, 5, 7, 1)));
  // The wall clock jumps (NTP) while monotonic time stands still: the calendar decides.
  EXPECT_TRUE(schedule.IsDue(kSigning, start_, Utc(2026, 5, 7, 1)));
  schedule.Ran(kSigning, start_ + Seconds(5), Utc(2026, 5, 7, 1, 0, 5));
  EXPECT_EQ(Format(schedule.next_signing_sync()), Format(Utc(2026, 5, 14, 1)));
  EXPECT_FALSE(
      schedule.IsDue(kSigning, start_ + std::chrono::hours(24 * 7), Utc(2026, 5, 14, 0, 59, 59)));
  EXPECT_TRUE(schedule.IsDue(kSigning, start_, Utc(2026, 5, 14, 1)));
}

TEST_F(CheckScheduleTest, DisabledNsec3CheckIsNeverDue) {
  const CheckSchedule schedule(Intervals(/*nsec3_enabled=*/false), start_, wall_start_);
  EXPECT_EQ(DueAt(schedule, std::chrono::hours(24 * 365)),
            std::vector<TimedWorkflow>({kPeriodic, kRefresh, kSigning}));
}

TEST_F(CheckScheduleTest, HugeIntervalsSaturateInsteadOfOverflowing) {
  CheckIntervals intervals = Intervals();
  intervals.refresh = std::chrono::milliseconds::max();
  CheckSchedule schedule(intervals, start_, wall_start_);
  EXPECT_FALSE(schedule.IsDue(kRefresh, start_ + std::chrono::hours(24 * 365 * 100), wall_start_));
  schedule.Ran(kRefresh, start_, wall_start_);
  EXPECT_FALSE(schedule.IsDue(kRefresh, start_ + std::chrono::hours(24 * 365 * 100), wall_start_));
}

}  // namespace
}  // namespace pdnsd
