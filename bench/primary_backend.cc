#include "primary_backend.h"

#include <charconv>
#include <string_view>

namespace pdnsd::bench {

Status PrimaryBackend::Start() { return gpgsql_ ? postgres_.Start() : Status::Ok(); }

StatusOr<std::optional<testing::PgsqlDatabase>> PrimaryBackend::NewDatabase() {
  if (!gpgsql_) return std::optional<testing::PgsqlDatabase>();
  auto database = postgres_.CreatePdnsDatabase("primary" + std::to_string(++databases_));
  if (!database.ok()) return database.status();
  return std::optional<testing::PgsqlDatabase>(*database);
}

std::vector<WatchedProcess> PrimaryBackend::Processes() const {
  if (!gpgsql_ || postgres_.process().pid() <= 0) return {};
  return {{"PostgreSQL (all processes)", postgres_.process().pid(), true}};
}

std::optional<int64_t> PrimaryBackend::Sessions(
    const std::optional<testing::PgsqlDatabase>& database) const {
  if (!gpgsql_ || !database) return std::nullopt;
  // Statistics reach the shared view when a backend is idle or ends: clear the snapshot of
  // this psql session so that what others flushed is read (PostgreSQL 15).
  int exit_code = 0;
  const std::string out = postgres_.Sql(
      "postgres",
      "SELECT pg_stat_clear_snapshot(); SELECT sessions FROM pg_stat_database WHERE datname = '" +
          database->dbname + "'",
      &exit_code);
  if (exit_code != 0) return std::nullopt;
  // The last line is the count (the first is the empty result of pg_stat_clear_snapshot()).
  std::string_view text = out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (const size_t newline = text.rfind('\n'); newline != std::string_view::npos) {
    text.remove_prefix(newline + 1);
  }
  int64_t sessions = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), sessions);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return sessions;
}

std::string PrimaryBackend::Description() const {
  if (!gpgsql_) return "sqlite3 (gsqlite3)";
  std::string version = postgres_.Sql("postgres", "SHOW server_version");
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  return "PostgreSQL " + version + " (gpgsql, stock settings)";
}

}  // namespace pdnsd::bench
