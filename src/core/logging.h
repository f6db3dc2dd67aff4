// Loggers: spdlog behind a forward declaration so that hot headers stay free of spdlog/fmt.
//
// A service gets its Logger passed in; nothing logs through a global. Logs go to stderr
// (journal-friendly: no timestamps when run under systemd, which adds its own) or to syslog.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace spdlog {
class logger;
}

namespace pdnsd {

using Logger = std::shared_ptr<spdlog::logger>;

struct LogOptions {
  std::string name;     // the service name, e.g. "pdns-api-proxy"
  bool debug = false;   // [Log] DEBUG: log detail of every message and call
  bool syslog = false;  // [Log] Syslog: to syslog instead of stderr
};

Logger MakeLogger(const LogOptions& options);

// A logger for tests: stderr, debug level, named `name`.
Logger MakeTestLogger(const std::string& name);

// Logs (error level; to stderr when `logger` is null) that an exception escaped `where`.
void LogEscapedException(const Logger& logger, const char* where, const char* what) noexcept;

// Runs fn() at a thread entry point (a worker loop's task, a timer task, an HTTP handler, a
// NATS callback): an exception it throws is logged and swallowed instead of reaching the
// thread's edge, where it would end the process (std::terminate). Returns false when it threw.
template <typename Fn>
bool RunCatching(const Logger& logger, const char* where, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (const std::exception& e) {
    LogEscapedException(logger, where, e.what());
  } catch (...) {
    LogEscapedException(logger, where, "an exception not derived from std::exception");
  }
  return false;
}

}  // namespace pdnsd
