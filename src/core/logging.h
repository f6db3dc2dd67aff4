// Loggers: spdlog behind a forward declaration so that hot headers stay free of spdlog/fmt.
//
// A service gets its Logger passed in; nothing logs through a global. Logs go to stderr
// (journal-friendly: no timestamps when run under systemd, which adds its own) or to syslog.
#pragma once

#include <memory>
#include <string>

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

}  // namespace pdnsd
