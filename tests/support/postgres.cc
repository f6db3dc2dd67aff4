#include "support/postgres.h"

#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

namespace pdnsd::testing {
namespace {

constexpr const char* kPdnsSchema = "/usr/share/pdns-backend-pgsql/schema/schema.pgsql.sql";
constexpr const char* kSuperuser = "pdns";

// The newest /usr/lib/postgresql/<version>/bin (Debian's layout; several versions may be
// installed side by side); "" when there is none.
std::string PostgresBinDir() {
  glob_t found{};
  std::vector<std::string> dirs;
  if (glob("/usr/lib/postgresql/*/bin/postgres", 0, nullptr, &found) == 0) {
    for (size_t i = 0; i < found.gl_pathc; ++i) {
      std::string path = found.gl_pathv[i];
      dirs.push_back(path.substr(0, path.size() - std::string("/postgres").size()));
    }
  }
  globfree(&found);
  if (dirs.empty()) return "";
  // "15" < "16"; versions differ in length only from 9.x to 10+, which Debian 12 does not ship.
  std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return dirs.back();
}

// As root, the command runs as "nobody" in a user namespace of its own (see the header).
std::vector<std::string> AsUnprivileged(std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"unshare", "--user", "--map-user=65534", "--map-group=65534"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

bool ValidDatabaseName(const std::string& name) {
  return !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

PostgresServer::~PostgresServer() { Stop(); }

Status PostgresServer::Start() {
  if (process_.IsRunning()) return Status::Internal("postgres already running");
  const std::string bin = PostgresBinDir();
  if (bin.empty()) {
    return Status::NotFound("no /usr/lib/postgresql/*/bin/postgres (scripts/setup installs it)");
  }
  if (!dir_) {
    dir_.emplace("pdnsd-postgres");
    int code = -1;
    const std::string out = RunCommand(
        ShellWords(AsUnprivileged({bin + "/initdb", "-D", dir_->File("data"), "-U", kSuperuser,
                                   "-A", "trust", "-E", "UTF8", "--no-sync"})) +
            " 2>&1",
        &code);
    if (code != 0) {
      return Status::Internal("initdb failed (exit " + std::to_string(code) + "): " + out);
    }
  }
  Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreePort("127.0.0.1");
    status = process_.Start(
        AsUnprivileged({bin + "/postgres", "-D", dir_->File("data"), "-p", std::to_string(port_),
                        "-k", dir_->path(), "-c", "listen_addresses=127.0.0.1"}),
        dir_->File("postgres.log"));
    if (!status.ok()) return status;
    const bool ready = WaitFor(
        [&] {
          if (!process_.IsRunning()) return true;
          int code = -1;
          Sql("postgres", "select 1", &code);
          return code == 0;
        },
        kStartTimeout, std::chrono::milliseconds(50));
    if (ready && process_.IsRunning()) return Status::Ok();
    const bool port_taken = process_.LogSinceStart().find("could not bind") != std::string::npos;
    process_.Kill();
    status = Status::Unavailable("postgres did not start on port " + std::to_string(port_) + ": " +
                                 process_.LogTail(10));
    if (!port_taken) return status;
  }
  return status;
}

int PostgresServer::Stop() {
  if (!process_.IsRunning()) return process_.exit_code().value_or(-1);
  process_.Signal(SIGINT);  // "fast" shutdown: does not wait for clients to disconnect
  if (auto code = process_.WaitExit(std::chrono::seconds(10))) return *code;
  return process_.Kill();
}

StatusOr<PgsqlDatabase> PostgresServer::CreatePdnsDatabase(const std::string& name) {
  if (!ValidDatabaseName(name)) return Status::InvalidArgument("bad database name " + name);
  int code = -1;
  std::string out = Sql("postgres", "CREATE DATABASE \"" + name + "\"", &code);
  if (code != 0) return Status::Internal("CREATE DATABASE " + name + ": " + out);
  out = RunCommand(
      ShellWords({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                  std::to_string(port_), "-U", kSuperuser, "-d", name, "-f", kPdnsSchema}) +
          " 2>&1",
      &code);
  if (code != 0) {
    return Status::Internal("loading " + std::string(kPdnsSchema) + " into " + name + ": " + out);
  }
  PgsqlDatabase database;
  database.host = "127.0.0.1";
  database.port = port_;
  database.dbname = name;
  database.user = kSuperuser;
  return database;
}

std::string PostgresServer::Sql(const std::string& database, const std::string& query,
                                int* exit_code) const {
  return PgsqlQuery({"127.0.0.1", port_, database, kSuperuser}, query, exit_code);
}

}  // namespace pdnsd::testing
