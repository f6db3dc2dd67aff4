// Status and StatusOr<T>: how errors cross module boundaries (no exceptions across them).
//
// A Status is OK or carries a code and a one-line message meant for a log line or an error
// reply. StatusOr<T> holds either a value or a non-OK Status. Both are cheap value types and
// safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace pdnsd {

enum class StatusCode {
  kOk,
  kInvalidArgument,  // the input is wrong; retrying the same input will not help
  kNotFound,         // the thing asked for does not exist (a zone the primary does not have)
  kAlreadyExists,    // the thing to create exists already
  kUnavailable,      // a peer did not answer or failed; retrying later may help
  kTimeout,          // a peer did not answer in time
  kConflict,         // the state changed since it was read (a newer revision); re-read, decide
  kInternal,         // a bug or an unexpected state
};

const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: zone example.org. does not exist", or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Holds a T or an error Status. REQUIRES: status passed to the error constructor is not OK.
template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status::Internal("StatusOr built from an OK status without value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace pdnsd
