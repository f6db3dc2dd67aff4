// SystemClock and the SimulatedClock that unit tests advance (core/clock.h,
// tests/support/simulated_clock.h).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/clock.h"
#include "support/processes.h"
#include "support/simulated_clock.h"

namespace pdnsd::testing {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SystemClock, WaitUntilReturnsAtTheDeadline) {
  Clock& clock = SystemClock();
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock(mutex);
  const auto deadline = clock.Now() + milliseconds(20);
  while (clock.Now() < deadline) clock.WaitUntil(cv, lock, deadline);
  EXPECT_GE(clock.Now(), deadline);
}

TEST(SystemClock, DeadlineAfterSaturates) {
  EXPECT_EQ(SystemClock().DeadlineAfter(Clock::Duration::max()), Clock::TimePoint::max());
}

TEST(SimulatedClock, StandsStillUntilAdvanced) {
  SimulatedClock clock;
  const auto start = clock.Now();
  const auto wall = clock.WallNow();
  std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(seconds(90));
  EXPECT_EQ(clock.Now() - start, seconds(90));
  EXPECT_EQ(clock.WallNow() - wall, seconds(90));
}

TEST(SimulatedClock, SleepEndsOnlyWhenTimeReachesTheDeadline) {
  SimulatedClock clock;
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.SleepFor(hours(1));
    woke = true;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(std::chrono::minutes(59));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(woke) << "an hour's sleep ended after 59 simulated minutes";
  clock.Advance(std::chrono::minutes(1));
  EXPECT_TRUE(WaitFor([&] { return woke.load(); }));
  sleeper.join();
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(SimulatedClock, TimedWaitEndsWhenAdvancedPastItsDeadline) {
  SimulatedClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  std::atomic<bool> done{false};
  const auto deadline = clock.Now() + seconds(30);
  std::thread waiter([&] {
    std::unique_lock lock(mutex);
    while (clock.Now() < deadline) clock.WaitUntil(cv, lock, deadline);
    done = true;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(seconds(29));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(done);
  clock.Advance(seconds(1));
  EXPECT_TRUE(WaitFor([&] { return done.load(); }));
  waiter.join();
}

TEST(SimulatedClock, NotifyEndsAWaitWithoutMovingTime) {
  SimulatedClock clock;
  std::mutex mutex;
  std::condition_variable cv;
  bool ready = false;
  std::thread waiter([&] {
    std::unique_lock lock(mutex);
    while (!ready) clock.WaitUntil(cv, lock, Clock::TimePoint::max());
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  const auto before = clock.Now();
  {
    std::lock_guard lock(mutex);
    ready = true;
  }
  cv.notify_all();
  waiter.join();
  EXPECT_EQ(clock.Now(), before);
}

}  // namespace
}  // namespace pdnsd::testing
