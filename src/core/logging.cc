#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <cstdio>
#include <cstdlib>

namespace pdnsd {

Logger MakeLogger(const LogOptions& options) {
  spdlog::sink_ptr sink;
  if (options.syslog) {
    sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(options.name, LOG_PID, LOG_DAEMON, true);
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>(options.name, sink);
  // Under systemd (JOURNAL_STREAM set) the journal stamps time and unit itself.
  if (options.syslog || std::getenv("JOURNAL_STREAM") != nullptr) {
    logger->set_pattern("%l: %v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %l: %v");
  }
  logger->set_level(options.debug ? spdlog::level::debug : spdlog::level::info);
  logger->flush_on(spdlog::level::debug);
  return logger;
}

Logger MakeTestLogger(const std::string& name) {
  return MakeLogger({.name = name, .debug = true, .syslog = false});
}

void LogEscapedException(const Logger& logger, const char* where, const char* what) noexcept {
  try {
    if (logger) {
      logger->error("{} threw: {} (caught at the thread's entry; the thread goes on)", where, what);
      return;
    }
  } catch (...) {
  }
  std::fprintf(stderr, "%s threw: %s (caught at the thread's entry; the thread goes on)\n", where,
               what);
}

}  // namespace pdnsd
