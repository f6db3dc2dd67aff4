#include <gtest/gtest.h>

#include "services/api_proxy/auth_throttle.h"

namespace pdnsd {
namespace {

using std::chrono::seconds;

TEST(AuthThrottle, DecisionTable) {
  const AuthThrottlePolicy policy{3, seconds(60)};
  const Clock::TimePoint t0{seconds(1000)};
  struct Case {
    const char* what;
    std::optional<AuthFailureRecord> record;
    Clock::TimePoint now;
    bool refuse;
    seconds retry_after;
  };
  const Case cases[] = {
      {"no failures", std::nullopt, t0, false, seconds(0)},
      {"below the limit", AuthFailureRecord{t0, 2}, t0 + seconds(1), false, seconds(0)},
      {"at the limit", AuthFailureRecord{t0, 3}, t0 + seconds(1), true, seconds(59)},
      {"over the limit", AuthFailureRecord{t0, 9}, t0 + seconds(30), true, seconds(30)},
      {"last instant of the window", AuthFailureRecord{t0, 3},
       t0 + seconds(60) - std::chrono::milliseconds(500), true, seconds(1)},
      {"window over", AuthFailureRecord{t0, 3}, t0 + seconds(60), false, seconds(0)},
      {"long after", AuthFailureRecord{t0, 1000}, t0 + seconds(3600), false, seconds(0)},
  };
  for (const Case& c : cases) {
    const AuthThrottleDecision decision = DecideAuthThrottle(c.record, c.now, policy);
    EXPECT_EQ(decision.refuse, c.refuse) << c.what;
    EXPECT_EQ(decision.retry_after, c.retry_after) << c.what;
  }
  // Limit 0: never refused.
  EXPECT_FALSE(DecideAuthThrottle(AuthFailureRecord{t0, 1000}, t0, {0, seconds(60)}).refuse);
}

TEST(AuthThrottle, FailuresCountWithinAWindowAndStartANewOneAfter) {
  const AuthThrottlePolicy policy{3, seconds(60)};
  const Clock::TimePoint t0{seconds(1000)};
  AuthFailureRecord record = AddAuthFailure(std::nullopt, t0, policy);
  EXPECT_EQ(record.failures, 1);
  EXPECT_EQ(record.window_start, t0);
  record = AddAuthFailure(record, t0 + seconds(59), policy);
  EXPECT_EQ(record.failures, 2);
  EXPECT_EQ(record.window_start, t0);
  record = AddAuthFailure(record, t0 + seconds(60), policy);
  EXPECT_EQ(record.failures, 1);
  EXPECT_EQ(record.window_start, t0 + seconds(60));
}

TEST(AuthThrottle, TrackerSignalsOncePerClientAndWindowAndStaysBounded) {
  AuthFailureTracker tracker({2, seconds(60)}, /*max_clients=*/4);
  const Clock::TimePoint t0{seconds(1000)};
  EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", t0));
  EXPECT_FALSE(tracker.Check("192.0.2.1", t0).refuse);
  EXPECT_TRUE(tracker.RecordFailure("192.0.2.1", t0));  // reaches the limit: log once
  EXPECT_FALSE(tracker.RecordFailure("192.0.2.1", t0));
  EXPECT_TRUE(tracker.Check("192.0.2.1", t0).refuse);
  EXPECT_FALSE(tracker.Check("192.0.2.2", t0).refuse) << "another client is not affected";
  EXPECT_FALSE(tracker.Check("192.0.2.1", t0 + seconds(60)).refuse);
  // Many addresses: the table never grows past its bound.
  for (int i = 0; i < 100; ++i) tracker.RecordFailure("198.51.100." + std::to_string(i), t0);
  EXPECT_FALSE(tracker.RecordFailure("203.0.113.1", t0)) << "a first failure";
  EXPECT_TRUE(tracker.RecordFailure("203.0.113.1", t0)) << "its records still count";
}

}  // namespace
}  // namespace pdnsd
