// Test fixtures that run REAL processes: nats-server, pdns_server, and any other program.
//
// Everything here is for tests only. Each server gets free loopback ports and its own temporary
// directory; every wait is bounded (kStartTimeout) and failures come back as a Status whose
// message includes the tail of the process log, so a test can simply write (PDNSD_ASSERT_OK is in
// support/status_assertions.h)
//
//   pdnsd::testing::NatsServer nats;
//   PDNSD_ASSERT_OK(nats.Start(NatsOptions().WithJetStream()));
//   pdnsd::testing::PdnsServer primary;
//   PDNSD_ASSERT_OK(primary.Start(PdnsOptions().WithName("primary")));
//   auto reply = primary.Api("POST", "/api/v1/servers/localhost/zones", R"({...})");
//   EXPECT_EQ(DigShort(primary.dns_address(), "example.org", "SOA"), "...");
//
// Child processes get PR_SET_PDEATHSIG=SIGKILL, so nothing survives a crashed test. Note that the
// death signal is tied to the THREAD that started the child: start processes from the test's
// main thread (or a thread that outlives them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/http_client.h"
#include "core/net.h"
#include "core/status.h"

namespace pdnsd::testing {

// The bound for every wait in these fixtures (server start, port open, API ready).
inline constexpr std::chrono::milliseconds kStartTimeout{20000};

// ---------------------------------------------------------------------------------------------
// Small helpers

// A port on `host` held (a listening TCP and a bound UDP socket, no socket options) until
// Release() or destruction: nothing else can bind it meanwhile, e.g. a server's port that
// another server's config names before it starts, or "a port in use by another program".
// Never hands out the same port twice in one process (the only process-global state in this
// library: a mutex-guarded set of ports handed out so far). Aborts when no port is free.
class HeldPort {
 public:
  explicit HeldPort(const std::string& host = "127.0.0.1");
  ~HeldPort();
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;

  uint16_t port() const { return port_; }
  // Closes the sockets: the port is free for its user (another process may still take it).
  void Release();

 private:
  uint16_t port_ = 0;
  int tcp_ = -1;
  int udp_ = -1;
};

// A HeldPort released at once: free for both TCP and UDP right now. Another process may still
// take it before use; the servers below retry with new ports when their first start fails
// with auto-chosen ports.
uint16_t FreePort(const std::string& host = "127.0.0.1");

// Quotes `arg` for /bin/sh: 'it'\''s'.
std::string ShellQuote(const std::string& arg);
// Each of `argv` quoted, joined by spaces: a command line for RunCommand.
std::string ShellWords(const std::vector<std::string>& argv);

// Runs `shell_command` with /bin/sh and returns its stdout (stderr is not captured; append
// "2>&1" to get it). *exit_code (if given) is the exit status, 128+N when killed by signal N,
// or -1 when the shell could not be started.
std::string RunCommand(const std::string& shell_command, int* exit_code = nullptr);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
  bool ok() const { return exit_code == 0; }
};

// `dig +short` against one server (UDP, short timeouts); the answer lines without a trailing
// newline, "" when there is no answer. `extra` is appended as is (e.g. "+tcp").
std::string DigShort(const HostPort& server, const std::string& name, const std::string& type,
                     const std::string& extra = "");

std::string ReadFile(const std::string& path);  // "" when it cannot be read

// CPU seconds (utime + stime, from /proc/<pid>/stat) process `pid` has used, 0: this process;
// -1 when the process is gone.
double ProcessCpuSeconds(pid_t pid);
// The pids of the living children of `pid`.
std::vector<pid_t> ChildPids(pid_t pid);
// CPU seconds of `pid` with its children: its own, its reaped children's (cutime + cstime) and
// each living child's (with the child's reaped children), e.g. PostgreSQL's postmaster and its
// backends; -1 when the process is gone.
double ProcessTreeCpuSeconds(pid_t pid);
// Peak resident set (VmHWM in /proc/<pid>/status) of process `pid` in bytes, 0: this process;
// -1 when the process is gone.
int64_t ProcessPeakRssBytes(pid_t pid);
Status WriteFile(const std::string& path, const std::string& content);
// The last `lines` lines of a file (for failure messages).
std::string TailOfFile(const std::string& path, int lines = 40);

// Polls `condition` every `interval` until it is true (returns true) or `timeout` passes.
template <typename Condition>
bool WaitFor(Condition&& condition, std::chrono::milliseconds timeout = kStartTimeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

// True when a TCP connection to `address` succeeds (one attempt, 1 s connect timeout).
bool TcpPortOpen(const HostPort& address);

// Connects over TCP and returns the first line the peer sends (without CR/LF), e.g. NATS "INFO".
StatusOr<std::string> ReadTcpGreeting(const HostPort& address,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

// ---------------------------------------------------------------------------------------------
// The harness's one HTTP client: the product's (core/http_client.h), without certificate checks
// (test servers have self-signed certificates).
using pdnsd::HttpHeaders;
using pdnsd::HttpResponse;

// `url` is "http(s)://host:port/path?query" (IPv6 hosts in brackets); https does not verify the
// certificate. One request per call. A body gets Content-Length; add a Content-Type header
// yourself (cpp-httplib defaults to text/plain).
HttpResponse HttpCall(const std::string& method, const std::string& url,
                      const HttpHeaders& headers = {}, const std::string& body = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The value of `response`'s header `name` (case-insensitive); "" when it has none.
std::string HeaderValue(const HttpResponse& response, const std::string& name);

// The sum of the samples of metric `name` in a Prometheus text exposition whose label set
// contains every one of `labels` (each `key="value"`); nullopt when no sample matched.
std::optional<double> MetricSum(std::string_view exposition, std::string_view name,
                                std::initializer_list<std::string_view> labels = {});

// ---------------------------------------------------------------------------------------------

// A temporary directory (mkdtemp under $TMPDIR or /tmp), removed recursively by the destructor
// unless the environment has PDNSD_KEEP_TEMP=1. Move-only.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pdnsd-test");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

// One child process, stdout+stderr appended to a log file. Move-only; the destructor stops it.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (searched in PATH, then /usr/sbin and /sbin) with argv. `extra_env` holds
  // "KEY=VALUE" entries that override the inherited environment. `inherited_fds` are open
  // descriptors of this process that the child gets as 3, 4, ... in order (e.g. the two pipes
  // of Chromium's --remote-debugging-pipe); every other descriptor above 2 is closed. The log
  // file is appended to (a "=== start ..." line marks each start). Error when already running or
  // exec fails.
  Status Start(const std::vector<std::string>& argv, const std::string& log_path,
               const std::vector<std::string>& extra_env = {},
               const std::vector<int>& inherited_fds = {});

  bool IsRunning();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string LogTail(int lines = 40) const { return TailOfFile(log_path_, lines); }
  // What the log file got since the last Start() (the whole file keeps earlier runs).
  std::string LogSinceStart() const;

  // Sends `signal` if running.
  void Signal(int signal);
  // Waits for the process to end: its exit code (128+N when killed by signal N), or nullopt on
  // timeout. When it has already ended, the last exit code.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout = kStartTimeout);
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code (-1 if never started).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL and reap. Returns the exit code.
  int Kill();
  // The exit code of the last run once it has ended.
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  pid_t pid_ = -1;  // -1 when not running
  std::string log_path_;
  size_t log_start_offset_ = 0;
  std::optional<int> exit_code_;
};

// ---------------------------------------------------------------------------------------------

// Options are set with the chainable With...() setters, e.g.
//   nats.Start(NatsOptions().WithHost("::1").WithJetStream())
// (g++ 12 with -Wextra warns about designated initializers that leave out members).
struct NatsOptions {
  std::string host = "127.0.0.1";  // or "::1"
  uint16_t port = 0;               // 0: FreePort(host)
  bool jetstream = false;          // store_dir inside the server's TempDir (kept across restarts)
  // JetStream's max_file_store (bytes) when > 0: the "disk" the server may use for streams.
  int64_t jetstream_max_file_store = 0;
  std::string extra_config;  // appended to the config file: authorization, tls, ... blocks
  // Empty: a unique generated name. Start() waits for an INFO line carrying this name, so a
  // server someone else runs on the same port is never taken for ours. Do not set server_name
  // in extra_config.
  std::string server_name;

  NatsOptions& WithHost(std::string h) {
    host = std::move(h);
    return *this;
  }
  NatsOptions& WithPort(uint16_t p) {
    port = p;
    return *this;
  }
  NatsOptions& WithServerName(std::string n) {
    server_name = std::move(n);
    return *this;
  }
  NatsOptions& WithJetStream(bool on = true) {
    jetstream = on;
    return *this;
  }
  NatsOptions& WithMaxFileStore(int64_t bytes) {
    jetstream_max_file_store = bytes;
    return *this;
  }
  // Appends a block (a newline is added between blocks).
  NatsOptions& WithConfig(const std::string& text) {
    extra_config += text + "\n";
    return *this;
  }
};

// A nats-server run as `nats-server -c <dir>/nats.conf`.
class NatsServer {
 public:
  NatsServer() = default;
  ~NatsServer() = default;  // stops the server (ChildProcess), removes the TempDir
  NatsServer(NatsServer&&) = default;
  NatsServer& operator=(NatsServer&&) = default;

  // Writes the config and starts; returns once a TCP client gets this server's "INFO" line.
  Status Start(const NatsOptions& options);
  // Starts again with the same options, port and data (for reconnect tests); the first Start()
  // without options uses NatsOptions{}.
  Status Start();
  int Stop() { return process_.Stop(); }
  int Kill() { return process_.Kill(); }
  bool IsRunning() { return process_.IsRunning(); }

  // "nats://127.0.0.1:PORT" or "nats://[::1]:PORT"
  std::string url() const;
  HostPort address() const { return {options_.host, options_.port}; }
  uint16_t port() const { return options_.port; }
  const std::string& server_name() const { return options_.server_name; }
  std::string config_path() const;
  std::string log_path() const { return process_.log_path(); }
  std::string LogTail(int lines = 40) const { return process_.LogTail(lines); }
  ChildProcess& process() { return process_; }
  const ChildProcess& process() const { return process_; }

 private:
  Status StartOnce();

  NatsOptions options_;
  bool configured_ = false;
  std::optional<TempDir> dir_;
  ChildProcess process_;
};

// ---------------------------------------------------------------------------------------------

struct NatsClusterOptions {
  size_t nodes = 3;
  std::string host = "127.0.0.1";
  std::string extra_config;  // appended to every node's config (authorization, ...)

  NatsClusterOptions& WithHost(std::string h) {
    host = std::move(h);
    return *this;
  }
  NatsClusterOptions& WithNodes(size_t n) {
    nodes = n;
    return *this;
  }
  NatsClusterOptions& WithConfig(const std::string& text) {
    extra_config += text + "\n";
    return *this;
  }
};

// A nats-server cluster on loopback, e.g. the three nodes a replicated (R3) catalog needs:
//
//   NatsCluster nats;
//   PDNSD_ASSERT_OK(nats.Start());      // three nodes, JetStream, a meta leader elected
//   BusOptions bus; bus.url = nats.urls();
//   nats.KillNode(1); ... PDNSD_ASSERT_OK(nats.StartNode(1));
//
// Every node has JetStream with its own store dir (its NatsServer's TempDir), a unique
// server_name, a client port, a route port and a monitoring port; each node's routes name
// every node (nats-server skips the route to itself). The cluster name is unique per
// NatsCluster, so two test clusters never merge. What the nodes report (leaders, connections,
// stream sizes) is read from their monitoring endpoints (/jsz, /connz).
class NatsCluster {
 public:
  NatsCluster() = default;
  ~NatsCluster() = default;  // stops every node
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  // Starts every node, then waits until every node names the same JetStream meta leader.
  Status Start(const NatsClusterOptions& options = {});

  size_t size() const { return nodes_.size(); }
  NatsServer& node(size_t index) { return nodes_.at(index); }
  // SIGKILL / SIGTERM node `index`; its stored data stays for StartNode().
  int KillNode(size_t index) { return nodes_.at(index).Kill(); }
  int StopNode(size_t index) { return nodes_.at(index).Stop(); }
  // Starts node `index` again (same ports, name and data) and waits for a meta leader.
  Status StartNode(size_t index);

  // Waits until every running node names the same JetStream meta leader; its server_name.
  StatusOr<std::string> WaitForMetaLeader(std::chrono::milliseconds timeout = kStartTimeout);
  // The meta leader as the first running node that knows one says; "" when none does.
  std::string MetaLeader();
  // The server_name of the leader of stream `stream` (global account); "" when no running
  // node knows one.
  std::string StreamLeader(const std::string& stream);
  // Waits until stream `stream` has a leader and every replica the leader lists is current
  // (after a node's restart: it has caught up).
  Status WaitForStreamCurrent(const std::string& stream,
                              std::chrono::milliseconds timeout = kStartTimeout);
  // The node with that server_name.
  std::optional<size_t> IndexOf(const std::string& server_name) const;
  // The node a client connection named `connection_name` (BusOptions::name) is connected to.
  std::optional<size_t> NodeOfConnection(const std::string& connection_name);
  // GET <node's monitoring endpoint><path>, e.g. "/jsz?accounts=true&streams=true"; the body,
  // "" when the node does not answer.
  std::string Monitor(size_t index, const std::string& path);

  // "nats://127.0.0.1:a,nats://127.0.0.1:b,nats://127.0.0.1:c"
  std::string urls() const;
  const std::string& cluster_name() const { return cluster_name_; }

 private:
  std::string cluster_name_;
  std::string host_;
  std::vector<NatsServer> nodes_;
  std::vector<uint16_t> monitor_ports_;
};

// ---------------------------------------------------------------------------------------------

enum class PdnsRole { kPrimary, kSecondary };

// How PowerDNS's gpgsql backend reaches its database (support/postgres.h makes one).
struct PgsqlDatabase {
  std::string host;
  uint16_t port = 0;
  std::string dbname;
  std::string user;
};
// Runs `query` with psql on `database`: rows of "|"-separated fields, one a line (and psql's
// errors).
std::string PgsqlQuery(const PgsqlDatabase& database, const std::string& query,
                       int* exit_code = nullptr);

struct PdnsOptions {
  std::string name = "pdns";  // in the temp dir name and log lines
  PdnsRole role = PdnsRole::kPrimary;
  std::string host = "127.0.0.1";  // DNS and webserver/API address; "::1" works
  uint16_t dns_port = 0;           // 0: FreePort(host)
  uint16_t api_port = 0;           // 0: FreePort(host)
  // "key=value" lines appended to pdns.conf (a later line overrides an earlier one).
  std::vector<std::string> extra_config;
  std::string api_key;  // "": a random one, chosen at the first start
  // Set: the gpgsql backend on this database instead of gsqlite3 (the schema already loaded).
  std::optional<PgsqlDatabase> gpgsql;

  // e.g. PdnsOptions().WithName("sec1").Secondary().WithHost("::1").WithConfig("cache-ttl=0")
  PdnsOptions& WithName(std::string n) {
    name = std::move(n);
    return *this;
  }
  PdnsOptions& Primary() {
    role = PdnsRole::kPrimary;
    return *this;
  }
  PdnsOptions& Secondary() {
    role = PdnsRole::kSecondary;
    return *this;
  }
  PdnsOptions& WithHost(std::string h) {
    host = std::move(h);
    return *this;
  }
  PdnsOptions& WithPorts(uint16_t dns, uint16_t api) {
    dns_port = dns;
    api_port = api;
    return *this;
  }
  PdnsOptions& WithConfig(std::string line) {
    extra_config.push_back(std::move(line));
    return *this;
  }
  PdnsOptions& WithApiKey(std::string key) {
    api_key = std::move(key);
    return *this;
  }
  PdnsOptions& WithGpgsql(PgsqlDatabase database) {
    gpgsql = std::move(database);
    return *this;
  }
};

// One PowerDNS Authoritative (pdns_server) with its own config dir and sqlite3 database, or
// the PostgreSQL database its options name.
class PdnsServer {
 public:
  PdnsServer() = default;
  ~PdnsServer() = default;
  PdnsServer(PdnsServer&&) = default;
  PdnsServer& operator=(PdnsServer&&) = default;

  // First start: creates the config dir, pdns.conf and the database; returns when the API
  // answers and the DNS port accepts TCP. Calling it again rewrites pdns.conf (same db/ports
  // unless the options name other ports).
  Status Start(const PdnsOptions& options);
  // Starts again with the same config, data and ports (restart after Stop()/Kill()).
  Status Start();
  int Stop() { return process_.Stop(); }
  int Kill() { return process_.Kill(); }
  bool IsRunning() { return process_.IsRunning(); }

  HostPort dns_address() const { return {options_.host, options_.dns_port}; }
  HostPort api_address() const { return {options_.host, options_.api_port}; }
  // "http://127.0.0.1:PORT" or "http://[::1]:PORT"
  std::string api_url() const;
  const std::string& api_key() const { return api_key_; }
  std::string config_dir() const;
  std::string database_path() const;
  const PdnsOptions& options() const { return options_; }
  std::string log_path() const { return process_.log_path(); }
  std::string LogTail(int lines = 40) const { return process_.LogTail(lines); }
  ChildProcess& process() { return process_; }
  const ChildProcess& process() const { return process_; }

  // An API call: api_url() + path, with X-API-Key and (when body is not empty) JSON content type.
  HttpResponse Api(const std::string& method, const std::string& path,
                   const std::string& body = "") const;
  // `pdnsutil --config-dir=DIR args...` (each arg quoted); output is stdout+stderr.
  CommandResult RunPdnsutil(const std::vector<std::string>& args) const;
  // Runs `query` with the sqlite3 CLI on the database, or psql on a gpgsql one; returns its
  // stdout ("|"-separated rows).
  std::string Sql(const std::string& query, int* exit_code = nullptr) const;

 private:
  Status WriteConfig();
  Status StartOnce();

  PdnsOptions options_;
  std::string api_key_;
  std::optional<TempDir> dir_;
  ChildProcess process_;
};

}  // namespace pdnsd::testing
