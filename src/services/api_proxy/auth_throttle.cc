#include "services/api_proxy/auth_throttle.h"

#include <algorithm>

namespace pdnsd {
namespace {

bool WindowOpen(const AuthFailureRecord& record, Clock::TimePoint now,
                const AuthThrottlePolicy& policy) {
  return now < record.window_start + policy.window;
}

}  // namespace

AuthThrottleDecision DecideAuthThrottle(const std::optional<AuthFailureRecord>& record,
                                        Clock::TimePoint now, const AuthThrottlePolicy& policy) {
  if (policy.failures_allowed <= 0 || !record || !WindowOpen(*record, now, policy) ||
      record->failures < policy.failures_allowed) {
    return {};
  }
  const auto left =
      std::chrono::ceil<std::chrono::seconds>(record->window_start + policy.window - now);
  return {true, std::max(left, std::chrono::seconds(1))};
}

AuthFailureRecord AddAuthFailure(const std::optional<AuthFailureRecord>& record,
                                 Clock::TimePoint now, const AuthThrottlePolicy& policy) {
  if (!record || !WindowOpen(*record, now, policy)) return {now, 1};
  return {record->window_start, record->failures + 1};
}

AuthThrottleDecision AuthFailureTracker::Check(const std::string& client, Clock::TimePoint now) {
  MutexLock lock(mutex_);
  auto it = records_.find(client);
  return DecideAuthThrottle(it == records_.end() ? std::nullopt : std::optional(it->second), now,
                            policy_);
}

bool AuthFailureTracker::RecordFailure(const std::string& client, Clock::TimePoint now) {
  if (policy_.failures_allowed <= 0) return false;
  MutexLock lock(mutex_);
  if (records_.size() >= max_clients_ && records_.find(client) == records_.end()) {
    std::erase_if(records_,
                  [&](const auto& entry) { return !WindowOpen(entry.second, now, policy_); });
    if (records_.size() >= max_clients_) records_.clear();
  }
  auto it = records_.find(client);
  const AuthFailureRecord next =
      AddAuthFailure(it == records_.end() ? std::nullopt : std::optional(it->second), now, policy_);
  records_[client] = next;
  return next.failures == policy_.failures_allowed;
}

}  // namespace pdnsd
