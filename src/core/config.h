// ConfigReader: typed access to a TOML config file with one clear error for the operator.
//
// Every getter records the first problem it meets ("FILE: [Section] Key: problem") and then
// returns the default, so a loader reads all keys and checks status() once at the end.
// Required keys use value<T>() semantics: a wrong type is an error, never a silent default.
// Sections and keys match case-insensitively, as in the original Go services (viper).
//
// The reader remembers every key it was asked about: those are the service's known keys.
// After the service has read its config, Warnings() names each key of the file that nobody
// asked about (a typo such as "APITokn"), with the closest known key; the service logs them
// once and starts anyway, as the original ignores unknown keys.
// Not thread-safe; used once at start.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace pdnsd {

// Levenshtein distance of `a` and `b`, ASCII case ignored ("APITokn" / "apitoken": 1).
size_t EditDistance(std::string_view a, std::string_view b);

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

  // True when the file has [section] key. Like every getter, marks the key as known.
  bool Has(const char* section, const char* key);
  // Marks a key as known without reading it: the original's keys that this service accepts
  // and does not use. AcceptSection: every key of `section` (e.g. the original's
  // [ServiceMetaData] map).
  void Accept(const char* section, const char* key);
  void AcceptSection(const char* section);

  // Records a problem found by the caller's own validation of a value.
  void Fail(const char* section, const char* key, const std::string& problem);
  // Records a warning for the operator: "FILE: [Section] Key: message".
  void Warn(const char* section, const char* key, const std::string& message);

  // The warnings recorded by Warn(), then one per key (or empty section) of the file that was
  // neither read nor accepted, in file order: "FILE:LINE: [Section] Key: unknown key, ignored
  // (did you mean [Section] OtherKey?)". Call after the service has read all its keys.
  std::vector<std::string> Warnings() const;

  // OK, or the first problem met.
  const Status& status() const { return status_; }
  const std::string& origin() const { return origin_; }

 private:
  struct Table;  // the parsed toml::table and the known keys, kept out of this header
  ConfigReader(std::unique_ptr<Table> table, std::string origin);

  std::unique_ptr<Table> table_;
  std::string origin_;
  Status status_;
  std::vector<std::string> warnings_;
};

}  // namespace pdnsd
