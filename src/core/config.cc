#include "core/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace pdnsd {
namespace {

std::string KeyName(const std::string& section, const std::string& key) {
  return "[" + section + "] " + key;
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// "section\nkey" in lower case: how a key is remembered as known.
std::string KnownId(std::string_view section, std::string_view key) {
  return Lower(section) + "\n" + Lower(key);
}

// The word at 1-based `column` of line `line` of `text` when it starts with a letter: what a
// bare (unquoted) string looks like to the TOML parser, e.g. sec01.example.org in the
// original's own example files. "" otherwise.
std::string BareWordAt(std::string_view text, size_t line, size_t column) {
  size_t start = 0;
  for (size_t i = 1; i < line && start != std::string_view::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || column == 0) return "";
  start += column - 1;
  if (start >= text.size() || !std::isalpha(static_cast<unsigned char>(text[start]))) return "";
  size_t end = start;
  auto word_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '/';
  };
  while (end < text.size() && word_char(text[end])) ++end;
  const std::string word(text.substr(start, end - start));
  if (word == "true" || word == "false" || word == "inf" || word == "nan") return "";
  return word;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  const std::string x = Lower(a), y = Lower(b);
  std::vector<size_t> row(y.size() + 1);
  for (size_t j = 0; j <= y.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= x.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= y.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (x[i - 1] == y[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[y.size()];
}

struct ConfigReader::Table {
  toml::table root;
  std::set<std::string> known;                            // KnownId() of every key asked about
  std::set<std::string> accepted_sections;                // lower case
  std::set<std::pair<std::string, std::string>> spelled;  // known keys as the service spells them

  // The node of [section] key, matched case-insensitively (empty when absent), and marks the
  // key as known. A key given twice in different spellings is a problem recorded in `reader`.
  toml::node_view<const toml::node> Find(ConfigReader& reader, const char* section,
                                         const char* key) {
    known.insert(KnownId(section, key));
    spelled.emplace(section, key);
    const std::string want_section = Lower(section), want_key = Lower(key);
    const toml::node* found = nullptr;
    for (const auto& [section_name, section_node] : root) {
      if (Lower(section_name.str()) != want_section || !section_node.is_table()) continue;
      for (const auto& [key_name, node] : *section_node.as_table()) {
        if (Lower(key_name.str()) != want_key) continue;
        if (found != nullptr) {
          reader.Fail(section, key,
                      "given more than once (keys are case-insensitive, as in the original)");
        }
        found = &node;
      }
    }
    return toml::node_view<const toml::node>(found);
  }
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
  // Go's limit (an int64 of nanoseconds, about 292 years): beyond it llround's result is
  // unspecified (it came out negative), and a time point plus such a duration overflows.
  constexpr double kMaxMilliseconds = 9'223'372'036'854.0;
  if (!(total_ms <= kMaxMilliseconds)) {
    return Status::InvalidArgument("duration " + quoted + " is longer than 2562047h (292 years)");
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
    auto table = std::make_unique<Table>();
    table->root = toml::parse(text, origin);
    return ConfigReader(std::move(table), origin);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    std::string message = origin + ": not valid TOML at line " + std::to_string(where.line) + ": ";
    const std::string bare = BareWordAt(text, where.line, where.column);
    if (!bare.empty()) {
      message += bare + " is not a value: strings need quotes, also in a list (\"" + bare +
                 "\") [" + std::string(error.description()) + "]";
    } else {
      message += std::string(error.description());
    }
    return Status::InvalidArgument(message);
  }
}

void ConfigReader::Fail(const char* section, const char* key, const std::string& problem) {
  if (!status_.ok()) return;
  status_ = Status::InvalidArgument(origin_ + ": " + KeyName(section, key) + ": " + problem);
}

void ConfigReader::Warn(const char* section, const char* key, const std::string& message) {
  warnings_.push_back(origin_ + ": " + KeyName(section, key) + ": " + message);
}

bool ConfigReader::Has(const char* section, const char* key) {
  return static_cast<bool>(table_->Find(*this, section, key));
}

void ConfigReader::Accept(const char* section, const char* key) {
  table_->known.insert(KnownId(section, key));
}

void ConfigReader::AcceptSection(const char* section) {
  table_->accepted_sections.insert(Lower(section));
}

std::vector<std::string> ConfigReader::Warnings() const {
  std::set<std::string> known_sections;
  for (const auto& [section, key] : table_->spelled) known_sections.insert(Lower(section));
  // The closest known key to [section] key, or "" when none is close enough to be a typo. The
  // key's spelling counts first (a key put into the wrong section is found too), then the
  // section's.
  auto closest = [&](const std::string& section, const std::string& key) {
    std::string best;
    std::pair<size_t, size_t> best_score{std::max<size_t>(2, key.size() / 3) + 1, 0};
    for (const auto& [known_section, known_key] : table_->spelled) {
      const size_t section_distance = EditDistance(section, known_section);
      const std::pair<size_t, size_t> score{
          EditDistance(key, known_key) + (section_distance == 0 ? 0 : 1), section_distance};
      if (score < best_score) {
        best_score = score;
        best = KeyName(known_section, known_key);
      }
    }
    return best;
  };
  std::vector<std::pair<uint32_t, std::string>> unknown;  // by line
  auto add = [&](const toml::key& name, const std::string& what, const std::string& suggestion) {
    std::string line = origin_ + ":" + std::to_string(name.source().begin.line) + ": " + what;
    line += suggestion.empty() ? "" : " (did you mean " + suggestion + "?)";
    unknown.emplace_back(name.source().begin.line, line);
  };
  for (const auto& [section_name, section_node] : table_->root) {
    const std::string section = std::string(section_name.str());
    if (!section_node.is_table()) {
      add(section_name, section + ": a key outside any section, ignored", "");
      continue;
    }
    if (table_->accepted_sections.count(Lower(section)) != 0) continue;
    const toml::table& keys = *section_node.as_table();
    if (keys.empty() && known_sections.count(Lower(section)) == 0) {
      std::string suggestion;
      for (const auto& [known_section, known_key] : table_->spelled) {
        if (EditDistance(section, known_section) <= std::max<size_t>(2, section.size() / 3)) {
          suggestion = "[" + known_section + "]";
        }
      }
      add(section_name, "[" + section + "]: not a section of this service, ignored", suggestion);
      continue;
    }
    for (const auto& [key_name, node] : keys) {
      const std::string key = std::string(key_name.str());
      if (table_->known.count(KnownId(section, key)) != 0) continue;
      add(key_name, KeyName(section, key) + ": not a key of this service, ignored",
          closest(section, key));
    }
  }
  std::stable_sort(unknown.begin(), unknown.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> result = warnings_;
  for (auto& [line, text] : unknown) result.push_back(std::move(text));
  return result;
}

std::string ConfigReader::RequiredString(const char* section, const char* key) {
  auto node = table_->Find(*this, section, key);
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
  auto node = table_->Find(*this, section, key);
  if (!node) return fallback;
  if (!node.is_string()) {
    Fail(section, key, "must be a string");
    return fallback;
  }
  return *node.value<std::string>();
}

bool ConfigReader::Bool(const char* section, const char* key, bool fallback) {
  auto node = table_->Find(*this, section, key);
  if (!node) return fallback;
  if (!node.is_boolean()) {
    Fail(section, key, "must be true or false");
    return fallback;
  }
  return *node.value<bool>();
}

int64_t ConfigReader::Int(const char* section, const char* key, int64_t fallback, int64_t min,
                          int64_t max) {
  auto node = table_->Find(*this, section, key);
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
  auto node = table_->Find(*this, section, key);
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
  auto node = table_->Find(*this, section, key);
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
