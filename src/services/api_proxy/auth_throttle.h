// Failed API keys per client address: after `failures_allowed` answers 401 from PowerDNS within
// one window, the client's requests are refused with 429 (not forwarded) until the window
// ends. A brute force of API keys then costs the attacker a window per `failures_allowed`
// guesses. The client is the TCP peer address; X-Forwarded-For / Forwarded are not trusted
// (docs/configuration.md, [Service] AuthFailureLimit).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/thread_annotations.h"

namespace pdnsd {

struct AuthThrottlePolicy {
  int failures_allowed = 10;  // 0: never throttle
  std::chrono::seconds window{60};
};

// One client's failures in its current window (the window starts at its first failure).
struct AuthFailureRecord {
  Clock::TimePoint window_start;
  int failures = 0;
};

struct AuthThrottleDecision {
  bool refuse = false;
  std::chrono::seconds retry_after{0};  // when refused: until the window ends (at least 1 s)
};

// Pure: whether a request from a client with `record` is refused at `now`.
AuthThrottleDecision DecideAuthThrottle(const std::optional<AuthFailureRecord>& record,
                                        Clock::TimePoint now, const AuthThrottlePolicy& policy);
// Pure: the record after one more failure at `now` (a new window when the last one ended).
AuthFailureRecord AddAuthFailure(const std::optional<AuthFailureRecord>& record,
                                 Clock::TimePoint now, const AuthThrottlePolicy& policy);

// The records of all clients. Thread-safe. Holds at most `max_clients` records: when full,
// expired windows are dropped first, then (a flood of addresses) all of them.
class AuthFailureTracker {
 public:
  explicit AuthFailureTracker(AuthThrottlePolicy policy, size_t max_clients = 100000)
      : policy_(policy), max_clients_(max_clients) {}

  AuthThrottleDecision Check(const std::string& client, Clock::TimePoint now);
  // Records a failure; true when it is the one that starts the client's throttling (log once
  // per client and window).
  bool RecordFailure(const std::string& client, Clock::TimePoint now);
  const AuthThrottlePolicy& policy() const { return policy_; }

 private:
  const AuthThrottlePolicy policy_;
  const size_t max_clients_;
  Mutex mutex_;
  std::unordered_map<std::string, AuthFailureRecord> records_ GUARDED_BY(mutex_);
};

}  // namespace pdnsd
