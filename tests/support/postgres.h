// PostgreSQL for a PowerDNS primary that must be busy (gpgsql backend): a server of its own,
// started from the Debian packages for a test or benchmark and gone with it.
//
//   pdnsd::testing::PostgresServer postgres;
//   PDNSD_ASSERT_OK(postgres.Start());
//   auto database = postgres.CreatePdnsDatabase("primary");     // PowerDNS's schema loaded
//   PdnsServer primary;
//   PDNSD_ASSERT_OK(primary.Start(PdnsOptions().WithGpgsql(*database)));
//
// initdb into a temporary directory, `postgres` on a free loopback port with its socket in that
// directory and otherwise PostgreSQL's stock settings (fsync on, 100 connections, ...), trust
// authentication for the one superuser "pdns" (loopback only). PostgreSQL refuses to run as
// root: as root, initdb and postgres run in a user namespace of their own as "nobody", which
// keeps the files root's outside and keeps PR_SET_PDEATHSIG, so a crashed test leaves no server
// behind (support/processes.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/net.h"
#include "core/status.h"
#include "support/processes.h"

namespace pdnsd::testing {

class PostgresServer {
 public:
  PostgresServer() = default;
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates the cluster and starts the server; returns once it accepts connections.
  Status Start();
  // Fast shutdown (SIGINT: open sessions are ended). Returns the exit code.
  int Stop();
  bool IsRunning() { return process_.IsRunning(); }

  // Creates database `name` (letters, digits, '_') with PowerDNS 4.7's gpgsql schema
  // (pdns-backend-pgsql's schema.pgsql.sql) and returns how PowerDNS connects to it.
  StatusOr<PgsqlDatabase> CreatePdnsDatabase(const std::string& name);
  // Runs `query` with psql on `database`: rows of "|"-separated fields, one a line.
  std::string Sql(const std::string& database, const std::string& query,
                  int* exit_code = nullptr) const;

  HostPort address() const { return {"127.0.0.1", port_}; }
  std::string LogTail(int lines = 40) const { return process_.LogTail(lines); }
  ChildProcess& process() { return process_; }
  const ChildProcess& process() const { return process_; }

 private:
  std::optional<TempDir> dir_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace pdnsd::testing
