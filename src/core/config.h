// ConfigReader: typed access to a TOML config file with one clear error for the operator.
//
// Every getter records the first problem it meets ("FILE: [Section] Key: problem") and then
// returns the default, so a loader reads all keys and checks status() once at the end.
// Required keys use value<T>() semantics: a wrong type is an error, never a silent default.
// Not thread-safe; used once at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace pdnsd {

// Parses a Go-style duration: "300ms", "20s", "5m", "1h30m", "1.5h". InvalidArgument otherwise.
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

class ConfigReader {
 public:
  // Reads and parses the file. Unreadable or not TOML: InvalidArgument naming the file.
  static StatusOr<ConfigReader> Load(const std::string& path);
  // Parses TOML text (tests); `origin` stands for the file name in messages.
  static StatusOr<ConfigReader> Parse(std::string_view text, const std::string& origin);

  ConfigReader(ConfigReader&&) noexcept;
  ConfigReader& operator=(ConfigReader&&) noexcept;
  ~ConfigReader();

  std::string RequiredString(const char* section, const char* key);
  std::string String(const char* section, const char* key, const std::string& fallback);
  bool Bool(const char* section, const char* key, bool fallback);
  int64_t Int(const char* section, const char* key, int64_t fallback, int64_t min, int64_t max);
  std::chrono::milliseconds Duration(const char* section, const char* key,
                                     std::chrono::milliseconds fallback);
  std::vector<std::string> StringList(const char* section, const char* key);

  // Records a problem found by the caller's own validation of a value.
  void Fail(const char* section, const char* key, const std::string& problem);

  // OK, or the first problem met.
  const Status& status() const { return status_; }
  const std::string& origin() const { return origin_; }

 private:
  struct Table;  // the parsed toml::table, kept out of this header
  ConfigReader(std::unique_ptr<Table> table, std::string origin);

  std::unique_ptr<Table> table_;
  std::string origin_;
  Status status_;
};

}  // namespace pdnsd
