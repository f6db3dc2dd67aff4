#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "services/secondary_syncer/reconcile_queue.h"

namespace pdnsd {
namespace {

using std::chrono::milliseconds;

TEST(ReconcileQueue, MarksCoalesce) {
  ReconcileQueue queue;
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
  ReconcileQueue queue;
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
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(taken) << "a zone held by one worker went to a second worker";
  queue.Done("a.org.");
  other.join();
  EXPECT_TRUE(taken) << "the mark made during the reconcile was lost";
}

TEST(ReconcileQueue, MarkedTellsWhetherAReconcileIsWaitingForTheZone) {
  ReconcileQueue queue;
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
  ReconcileQueue queue;
  const auto start = ReconcileQueue::Clock::now();
  queue.Mark("a.org.", milliseconds(150));
  auto zone = queue.Take();
  ASSERT_TRUE(zone);
  EXPECT_GE(ReconcileQueue::Clock::now() - start, milliseconds(140));
  // An immediate mark moves a delayed one earlier.
  queue.Done(*zone);
  queue.Mark("b.org.", milliseconds(60000));
  queue.Mark("b.org.");
  EXPECT_EQ(*queue.Take(), "b.org.");
}

TEST(ReconcileQueue, CloseWakesWaiters) {
  ReconcileQueue queue;
  std::thread waiter([&] { EXPECT_FALSE(queue.Take().has_value()); });
  std::this_thread::sleep_for(milliseconds(50));
  queue.Close();
  waiter.join();
}

}  // namespace
}  // namespace pdnsd
