#include "support/processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
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

extern char** environ;

namespace pdnsd::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ErrnoText(const std::string& what, int err) { return what + ": " + std::strerror(err); }

// Numeric host (or "localhost") to a socket address.
bool MakeSockaddr(const std::string& host, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  std::memset(out, 0, sizeof(*out));
  const std::string h = host == "localhost" ? "127.0.0.1" : host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

int MillisUntil(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// A connected non-blocking TCP socket, or -1 with *error set.
int ConnectTcp(const HostPort& address, Clock::time_point deadline, std::string* error) {
  sockaddr_storage addr;
  socklen_t len = 0;
  if (!MakeSockaddr(address.host, address.port, &addr, &len)) {
    *error = "not a numeric address: " + address.host;
    return -1;
  }
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = ErrnoText("socket", errno);
    return -1;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno != EINPROGRESS) {
      *error = ErrnoText("connect to " + address.ToString(), errno);
      close(fd);
      return -1;
    }
    pollfd pfd{fd, POLLOUT, 0};
    const int n = poll(&pfd, 1, MillisUntil(deadline));
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    if (n <= 0) {
      *error = "connect to " + address.ToString() + ": timed out";
      close(fd);
      return -1;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len);
    if (so_error != 0) {
      *error = ErrnoText("connect to " + address.ToString(), so_error);
      close(fd);
      return -1;
    }
  }
  return fd;
}

bool SendAll(int fd, const std::string& data, Clock::time_point deadline, std::string* error) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      *error = ErrnoText("send", errno);
      return false;
    }
    pollfd pfd{fd, POLLOUT, 0};
    if (poll(&pfd, 1, MillisUntil(deadline)) <= 0) {
      *error = "send: timed out";
      return false;
    }
  }
  return true;
}

// Reads what is available into *buffer. Returns 1 on data, 0 on EOF, -1 on error/timeout.
int ReadSome(int fd, std::string* buffer, Clock::time_point deadline, std::string* error) {
  while (true) {
    char chunk[16384];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer->append(chunk, static_cast<size_t>(n));
      return 1;
    }
    if (n == 0) return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      *error = ErrnoText("recv", errno);
      return -1;
    }
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, MillisUntil(deadline)) <= 0) {
      *error = "read: timed out";
      return -1;
    }
  }
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Decodes a chunked body. Returns false while it is incomplete.
bool Dechunk(const std::string& raw, std::string* body) {
  body->clear();
  size_t pos = 0;
  while (true) {
    const size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    const size_t size = std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return true;  // trailers ignored
    if (raw.size() < pos + size + 2) return false;
    body->append(raw, pos, size);
    pos += size + 2;
  }
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

uint16_t FreePort(const std::string& host) {
  // The one piece of process-global state: ports handed out so far, so that two fixtures in one
  // test process never get the same port even if the first has not bound it yet.
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;

  for (int attempt = 0; attempt < 500; ++attempt) {
    sockaddr_storage addr;
    socklen_t len = 0;
    if (!MakeSockaddr(host, 0, &addr, &len)) {
      std::fprintf(stderr, "FreePort: not a numeric address: %s\n", host.c_str());
      std::abort();
    }
    const int tcp = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tcp < 0 || bind(tcp, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      std::fprintf(stderr, "FreePort: cannot bind TCP on %s: %s\n", host.c_str(),
                   std::strerror(errno));
      std::abort();
    }
    sockaddr_storage bound;
    socklen_t bound_len = sizeof(bound);
    getsockname(tcp, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    const uint16_t port =
        ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                         : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    MakeSockaddr(host, port, &addr, &len);
    const int udp = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool udp_ok = udp >= 0 && bind(udp, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    if (udp >= 0) close(udp);
    close(tcp);
    if (!udp_ok) continue;
    std::lock_guard<std::mutex> lock(mutex);
    if (handed_out.insert(port).second) return port;
  }
  std::fprintf(stderr, "FreePort: no free TCP+UDP port on %s\n", host.c_str());
  std::abort();
}

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
  std::string error;
  const int fd = ConnectTcp(address, Clock::now() + std::chrono::seconds(1), &error);
  if (fd < 0) return false;
  close(fd);
  return true;
}

StatusOr<std::string> ReadTcpGreeting(const HostPort& address, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string error;
  const int fd = ConnectTcp(address, deadline, &error);
  if (fd < 0) return Status::Unavailable(error);
  std::string buffer;
  while (buffer.find('\n') == std::string::npos) {
    const int r = ReadSome(fd, &buffer, deadline, &error);
    if (r <= 0) {
      close(fd);
      return Status::Unavailable("no greeting from " + address.ToString() + ": " +
                                 (r == 0 ? "connection closed" : error));
    }
  }
  close(fd);
  std::string line = buffer.substr(0, buffer.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

HttpResponse HttpCall(const std::string& method, const std::string& url, const HttpHeaders& headers,
                      const std::string& body, std::chrono::milliseconds timeout) {
  HttpResponse response;
  auto parsed = ParseHttpUrl(url);
  if (!parsed.ok()) {
    response.error = parsed.status().ToString();
    return response;
  }
  if (parsed->scheme != "http") {
    response.error = "HttpCall supports plain http only: " + url;
    return response;
  }
  const auto deadline = Clock::now() + timeout;
  const int fd = ConnectTcp(parsed->host_port, deadline, &response.error);
  if (fd < 0) return response;

  std::string request = method + " " + (parsed->path.empty() ? "/" : parsed->path) +
                        " HTTP/1.1\r\nHost: " + parsed->host_port.ToString() +
                        "\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    if (Lower(name) == "content-length") has_length = true;
    request += name + ": " + value + "\r\n";
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (!SendAll(fd, request, deadline, &response.error)) {
    close(fd);
    return response;
  }

  std::string raw;
  size_t header_end = std::string::npos;
  std::optional<size_t> content_length;
  bool chunked = false;
  while (true) {
    if (header_end == std::string::npos) {
      header_end = raw.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::istringstream lines(raw.substr(0, header_end));
        std::string line;
        std::getline(lines, line);
        // "HTTP/1.1 200 OK"
        const size_t space = line.find(' ');
        if (space != std::string::npos) response.status = std::atoi(line.c_str() + space + 1);
        while (std::getline(lines, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          const size_t colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string name = line.substr(0, colon);
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(" \t"));
          if (Lower(name) == "content-length")
            content_length = std::strtoull(value.c_str(), nullptr, 10);
          if (Lower(name) == "transfer-encoding" &&
              Lower(value).find("chunked") != std::string::npos) {
            chunked = true;
          }
          response.headers.emplace_back(std::move(name), std::move(value));
        }
      }
    }
    if (header_end != std::string::npos) {
      const std::string payload = raw.substr(header_end + 4);
      if (chunked && Dechunk(payload, &response.body)) break;
      if (!chunked && content_length && payload.size() >= *content_length) {
        response.body = payload.substr(0, *content_length);
        break;
      }
      if (method == "HEAD" || response.status == 204 || response.status == 304) break;
    }
    std::string error;
    const int r = ReadSome(fd, &raw, deadline, &error);
    if (r == 0) {
      if (header_end == std::string::npos) {
        response.status = 0;
        response.error = "connection closed before a complete HTTP header";
      } else if (!chunked) {
        response.body = raw.substr(header_end + 4);
      }
      break;
    }
    if (r < 0) {
      response.status = 0;
      response.body.clear();
      response.error = error;
      break;
    }
  }
  close(fd);
  return response;
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
                           const std::vector<std::string>& extra_env) {
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
    const int err_fd = error_pipe[1];  // O_CLOEXEC: closes itself on a successful exec
    bool closed = false;
    if (err_fd > 3) {
      closed = syscall(SYS_close_range, 3u, err_fd - 1u, 0u) == 0 &&
               syscall(SYS_close_range, err_fd + 1u, ~0u, 0u) == 0;
    } else if (err_fd == 3) {
      closed = syscall(SYS_close_range, 4u, ~0u, 0u) == 0;
    }
    for (int fd = 3; !closed && fd < max_fd; ++fd) {
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
      config += "jetstream {\n  store_dir: \"" + dir_->File("jetstream") + "\"\n}\n";
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

  if (access(database_path().c_str(), F_OK) != 0) {
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
  c += "launch=gsqlite3\n";
  c += "gsqlite3-database=" + database_path() + "\n";
  c += "gsqlite3-dnssec=yes\n";
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
  std::string command = "pdnsutil " + ShellQuote("--config-dir=" + config_dir());
  for (const auto& arg : args) command += " " + ShellQuote(arg);
  CommandResult result;
  result.output = RunCommand(command + " 2>&1", &result.exit_code);
  return result;
}

std::string PdnsServer::Sql(const std::string& query, int* exit_code) const {
  return RunCommand("sqlite3 -batch -cmd '.timeout 10000' " + ShellQuote(database_path()) + " " +
                        ShellQuote(query),
                    exit_code);
}

}  // namespace pdnsd::testing
