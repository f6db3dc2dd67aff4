// ReconcileQueue (src/core/reconcile_queue.h) on a SimulatedClock: the
// tests advance time instead of sleeping.
#include "core/reconcile_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "support/simulated_clock.h"

namespace pdnsd {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using testing::SimulatedClock;

TEST(ReconcileQueue, MarksCoalesce) {
  SimulatedClock clock;
  ReconcileQueue queue(clock);
  for (int i = 0; i < 10; ++i) queue.Mark("a.org.");
  queue.Mark("b.org.");
  EXPECT_EQ(queue.pending(), 2u);
  auto first = queue.Take();
  auto second = queue.Take();
  ASSERT_TRUE(first && second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(queue.pending(), 0u);
}

TEST(ReconcileQueue, HeldZoneIsNotHandedOutTwiceButIsNotLost) {
  SimulatedClock clock;
  ReconcileQueue queue(clock);
  queue.Mark("a.org.");
  auto held = queue.Take();
  ASSERT_EQ(*held, "a.org.");
  queue.Mark("a.org.");  // an event while a worker reconciles it
  std::atomic<bool> taken{false};
  std::thread other([&] {
    auto zone = queue.Take();
    taken = zone.has_value();
    if (zone) queue.Done(*zone);
  });
  // The second worker waits for the held zone, however much time passes.
  EXPECT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(hours(1));
  EXPECT_TRUE(clock.AwaitWaiters(1));
  EXPECT_FALSE(taken) << "a zone held by one worker went to a second worker";
  queue.Done("a.org.");
  other.join();
  EXPECT_TRUE(taken) << "the mark made during the reconcile was lost";
}

TEST(ReconcileQueue, MarkedTellsWhetherAReconcileIsWaitingForTheZone) {
  SimulatedClock clock;
  ReconcileQueue queue(clock);
  EXPECT_FALSE(queue.marked("a.org."));
  queue.Mark("a.org.", milliseconds(60000));
  EXPECT_TRUE(queue.marked("a.org.")) << "a delayed mark is a mark";
  queue.Mark("a.org.");
  auto held = queue.Take();
  ASSERT_EQ(*held, "a.org.");
  EXPECT_FALSE(queue.marked("a.org.")) << "taken: the worker's own reconcile is no newer mark";
  queue.Mark("a.org.");  // an event while the worker reconciles it
  EXPECT_TRUE(queue.marked("a.org."));
  EXPECT_FALSE(queue.marked("b.org."));
  queue.Done("a.org.");
}

TEST(ReconcileQueue, DelayedMarkBecomesDueLater) {
  SimulatedClock clock;
  ReconcileQueue queue(clock);
  const auto start = clock.Now();
  queue.Mark("a.org.", milliseconds(150));
  std::optional<std::string> zone;
  Clock::TimePoint taken_at;
  std::thread worker([&] {
    zone = queue.Take();
    taken_at = clock.Now();
  });
  // Time moves in steps short of the delay, each seen by the waiting worker; then past it.
  for (const milliseconds step : {milliseconds(100), milliseconds(49), milliseconds(1)}) {
    if (!clock.AwaitWaiters(1)) {
      ADD_FAILURE() << "Take() returned before the mark was due";
      break;
    }
    clock.Advance(step);
  }
  worker.join();
  ASSERT_TRUE(zone);
  EXPECT_GE(taken_at - start, milliseconds(150));
  // An immediate mark moves a delayed one earlier.
  queue.Done(*zone);
  queue.Mark("b.org.", milliseconds(60000));
  queue.Mark("b.org.");
  EXPECT_EQ(*queue.Take(), "b.org.");
}

TEST(ReconcileQueue, CloseWakesWaiters) {
  SimulatedClock clock;
  ReconcileQueue queue(clock);
  std::thread waiter([&] { EXPECT_FALSE(queue.Take().has_value()); });
  EXPECT_TRUE(clock.AwaitWaiters(1));
  queue.Close();
  waiter.join();
}

}  // namespace
}  // namespace pdnsd
