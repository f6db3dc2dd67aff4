#include "core/config.h"

#include <toml++/toml.h>
#include <cmath>
#include <fstream>
#include <sstream>

namespace pdnsd {
namespace {

std::string KeyName(const char* section, const char* key) {
  return std::string("[") + section + "] " + key;
}

}  // namespace

struct ConfigReader::Table {
  toml::table root;
  toml::node_view<toml::node> operator[](const char* section) { return root[section]; }
};

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return Status::InvalidArgument("empty duration");
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i)
      return Status::InvalidArgument("bad duration " + quoted + " (e.g. \"20s\", \"1h30m\")");
    double number = 0;
    try {
      number = std::stod(std::string(text.substr(start, i - start)));
    } catch (...) {
      return Status::InvalidArgument("bad number in duration " + quoted);
    }
    size_t unit_start = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    double factor;
    if (unit == "ns")
      factor = 1e-6;
    else if (unit == "us" || unit == "µs")
      factor = 1e-3;
    else if (unit == "ms")
      factor = 1;
    else if (unit == "s")
      factor = 1e3;
    else if (unit == "m")
      factor = 60e3;
    else if (unit == "h")
      factor = 3600e3;
    else
      return Status::InvalidArgument("missing or unknown unit in duration " + quoted);
    total_ms += number * factor;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

ConfigReader::ConfigReader(std::unique_ptr<Table> table, std::string origin)
    : table_(std::move(table)), origin_(std::move(origin)) {}
ConfigReader::ConfigReader(ConfigReader&&) noexcept = default;
ConfigReader& ConfigReader::operator=(ConfigReader&&) noexcept = default;
ConfigReader::~ConfigReader() = default;

StatusOr<ConfigReader> ConfigReader::Load(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Status::InvalidArgument(path + ": cannot read the config file");
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return Status::InvalidArgument(path + ": cannot read the config file");
  return Parse(text.str(), path);
}

StatusOr<ConfigReader> ConfigReader::Parse(std::string_view text, const std::string& origin) {
  try {
    auto table = std::make_unique<Table>(Table{toml::parse(text, origin)});
    return ConfigReader(std::move(table), origin);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    return Status::InvalidArgument(origin + ": not valid TOML at line " +
                                   std::to_string(where.line) + ": " +
                                   std::string(error.description()));
  }
}

void ConfigReader::Fail(const char* section, const char* key, const std::string& problem) {
  if (!status_.ok()) return;
  status_ = Status::InvalidArgument(origin_ + ": " + KeyName(section, key) + ": " + problem);
}

std::string ConfigReader::RequiredString(const char* section, const char* key) {
  auto node = (*table_)[section][key];
  if (!node) {
    Fail(section, key, "required key is missing");
    return "";
  }
  auto value = node.value<std::string>();
  if (!value || !node.is_string()) {
    Fail(section, key, "must be a string");
    return "";
  }
  if (value->empty()) Fail(section, key, "must not be empty");
  return *value;
}

std::string ConfigReader::String(const char* section, const char* key,
                                 const std::string& fallback) {
  auto node = (*table_)[section][key];
  if (!node) return fallback;
  if (!node.is_string()) {
    Fail(section, key, "must be a string");
    return fallback;
  }
  return *node.value<std::string>();
}

bool ConfigReader::Bool(const char* section, const char* key, bool fallback) {
  auto node = (*table_)[section][key];
  if (!node) return fallback;
  if (!node.is_boolean()) {
    Fail(section, key, "must be true or false");
    return fallback;
  }
  return *node.value<bool>();
}

int64_t ConfigReader::Int(const char* section, const char* key, int64_t fallback, int64_t min,
                          int64_t max) {
  auto node = (*table_)[section][key];
  if (!node) return fallback;
  if (!node.is_integer()) {
    Fail(section, key, "must be an integer");
    return fallback;
  }
  const int64_t value = *node.value<int64_t>();
  if (value < min || value > max) {
    Fail(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return fallback;
  }
  return value;
}

std::chrono::milliseconds ConfigReader::Duration(const char* section, const char* key,
                                                 std::chrono::milliseconds fallback) {
  auto node = (*table_)[section][key];
  if (!node) return fallback;
  if (!node.is_string()) {
    Fail(section, key, "must be a quoted duration such as \"20s\"");
    return fallback;
  }
  auto parsed = ParseDuration(*node.value<std::string>());
  if (!parsed.ok()) {
    Fail(section, key, parsed.status().message());
    return fallback;
  }
  return *parsed;
}

std::vector<std::string> ConfigReader::StringList(const char* section, const char* key) {
  std::vector<std::string> result;
  auto node = (*table_)[section][key];
  if (!node) return result;
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    Fail(section, key, "must be an array of strings");
    return result;
  }
  for (const auto& element : *array) {
    auto value = element.value<std::string>();
    if (!value || !element.is_string()) {
      Fail(section, key, "must be an array of strings");
      return {};
    }
    result.push_back(*value);
  }
  return result;
}

}  // namespace pdnsd
