#include "support/processes.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "dns/wire.h"

extern char** environ;

namespace pdnsd::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ErrnoText(const std::string& what, int err) { return what + ": " + std::strerror(err); }

// A connected TCP socket to `address` (the dns module's socket helpers), bounded by `deadline`.
StatusOr<dnswire::UniqueFd> ConnectTcp(const HostPort& address, Clock::time_point deadline) {
  auto resolved = dnswire::ResolveHostPort(address);
  if (!resolved.ok()) return resolved.status();
  auto fd = dnswire::NewSocket(resolved->family(), SOCK_STREAM);
  if (!fd.ok()) return fd.status();
  if (Status s = dnswire::ConnectTcp(fd->get(), *resolved, deadline); !s.ok()) {
    return Status(s.code(), "connect to " + address.ToString() + ": " + s.message());
  }
  return std::move(*fd);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ResolveExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
  path += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string TailOfText(const std::string& text, int lines) {
  if (lines <= 0) return "";
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  int seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  return text.substr(pos);
}

// "<what>; last lines of <log>:\n<tail>"
std::string WithLog(const std::string& what, const ChildProcess& process) {
  return what + "\n--- last lines of " + process.log_path() + " (this run) ---\n" +
         TailOfText(process.LogSinceStart(), 40) + "--- end of log ---";
}

bool AddressInUse(const ChildProcess& process) {
  return Lower(process.LogSinceStart()).find("address already in use") != std::string::npos;
}

std::string RandomHex(size_t length) {
  std::random_device device;
  std::mt19937_64 engine(device());
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) out += kDigits[engine() % 16];
  return out;
}

std::string SafeName(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  return out.empty() ? "x" : out;
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Helpers

HeldPort::HeldPort(const std::string& host) {
  // The one piece of process-global state: ports handed out so far, so that two fixtures in one
  // test process never get the same port even if the first has not bound it yet.
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;

  const std::string numeric = host == "localhost" ? "127.0.0.1" : host;
  for (int attempt = 0; attempt < 500; ++attempt) {
    auto address = dnswire::ResolveHostPort({numeric, 0});
    if (!address.ok()) {
      std::fprintf(stderr, "HeldPort: %s\n", address.status().ToString().c_str());
      std::abort();
    }
    auto tcp = dnswire::NewSocket(address->family(), SOCK_STREAM);
    if (!tcp.ok() || bind(tcp->get(), address->get(), address->length) != 0) {
      std::fprintf(stderr, "HeldPort: cannot bind TCP on %s: %s\n", host.c_str(),
                   std::strerror(errno));
      std::abort();
    }
    // Listening: a bound socket that does not listen does not stop a SO_REUSEADDR bind.
    auto bound = dnswire::LocalAddress(tcp->get());
    if (!bound.ok() || listen(tcp->get(), 8) != 0) continue;
    address = dnswire::ResolveHostPort({numeric, bound->port});
    auto udp = dnswire::NewSocket(address->family(), SOCK_DGRAM);
    if (!udp.ok() || bind(udp->get(), address->get(), address->length) != 0) continue;
    std::lock_guard<std::mutex> lock(mutex);
    if (!handed_out.insert(bound->port).second) continue;
    port_ = bound->port;
    tcp_ = tcp->Release();
    udp_ = udp->Release();
    return;
  }
  std::fprintf(stderr, "HeldPort: no free TCP+UDP port on %s\n", host.c_str());
  std::abort();
}

HeldPort::~HeldPort() { Release(); }

void HeldPort::Release() {
  if (tcp_ >= 0) close(tcp_);
  if (udp_ >= 0) close(udp_);
  tcp_ = udp_ = -1;
}

uint16_t FreePort(const std::string& host) { return HeldPort(host).port(); }

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ShellWords(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) line += (line.empty() ? "" : " ") + ShellQuote(arg);
  return line;
}

std::string RunCommand(const std::string& shell_command, int* exit_code) {
  if (exit_code) *exit_code = -1;
  FILE* pipe = popen(shell_command.c_str(), "re");
  if (pipe == nullptr) return "";
  std::string output;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  const int status = pclose(pipe);
  if (exit_code && status != -1) *exit_code = DecodeWaitStatus(status);
  return output;
}

std::string DigShort(const HostPort& server, const std::string& name, const std::string& type,
                     const std::string& extra) {
  std::string command = "dig +short +time=2 +tries=2 -p " + std::to_string(server.port) + " @" +
                        server.host + " " + ShellQuote(name) + " " + ShellQuote(type);
  if (!extra.empty()) command += " " + extra;
  std::string out = RunCommand(command);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

namespace {
// The fields of /proc/<pid>/stat after the command name: [0] is field 3 (state), [1] field 4
// (ppid), [11]..[14] fields 14-17 (utime, stime, cutime, cstime); empty when the process is gone.
std::vector<std::string> ProcStatFields(pid_t pid) {
  const std::string stat =
      ReadFile(pid > 0 ? "/proc/" + std::to_string(pid) + "/stat" : "/proc/self/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 > stat.size()) return {};
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> tokens;
  for (std::string token; fields >> token;) tokens.push_back(token);
  if (tokens.size() < 15) return {};
  return tokens;
}

double Ticks(const std::string& field) {
  return std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  const std::vector<std::string> fields = ProcStatFields(pid);
  if (fields.empty()) return -1;
  return Ticks(fields[11]) + Ticks(fields[12]);
}

std::vector<pid_t> ChildPids(pid_t pid) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (const dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long child = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    const std::vector<std::string> fields = ProcStatFields(static_cast<pid_t>(child));
    if (!fields.empty() && std::atol(fields[1].c_str()) == pid) {
      children.push_back(static_cast<pid_t>(child));
    }
  }
  closedir(proc);
  return children;
}

double ProcessTreeCpuSeconds(pid_t pid) {
  const std::vector<std::string> fields = ProcStatFields(pid);
  if (fields.empty()) return -1;
  double total = Ticks(fields[11]) + Ticks(fields[12]) + Ticks(fields[13]) + Ticks(fields[14]);
  for (pid_t child : ChildPids(pid)) {
    const std::vector<std::string> own = ProcStatFields(child);
    if (own.empty()) continue;  // ended meanwhile: counted in the parent's cutime once reaped
    total += Ticks(own[11]) + Ticks(own[12]) + Ticks(own[13]) + Ticks(own[14]);
  }
  return total;
}

int64_t ProcessPeakRssBytes(pid_t pid) {
  std::istringstream status(
      ReadFile(pid > 0 ? "/proc/" + std::to_string(pid) + "/status" : "/proc/self/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
  }
  return -1;
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::Internal("cannot open " + path + " for writing");
  out << content;
  out.close();
  if (!out) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

std::string TailOfFile(const std::string& path, int lines) {
  return TailOfText(ReadFile(path), lines);
}

bool TcpPortOpen(const HostPort& address) {
  return ConnectTcp(address, Clock::now() + std::chrono::seconds(1)).ok();
}

StatusOr<std::string> ReadTcpGreeting(const HostPort& address, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto fd = ConnectTcp(address, deadline);
  if (!fd.ok()) return Status::Unavailable(fd.status().message());
  std::string buffer;
  while (buffer.find('\n') == std::string::npos) {
    std::string error;
    const dnswire::IoResult ready = dnswire::WaitReady(fd->get(), POLLIN, deadline, nullptr);
    if (ready != dnswire::IoResult::kOk) {
      error = dnswire::IoStatus(ready, "reading").ToString();
    } else {
      char chunk[4096];
      const ssize_t n = recv(fd->get(), chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      error = n == 0 ? "connection closed" : ErrnoText("recv", errno);
    }
    return Status::Unavailable("no greeting from " + address.ToString() + ": " + error);
  }
  std::string line = buffer.substr(0, buffer.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string HeaderValue(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
  }
  return "";
}

std::optional<double> MetricSum(std::string_view exposition, std::string_view name,
                                std::initializer_list<std::string_view> labels) {
  std::optional<double> sum;
  while (!exposition.empty()) {
    const size_t end = exposition.find('\n');
    const std::string_view line = exposition.substr(0, end);
    exposition = end == std::string_view::npos ? std::string_view() : exposition.substr(end + 1);
    if (line.size() <= name.size() || line.substr(0, name.size()) != name) continue;
    const char next = line[name.size()];
    if (next != '{' && next != ' ') continue;  // another metric with this prefix
    const size_t space = line.rfind(' ');
    const std::string_view label_set = line.substr(name.size(), space - name.size());
    bool matches = true;
    for (std::string_view label : labels) {
      matches = matches && label_set.find(label) != std::string_view::npos;
    }
    if (!matches) continue;
    sum = sum.value_or(0) + std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return sum;
}

HttpResponse HttpCall(const std::string& method, const std::string& url, const HttpHeaders& headers,
                      const std::string& body, std::chrono::milliseconds timeout) {
  // Test servers (the api-proxy) have self-signed certificates.
  return pdnsd::HttpCall(method, url, headers, body, timeout,
                         HttpClientTls{.verify = false, .ca_file = ""});
}

// ---------------------------------------------------------------------------------------------
// TempDir

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = (base && *base ? std::string(base) : std::string("/tmp")) + "/" +
                        SafeName(prefix) + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    std::fprintf(stderr, "TempDir: mkdtemp(%s) failed: %s\n", pattern.c_str(),
                 std::strerror(errno));
    std::abort();
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  const char* keep = std::getenv("PDNSD_KEEP_TEMP");
  if (keep && std::string(keep) == "1") {
    std::fprintf(stderr, "PDNSD_KEEP_TEMP=1: keeping %s\n", path_.c_str());
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir old(std::move(*this));
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

std::string TempDir::File(const std::string& name) const { return path_ + "/" + name; }

// ---------------------------------------------------------------------------------------------
// ChildProcess

ChildProcess::~ChildProcess() { Stop(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_path_(std::move(other.log_path_)),
      log_start_offset_(other.log_start_offset_),
      exit_code_(std::move(other.exit_code_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = std::exchange(other.pid_, -1);
    log_path_ = std::move(other.log_path_);
    log_start_offset_ = other.log_start_offset_;
    exit_code_ = std::move(other.exit_code_);
  }
  return *this;
}

Status ChildProcess::Start(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::vector<std::string>& extra_env,
                           const std::vector<int>& inherited_fds) {
  if (IsRunning()) return Status::Internal("process already running, pid " + std::to_string(pid_));
  if (argv.empty()) return Status::InvalidArgument("empty argv");
  const std::string executable = ResolveExecutable(argv[0]);
  if (executable.empty()) return Status::NotFound("executable not found: " + argv[0]);

  // Everything the child needs is prepared here: after fork() it only makes system calls.
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    const bool overridden = std::any_of(extra_env.begin(), extra_env.end(), [&](const auto& x) {
      return x.substr(0, x.find('=')) == key;
    });
    if (!overridden) env.push_back(entry);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv_ptrs, env_ptrs;
  for (const auto& a : argv) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
  argv_ptrs.push_back(nullptr);
  for (const auto& e : env) env_ptrs.push_back(const_cast<char*>(e.c_str()));
  env_ptrs.push_back(nullptr);

  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::Internal(ErrnoText("open log " + log_path, errno));
  const int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int error_pipe[2];
  if (dev_null < 0 || pipe2(error_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    close(log_fd);
    if (dev_null >= 0) close(dev_null);
    return Status::Internal(ErrnoText("pipe2", err));
  }
  struct stat st;
  log_start_offset_ = fstat(log_fd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  log_path_ = log_path;
  {
    std::string marker = "=== start " + executable;
    for (size_t i = 1; i < argv.size(); ++i) marker += " " + argv[i];
    marker += " ===\n";
    if (write(log_fd, marker.data(), marker.size()) < 0) {
      // best effort only
    }
  }
  rlimit limit{};
  const int max_fd = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                         ? static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20))
                         : 65536;

  // The child first moves the error pipe and the inherited descriptors above every descriptor
  // involved, so that placing the inherited ones at 3, 4, ... overwrites none of them.
  const int first_kept = 3 + static_cast<int>(inherited_fds.size());
  int move_base = std::max({first_kept, log_fd, dev_null, error_pipe[0], error_pipe[1]}) + 1;
  for (int fd : inherited_fds) move_base = std::max(move_base, fd + 1);
  std::vector<int> moved_fds(inherited_fds.size(), -1);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(log_fd);
    close(dev_null);
    close(error_pipe[0]);
    close(error_pipe[1]);
    return Status::Internal(ErrnoText("fork", err));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only (the parent may be multi-threaded and runs ASan).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
      signal(sig, SIG_DFL);
    }
    dup2(dev_null, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    // O_CLOEXEC: closes itself on a successful exec.
    const int err_fd = fcntl(error_pipe[1], F_DUPFD_CLOEXEC, move_base);
    if (err_fd < 0) _exit(127);
    for (size_t i = 0; i < inherited_fds.size(); ++i) {
      moved_fds[i] = fcntl(inherited_fds[i], F_DUPFD_CLOEXEC, move_base);
      if (moved_fds[i] < 0) _exit(127);
    }
    for (size_t i = 0; i < moved_fds.size(); ++i) {
      // dup2 clears close-on-exec on the new descriptor: these stay open in the program.
      if (dup2(moved_fds[i], 3 + static_cast<int>(i)) < 0) _exit(127);
    }
    // err_fd is the lowest descriptor at or above move_base; the moved copies lie above it.
    const bool closed = syscall(SYS_close_range, static_cast<unsigned>(first_kept),
                                static_cast<unsigned>(err_fd - 1), 0u) == 0 &&
                        syscall(SYS_close_range, static_cast<unsigned>(err_fd + 1), ~0u, 0u) == 0;
    for (int fd = first_kept; !closed && fd < max_fd; ++fd) {
      if (fd != err_fd) close(fd);
    }
    execve(executable.c_str(), argv_ptrs.data(), env_ptrs.data());
    const int err = errno;
    if (write(err_fd, &err, sizeof(err)) < 0) {
      // nothing more to do
    }
    _exit(127);
  }

  close(log_fd);
  close(dev_null);
  close(error_pipe[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(error_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  close(error_pipe[0]);
  pid_ = pid;
  exit_code_.reset();
  if (n == static_cast<ssize_t>(sizeof(exec_errno))) {
    Kill();
    return Status::Internal(ErrnoText("exec " + executable, exec_errno));
  }
  return Status::Ok();
}

std::string ChildProcess::LogSinceStart() const {
  const std::string all = ReadFile(log_path_);
  return log_start_offset_ <= all.size() ? all.substr(log_start_offset_) : all;
}

bool ChildProcess::IsRunning() {
  if (pid_ < 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  exit_code_ = r == pid_ ? DecodeWaitStatus(status) : -1;
  pid_ = -1;
  return false;
}

void ChildProcess::Signal(int signal) {
  if (IsRunning()) kill(pid_, signal);
}

std::optional<int> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto interval = std::chrono::milliseconds(1);
  while (IsRunning()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(interval);
    interval = std::min(interval * 2, std::chrono::milliseconds(20));
  }
  return exit_code_;
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!IsRunning()) return exit_code_.value_or(-1);
  kill(pid_, SIGTERM);
  if (auto code = WaitExit(grace)) return *code;
  return Kill();
}

int ChildProcess::Kill() {
  if (pid_ < 0) return exit_code_.value_or(-1);
  kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  exit_code_ = r == pid_ ? DecodeWaitStatus(status) : -1;
  pid_ = -1;
  return *exit_code_;
}

// ---------------------------------------------------------------------------------------------
// NatsServer

Status NatsServer::Start(const NatsOptions& options) {
  if (process_.IsRunning()) return Status::Internal("nats-server already running");
  const bool auto_port = options.port == 0;
  options_ = options;
  if (!dir_) dir_.emplace("pdnsd-nats");
  if (options_.server_name.empty()) options_.server_name = "pdnsd-test-" + RandomHex(12);
  configured_ = true;
  Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (auto_port) options_.port = FreePort(options_.host);
    std::string config = "# written by pdnsd::testing::NatsServer\n";
    config += "host: \"" + options_.host + "\"\n";
    config += "port: " + std::to_string(options_.port) + "\n";
    config += "server_name: \"" + options_.server_name + "\"\n";
    if (options_.jetstream) {
      config += "jetstream {\n  store_dir: \"" + dir_->File("jetstream") + "\"\n";
      if (options_.jetstream_max_file_store > 0) {
        config += "  max_file_store: " + std::to_string(options_.jetstream_max_file_store) + "\n";
      }
      config += "}\n";
    }
    if (!options_.extra_config.empty()) config += options_.extra_config + "\n";
    status = WriteFile(config_path(), config);
    if (!status.ok()) return status;
    status = StartOnce();
    if (status.ok() || !auto_port || !AddressInUse(process_)) return status;
  }
  return status;
}

Status NatsServer::Start() {
  if (!configured_) return Start(NatsOptions{});
  if (process_.IsRunning()) return Status::Internal("nats-server already running");
  return StartOnce();
}

Status NatsServer::StartOnce() {
  Status status = process_.Start({"nats-server", "-c", config_path()}, dir_->File("nats.log"));
  if (!status.ok()) return status;
  std::string last_error = "not tried";
  const bool ready = WaitFor([&] {
    if (!process_.IsRunning()) return true;
    auto greeting = ReadTcpGreeting(address(), std::chrono::seconds(2));
    if (!greeting.ok()) {
      last_error = greeting.status().ToString();
      return false;
    }
    if (greeting->rfind("INFO", 0) == 0 &&
        greeting->find("\"server_name\":\"" + options_.server_name + "\"") != std::string::npos) {
      return true;
    }
    last_error = "greeting is not from this server: " + *greeting;
    return false;
  });
  if (!process_.IsRunning()) {
    return Status::Unavailable(WithLog("nats-server exited during start with code " +
                                           std::to_string(process_.exit_code().value_or(-1)),
                                       process_));
  }
  if (!ready) {
    process_.Kill();
    return Status::Timeout(WithLog("nats-server on " + address().ToString() + " not ready after " +
                                       std::to_string(kStartTimeout.count()) + " ms (" +
                                       last_error + ")",
                                   process_));
  }
  return Status::Ok();
}

std::string NatsServer::url() const {
  return "nats://" + UrlHost(options_.host) + ":" + std::to_string(options_.port);
}

std::string NatsServer::config_path() const { return dir_ ? dir_->File("nats.conf") : ""; }

// ---------------------------------------------------------------------------------------------
// NatsCluster

namespace {

// The JSON of a monitoring answer; a discarded value when it is not JSON.
nlohmann::json ParseMonitor(const std::string& body) {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

// The stream's detail in a /jsz?accounts=true&streams=true answer (global account); null when
// absent.
nlohmann::json StreamDetail(const nlohmann::json& jsz, const std::string& stream) {
  if (!jsz.is_object() || !jsz.contains("account_details")) return nullptr;
  for (const auto& account : jsz["account_details"]) {
    if (!account.contains("stream_detail")) continue;
    for (const auto& detail : account["stream_detail"]) {
      if (detail.value("name", "") == stream) return detail;
    }
  }
  return nullptr;
}

}  // namespace

Status NatsCluster::Start(const NatsClusterOptions& options) {
  if (!nodes_.empty()) return Status::Internal("NatsCluster already started");
  if (options.nodes == 0) return Status::InvalidArgument("a cluster needs a node");
  cluster_name_ = "pdnsd-test-" + RandomHex(8);
  host_ = options.host;
  std::vector<uint16_t> client_ports;
  std::vector<uint16_t> route_ports;
  std::string routes;
  for (size_t i = 0; i < options.nodes; ++i) {
    client_ports.push_back(FreePort(host_));
    route_ports.push_back(FreePort(host_));
    monitor_ports_.push_back(FreePort(host_));
    routes += std::string(i == 0 ? "" : ", ") + "\"nats-route://" + UrlHost(host_) + ":" +
              std::to_string(route_ports[i]) + "\"";
  }
  nodes_.resize(options.nodes);
  for (size_t i = 0; i < options.nodes; ++i) {
    const std::string cluster =
        "http: \"" + UrlHost(host_) + ":" + std::to_string(monitor_ports_[i]) +
        "\"\ncluster {\n  name: \"" + cluster_name_ + "\"\n  listen: \"" + UrlHost(host_) + ":" +
        std::to_string(route_ports[i]) + "\"\n  routes: [" + routes + "]\n}";
    NatsOptions node = NatsOptions()
                           .WithHost(host_)
                           .WithPort(client_ports[i])
                           .WithServerName(cluster_name_ + "-n" + std::to_string(i))
                           .WithJetStream()
                           .WithConfig(cluster);
    if (!options.extra_config.empty()) node.WithConfig(options.extra_config);
    if (Status s = nodes_[i].Start(node); !s.ok()) return s;
  }
  return WaitForMetaLeader().status();
}

Status NatsCluster::StartNode(size_t index) {
  if (Status s = nodes_.at(index).Start(); !s.ok()) return s;
  return WaitForMetaLeader().status();
}

std::string NatsCluster::Monitor(size_t index, const std::string& path) {
  if (!nodes_.at(index).IsRunning()) return "";
  HttpResponse response = HttpCall(
      "GET", "http://" + UrlHost(host_) + ":" + std::to_string(monitor_ports_[index]) + path, {},
      "", std::chrono::seconds(5));
  return response.status == 200 ? response.body : "";
}

StatusOr<std::string> NatsCluster::WaitForMetaLeader(std::chrono::milliseconds timeout) {
  std::string views;
  std::string leader;
  const bool agreed = WaitFor(
      [&] {
        views.clear();
        leader.clear();
        bool same = true;
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (!nodes_[i].IsRunning()) continue;
          const nlohmann::json jsz = ParseMonitor(Monitor(i, "/jsz"));
          std::string seen;
          if (jsz.is_object() && jsz.contains("meta_cluster")) {
            seen = jsz["meta_cluster"].value("leader", "");
          }
          views += " n" + std::to_string(i) + ":" + (seen.empty() ? "none" : seen);
          // A killed leader is still named until the others' election timeout.
          const std::optional<size_t> named = IndexOf(seen);
          if (seen.empty() || !named || !nodes_[*named].IsRunning() ||
              (!leader.empty() && seen != leader)) {
            same = false;
          }
          if (leader.empty()) leader = seen;
        }
        return same && !leader.empty();
      },
      timeout, std::chrono::milliseconds(100));
  if (!agreed) {
    return Status::Timeout(
        "NatsCluster " + cluster_name_ + ": no agreed JetStream meta leader after " +
        std::to_string(timeout.count()) + " ms (leader as each node sees it:" + views + ")");
  }
  return leader;
}

std::string NatsCluster::MetaLeader() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const nlohmann::json jsz = ParseMonitor(Monitor(i, "/jsz"));
    if (!jsz.is_object() || !jsz.contains("meta_cluster")) continue;
    const std::string leader = jsz["meta_cluster"].value("leader", "");
    if (!leader.empty()) return leader;
  }
  return "";
}

std::string NatsCluster::StreamLeader(const std::string& stream) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const nlohmann::json detail =
        StreamDetail(ParseMonitor(Monitor(i, "/jsz?accounts=true&streams=true")), stream);
    if (!detail.is_object() || !detail.contains("cluster")) continue;
    const std::string leader = detail["cluster"].value("leader", "");
    if (!leader.empty()) return leader;
  }
  return "";
}

Status NatsCluster::WaitForStreamCurrent(const std::string& stream,
                                         std::chrono::milliseconds timeout) {
  std::string last;
  const bool current = WaitFor(
      [&] {
        const std::optional<size_t> leader = IndexOf(StreamLeader(stream));
        if (!leader) {
          last = "no leader";
          return false;
        }
        const nlohmann::json detail =
            StreamDetail(ParseMonitor(Monitor(*leader, "/jsz?accounts=true&streams=true")), stream);
        if (!detail.is_object() || !detail.contains("cluster")) {
          last = "the leader does not report the stream";
          return false;
        }
        last = detail["cluster"].dump();
        if (!detail["cluster"].contains("replicas")) return false;
        for (const auto& replica : detail["cluster"]["replicas"]) {
          if (!replica.value("current", false)) return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(100));
  if (!current) {
    return Status::Timeout("stream " + stream + " not current on every replica after " +
                           std::to_string(timeout.count()) + " ms: " + last);
  }
  return Status::Ok();
}

std::optional<size_t> NatsCluster::IndexOf(const std::string& server_name) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].server_name() == server_name) return i;
  }
  return std::nullopt;
}

std::optional<size_t> NatsCluster::NodeOfConnection(const std::string& connection_name) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const nlohmann::json connz = ParseMonitor(Monitor(i, "/connz"));
    if (!connz.is_object() || !connz.contains("connections")) continue;
    for (const auto& connection : connz["connections"]) {
      if (connection.value("name", "") == connection_name) return i;
    }
  }
  return std::nullopt;
}

std::string NatsCluster::urls() const {
  std::string out;
  for (const NatsServer& node : nodes_) out += (out.empty() ? "" : ",") + node.url();
  return out;
}

std::string PgsqlQuery(const PgsqlDatabase& database, const std::string& query, int* exit_code) {
  return RunCommand(ShellWords({"psql", "-X", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1", "-h",
                                database.host, "-p", std::to_string(database.port), "-U",
                                database.user, "-d", database.dbname, "-c", query}) +
                        " 2>&1",
                    exit_code);
}

// ---------------------------------------------------------------------------------------------
// PdnsServer

namespace {
constexpr const char* kSqliteSchema = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
}

Status PdnsServer::Start(const PdnsOptions& options) {
  if (process_.IsRunning())
    return Status::Internal("pdns_server " + options_.name + " already running");
  // Ports left at 0 keep the ones chosen by an earlier start.
  PdnsOptions merged = options;
  if (merged.dns_port == 0 && merged.host == options_.host) merged.dns_port = options_.dns_port;
  if (merged.api_port == 0 && merged.host == options_.host) merged.api_port = options_.api_port;
  const bool auto_dns = merged.dns_port == 0;
  const bool auto_api = merged.api_port == 0;
  options_ = merged;
  if (!dir_) dir_.emplace("pdnsd-" + options_.name);
  if (!options_.api_key.empty()) api_key_ = options_.api_key;
  if (api_key_.empty()) api_key_ = "test-" + RandomHex(24);

  if (!options_.gpgsql && access(database_path().c_str(), F_OK) != 0) {
    int code = -1;
    const std::string out = RunCommand(
        "sqlite3 " + ShellQuote(database_path()) + " < " + ShellQuote(kSqliteSchema) + " 2>&1",
        &code);
    if (code != 0) {
      return Status::Internal("loading " + std::string(kSqliteSchema) + " into " + database_path() +
                              " failed (exit " + std::to_string(code) + "): " + out);
    }
  }

  Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (auto_dns) options_.dns_port = FreePort(options_.host);
    if (auto_api) options_.api_port = FreePort(options_.host);
    status = WriteConfig();
    if (!status.ok()) return status;
    status = StartOnce();
    if (status.ok() || !(auto_dns || auto_api) || !AddressInUse(process_)) return status;
  }
  return status;
}

Status PdnsServer::Start() {
  if (!dir_) return Start(PdnsOptions{});
  if (process_.IsRunning())
    return Status::Internal("pdns_server " + options_.name + " already running");
  return StartOnce();
}

Status PdnsServer::WriteConfig() {
  const std::string& host = options_.host;
  std::string c = "# written by pdnsd::testing::PdnsServer (" + options_.name + ")\n";
  if (const auto& pg = options_.gpgsql) {
    c += "launch=gpgsql\n";
    c += "gpgsql-host=" + pg->host + "\n";
    c += "gpgsql-port=" + std::to_string(pg->port) + "\n";
    c += "gpgsql-dbname=" + pg->dbname + "\n";
    c += "gpgsql-user=" + pg->user + "\n";
    c += "gpgsql-dnssec=yes\n";
  } else {
    c += "launch=gsqlite3\n";
    c += "gsqlite3-database=" + database_path() + "\n";
    c += "gsqlite3-dnssec=yes\n";
  }
  c += "local-address=" + host + "\n";
  c += "local-port=" + std::to_string(options_.dns_port) + "\n";
  c += "socket-dir=" + config_dir() + "\n";
  c += "daemon=no\nguardian=no\ndisable-syslog=yes\n";
  c += "api=yes\n";
  c += "api-key=" + api_key_ + "\n";
  c += "webserver=yes\n";
  c += "webserver-address=" + host + "\n";
  c += "webserver-port=" + std::to_string(options_.api_port) + "\n";
  c += "webserver-allow-from=127.0.0.0/8,::1\n";
  c += "security-poll-suffix=\n";
  c += "log-dns-queries=no\n";
  c += "loglevel=6\n";
  if (options_.role == PdnsRole::kPrimary) {
    c += "primary=yes\n";
    c += "allow-axfr-ips=127.0.0.0/8,::1\n";
  } else {
    c += "secondary=yes\n";
    c += "allow-notify-from=127.0.0.0/8,::1\n";
  }
  if (!options_.extra_config.empty()) c += "# extra_config\n";
  for (const auto& line : options_.extra_config) c += line + "\n";
  return WriteFile(config_dir() + "/pdns.conf", c);
}

Status PdnsServer::StartOnce() {
  Status status = process_.Start({"pdns_server", "--config-dir=" + config_dir(), "--daemon=no",
                                  "--guardian=no", "--disable-syslog"},
                                 config_dir() + "/pdns.log");
  if (!status.ok()) return status;
  std::string last_error = "not tried";
  const bool ready = WaitFor(
      [&] {
        if (!process_.IsRunning()) return true;
        const HttpResponse r = Api("GET", "/api/v1/servers/localhost");
        if (r.status != 200) {
          last_error = r.status == 0 ? "API: " + r.error
                                     : "API: HTTP " + std::to_string(r.status) + " " + r.body;
          return false;
        }
        if (!TcpPortOpen(dns_address())) {
          last_error = "DNS port " + dns_address().ToString() + " not open";
          return false;
        }
        return true;
      },
      kStartTimeout, std::chrono::milliseconds(50));
  if (!process_.IsRunning()) {
    return Status::Unavailable(WithLog("pdns_server " + options_.name +
                                           " exited during start with code " +
                                           std::to_string(process_.exit_code().value_or(-1)),
                                       process_));
  }
  if (!ready) {
    process_.Kill();
    return Status::Timeout(WithLog("pdns_server " + options_.name + " not ready after " +
                                       std::to_string(kStartTimeout.count()) + " ms (" +
                                       last_error + ")",
                                   process_));
  }
  return Status::Ok();
}

std::string PdnsServer::api_url() const {
  return "http://" + UrlHost(options_.host) + ":" + std::to_string(options_.api_port);
}

std::string PdnsServer::config_dir() const { return dir_ ? dir_->path() : ""; }

std::string PdnsServer::database_path() const { return dir_ ? dir_->File("pdns.sqlite3") : ""; }

HttpResponse PdnsServer::Api(const std::string& method, const std::string& path,
                             const std::string& body) const {
  HttpHeaders headers = {{"X-API-Key", api_key_}, {"Accept", "application/json"}};
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return HttpCall(method, api_url() + path, headers, body);
}

CommandResult PdnsServer::RunPdnsutil(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"pdnsutil", "--config-dir=" + config_dir()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string command = ShellWords(argv);
  CommandResult result;
  result.output = RunCommand(command + " 2>&1", &result.exit_code);
  return result;
}

std::string PdnsServer::Sql(const std::string& query, int* exit_code) const {
  if (options_.gpgsql) return PgsqlQuery(*options_.gpgsql, query, exit_code);
  return RunCommand("sqlite3 -batch -cmd '.timeout 10000' " + ShellQuote(database_path()) + " " +
                        ShellQuote(query),
                    exit_code);
}

}  // namespace pdnsd::testing
