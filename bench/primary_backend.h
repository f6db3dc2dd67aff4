// The primaries' database in one benchmark run, the same for every system: gsqlite3 (the test
// fixture's file, nothing to start; the small profile) or gpgsql (one PostgreSQL started for
// the run, support/postgres.h, and a fresh database for each system's primary).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "process_usage.h"
#include "support/postgres.h"
#include "support/processes.h"

namespace pdnsd::bench {

class PrimaryBackend {
 public:
  explicit PrimaryBackend(bool gpgsql) : gpgsql_(gpgsql) {}

  // Starts PostgreSQL for gpgsql; nothing for gsqlite3.
  Status Start();
  // The database of a new primary (a new one on every call); nullopt for gsqlite3.
  StatusOr<std::optional<testing::PgsqlDatabase>> NewDatabase();
  // PostgreSQL with its backends, for the resource tables; empty for gsqlite3. Both systems
  // count it: it is their primary's.
  std::vector<WatchedProcess> Processes() const;

  // The sessions PostgreSQL has seen opened to `database` so far (pg_stat_database.sessions:
  // PowerDNS 4.7 opens one for every backend it builds); nullopt for gsqlite3 or when PostgreSQL
  // does not answer.
  std::optional<int64_t> Sessions(const std::optional<testing::PgsqlDatabase>& database) const;

  bool gpgsql() const { return gpgsql_; }
  // "sqlite3 (gsqlite3)" or "PostgreSQL 15.x (gpgsql)".
  std::string Description() const;

 private:
  bool gpgsql_;
  testing::PostgresServer postgres_;
  int databases_ = 0;
};

}  // namespace pdnsd::bench
