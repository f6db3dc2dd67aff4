#include "core/http_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/thread_annotations.h"

namespace pdnsd {
namespace {

std::string LowerErrno(int error) {
  std::string reason = std::strerror(error);
  // strerror says "Address already in use"; operators grep for the lower-case phrase.
  for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return reason;
}

// A listening socket on `listen` (SO_REUSEADDR only: a restart can rebind a port in TIME_WAIT,
// a port another socket listens on fails), or the reason it cannot be made.
StatusOr<int> BindListener(const HostPort& listen, const std::string& what) {
  auto fail = [&](const std::string& reason) {
    return Status::Unavailable("cannot listen for " + what + " on " + listen.ToString() + ": " +
                               reason);
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(listen.port);
  const char* host = listen.host.empty() ? nullptr : listen.host.c_str();
  if (int rc = getaddrinfo(host, port.c_str(), &hints, &result); rc != 0) {
    return fail(gai_strerror(rc));
  }
  std::string reason = "no address";
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      reason = LowerErrno(errno);
      continue;
    }
    const int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) break;
    reason = LowerErrno(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(result);
  if (fd < 0) return fail(reason);
  return fd;
}

uint16_t BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

std::string AddressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address == nullptr) return "";
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

size_t ParseLength(const std::string& text, bool* ok) {
  *ok = !text.empty() && text.size() <= 19;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') *ok = false;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return *ok ? value : 0;
}

}  // namespace

void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// One request from its headers to the reply. Created by libmicrohttpd's URI callback, freed
// when libmicrohttpd says the request is over (Completed()).
struct Exchange {
  enum class Phase { kHeaders, kBody, kDiscarding, kWorking, kReplied };
  HttpListener::Impl* impl = nullptr;
  MHD_Connection* connection = nullptr;
  Phase phase = Phase::kHeaders;
  HttpRequest request;
  HttpReply reply;
  uint64_t discarded = 0;
  std::atomic<bool> reply_ready{false};  // set by the worker before it resumes the connection
};

struct HttpListener::Impl {
  Impl(HttpListenerOptions o, HttpRoutes r, Logger l)
      : options(std::move(o)), routes(std::move(r)), logger(std::move(l)) {}

  HttpListenerOptions options;
  HttpRoutes routes;
  Logger logger;
  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;

  // Workers.
  Mutex mutex;
  std::condition_variable cv;
  std::deque<Exchange*> queue GUARDED_BY(mutex);
  bool stopping GUARDED_BY(mutex) = false;
  std::vector<std::thread> workers;

  // The TLS accept thread (see RunAcceptor()).
  std::thread acceptor;
  int wake_fd[2] = {-1, -1};

  static void* UriCallback(void* cls, const char* uri, MHD_Connection* connection) {
    auto* impl = static_cast<Impl*>(cls);
    auto* exchange = new Exchange;
    exchange->impl = impl;
    exchange->connection = connection;
    exchange->request.target = uri;
    exchange->request.path = exchange->request.target.substr(0, exchange->request.target.find('?'));
    return exchange;
  }

  // The target is passed on as sent (the proxy forwards it): no %-decoding.
  static size_t KeepEscapes(void*, MHD_Connection*, char* text) { return std::strlen(text); }

  static void Completed(void*, MHD_Connection*, void** context, MHD_RequestTerminationCode) {
    delete static_cast<Exchange*>(*context);
    *context = nullptr;
  }

  static void LogFromLibrary(void* cls, const char* format, va_list arguments) {
    auto* impl = static_cast<Impl*>(cls);
    char line[512];
    vsnprintf(line, sizeof line, format, arguments);
    std::string text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    // Hostile clients make it talk (a bad handshake, a reset): debug, never a flood of warnings.
    impl->logger->debug("{}: {}", impl->options.what, text);
  }

  static MHD_Result Queue(MHD_Connection* connection, const HttpReply& reply) {
    MHD_Response* response = MHD_create_response_from_buffer(
        reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    for (const auto& [name, value] : reply.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    if (!reply.content_type.empty()) {
      MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
    }
    if (reply.close) MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
    const MHD_Result result =
        MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
    MHD_destroy_response(response);
    return result;
  }

  static MHD_Result QueueError(Exchange* exchange, int status, const std::string& message) {
    if (const auto& on_refused = exchange->impl->options.on_refused) {
      on_refused(exchange->request, status, message);
    }
    exchange->phase = Exchange::Phase::kReplied;
    exchange->reply = HttpReply{};
    exchange->reply.JsonError(status, message);
    exchange->reply.close = true;
    return Queue(exchange->connection, exchange->reply);
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection, const char*, const char* method,
                           const char*, const char* upload_data, size_t* upload_size,
                           void** context) {
    auto* impl = static_cast<Impl*>(cls);
    auto* exchange = static_cast<Exchange*>(*context);
    if (exchange == nullptr) return MHD_NO;
    const HttpListenerOptions& options = impl->options;
    switch (exchange->phase) {
      case Exchange::Phase::kHeaders:
        return impl->OnHeaders(exchange, method);
      case Exchange::Phase::kBody:
        if (*upload_size != 0) {
          if (exchange->request.body.size() + *upload_size > options.max_body_bytes) {
            exchange->phase = Exchange::Phase::kDiscarding;
            exchange->request.body.clear();
            exchange->request.body.shrink_to_fit();
            exchange->discarded += *upload_size;
          } else {
            exchange->request.body.append(upload_data, *upload_size);
          }
          *upload_size = 0;
          return MHD_YES;
        }
        return impl->Dispatch(exchange);
      case Exchange::Phase::kDiscarding:
        if (*upload_size != 0) {
          exchange->discarded += *upload_size;
          *upload_size = 0;
          // Closing without an answer is all that is left (see the header).
          return exchange->discarded > options.max_discarded_bytes ? MHD_NO : MHD_YES;
        }
        return QueueError(exchange, 413, impl->BodyTooLarge());
      case Exchange::Phase::kWorking:
        if (!exchange->reply_ready.load()) return MHD_YES;  // a spurious call: still working
        exchange->phase = Exchange::Phase::kReplied;
        return Queue(connection, exchange->reply);
      case Exchange::Phase::kReplied:
        return MHD_YES;
    }
    return MHD_NO;
  }

  std::string BodyTooLarge() const {
    const std::string bytes = std::to_string(options.max_body_bytes) + " bytes";
    if (options.max_body_name.empty()) return "request body larger than " + bytes;
    return "request body larger than " + options.max_body_name + " (" + bytes + ")";
  }

  MHD_Result OnHeaders(Exchange* exchange, const char* method) {
    HttpRequest& request = exchange->request;
    request.method = method;
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(exchange->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info != nullptr) request.client_address = AddressText(info->client_addr);
    MHD_get_connection_values(
        exchange->connection, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          static_cast<HttpRequest*>(cls)->headers.emplace_back(key, value ? value : "");
          return MHD_YES;
        },
        &request);
    // The request now waits only for its body: the header timeout gives way to the idle one.
    MHD_set_connection_option(exchange->connection, MHD_CONNECTION_OPTION_TIMEOUT,
                              static_cast<unsigned>(options.idle_timeout.count()));
    if (request.target.size() > options.max_target_bytes) {
      return QueueError(
          exchange, 414,
          "request target longer than " + std::to_string(options.max_target_bytes) + " bytes");
    }
    size_t header_bytes = request.method.size() + request.target.size() + 12;
    for (const auto& [name, value] : request.headers)
      header_bytes += name.size() + value.size() + 4;
    if (header_bytes > options.max_header_bytes || request.headers.size() > options.max_headers) {
      return QueueError(exchange, 431,
                        "request headers over " + std::to_string(options.max_header_bytes) +
                            " bytes or " + std::to_string(options.max_headers) + " lines");
    }
    if (const std::string* length = request.Header("Content-Length")) {
      bool ok = false;
      const size_t bytes = ParseLength(*length, &ok);
      if (ok && bytes > options.max_body_bytes) return QueueError(exchange, 413, BodyTooLarge());
    }
    exchange->phase = Exchange::Phase::kBody;
    return MHD_YES;
  }

  // The request is complete: suspend its connection and hand it to a worker.
  MHD_Result Dispatch(Exchange* exchange) {
    MutexLock lock(mutex);
    if (stopping) return QueueError(exchange, 503, options.what + " is stopping");
    if (queue.size() >= options.max_queued_requests) {
      return QueueError(exchange, 503, options.what + " is busy: try again");
    }
    exchange->phase = Exchange::Phase::kWorking;
    MHD_suspend_connection(exchange->connection);
    queue.push_back(exchange);
    cv.notify_one();
    return MHD_YES;
  }

  void RunWorker() {
    for (;;) {
      Exchange* exchange = nullptr;
      {
        MutexLock lock(mutex);
        while (!stopping && queue.empty()) cv.wait(lock.native());
        if (queue.empty()) return;
        exchange = queue.front();
        queue.pop_front();
      }
      try {
        routes.Dispatch(exchange->request, exchange->reply);
      } catch (const std::exception& e) {
        logger->error("{}: a handler failed on {} {}: {}", options.what, exchange->request.method,
                      exchange->request.path, e.what());
        exchange->reply = HttpReply{};
        exchange->reply.JsonError(500, "internal error");
      }
      exchange->reply_ready = true;
      MHD_resume_connection(exchange->connection);
    }
  }

  // With TLS, our own accept loop: a connection whose first byte is not a TLS handshake record
  // (0x16) is a client speaking plain HTTP to the HTTPS port; it gets a plain-HTTP 400 saying
  // so. The others go to libmicrohttpd. A client that sends nothing within header_timeout is
  // closed; pending connections count against the same limits as served ones.
  void RunAcceptor() {
    struct Pending {
      int fd;
      std::chrono::steady_clock::time_point deadline;
      sockaddr_storage address;
      socklen_t length;
      std::string client;
    };
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = listen_fd;
    epoll_ctl(epoll, EPOLL_CTL_ADD, listen_fd, &event);
    event.data.fd = wake_fd[0];
    epoll_ctl(epoll, EPOLL_CTL_ADD, wake_fd[0], &event);
    std::map<int, Pending> pending;
    std::map<std::string, unsigned> per_client;
    std::deque<std::pair<std::chrono::steady_clock::time_point, int>> deadlines;
    auto drop = [&](int fd, bool close_it) {
      auto it = pending.find(fd);
      if (it == pending.end()) return;
      epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
      if (--per_client[it->second.client] == 0) per_client.erase(it->second.client);
      if (close_it) close(fd);
      pending.erase(it);
    };
    std::vector<epoll_event> events(256);
    for (;;) {
      const int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 250);
      const auto now = std::chrono::steady_clock::now();
      bool stop = false;
      for (int i = 0; i < ready; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd[0]) {
          stop = true;
        } else if (fd == listen_fd) {
          for (int accepted = 0; accepted < 64; ++accepted) {
            Pending entry{};
            entry.length = sizeof entry.address;
            entry.fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&entry.address),
                               &entry.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (entry.fd < 0) break;
            entry.client = AddressText(reinterpret_cast<sockaddr*>(&entry.address));
            if (pending.size() >= options.max_connections ||
                per_client[entry.client] >= options.max_connections_per_client) {
              if (per_client[entry.client] == 0) per_client.erase(entry.client);
              close(entry.fd);
              continue;
            }
            ++per_client[entry.client];
            entry.deadline = now + options.header_timeout;
            deadlines.emplace_back(entry.deadline, entry.fd);
            epoll_event client{};
            // Edge-triggered: a partial first record is looked at again only when more arrives.
            client.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
            client.data.fd = entry.fd;
            epoll_ctl(epoll, EPOLL_CTL_ADD, entry.fd, &client);
            pending.emplace(entry.fd, std::move(entry));
          }
        } else {
          auto it = pending.find(fd);
          if (it == pending.end()) continue;
          unsigned char header[5] = {};
          const ssize_t n = recv(fd, header, sizeof header, MSG_PEEK);
          if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
          const FirstBytesVerdict verdict =
              ClassifyFirstBytes(header, n > 0 ? static_cast<size_t>(n) : 0,
                                 n >= 5 ? BytesAvailable(fd) : std::nullopt);
          if (verdict == FirstBytesVerdict::kClosed) {
            drop(fd, true);
          } else if (verdict == FirstBytesVerdict::kWaitForMore) {
            // A client that closed (or shut down its side) with its first record incomplete
            // will never complete it: close now, not at header_timeout (seen: 1,000 such
            // sockets open for 10 s after their clients had gone).
            if ((events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) drop(fd, true);
            // Else wait here: libmicrohttpd 0.9.75 polls a half-received handshake in a busy
            // loop (seen: 1,000 stalled ClientHellos kept its thread at 90% CPU): see
            // ClassifyFirstBytes().
            continue;
          } else if (verdict == FirstBytesVerdict::kTls) {
            Pending entry = it->second;
            drop(fd, false);
            // The handshake is several small writes: without TCP_NODELAY each waits for the
            // client's delayed ACK (+40 ms per connection, measured).
            const int yes = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
            // libmicrohttpd closes the socket itself when it refuses it (limits).
            MHD_add_connection(daemon, fd, reinterpret_cast<sockaddr*>(&entry.address),
                               entry.length);
          } else {
            AnswerPlainHttp(fd);
            drop(fd, true);
          }
        }
      }
      while (!deadlines.empty() && deadlines.front().first <= now) {
        const int fd = deadlines.front().second;
        deadlines.pop_front();
        auto it = pending.find(fd);
        // The fd may have been reused by a later connection with a later deadline.
        if (it != pending.end() && it->second.deadline <= now) drop(fd, true);
      }
      if (stop) break;
    }
    while (!pending.empty()) drop(pending.begin()->first, true);
    close(epoll);
  }

  // The bytes waiting on `fd` (FIONREAD); nullopt when the kernel does not say.
  static std::optional<size_t> BytesAvailable(int fd) {
    int available = 0;
    if (ioctl(fd, FIONREAD, &available) != 0) return std::nullopt;
    return static_cast<size_t>(std::max(available, 0));
  }

  void AnswerPlainHttp(int fd) {
    // Read what the client sent (so closing does not reset the connection under our answer).
    char discard[16384];
    while (recv(fd, discard, sizeof discard, 0) > 0) {
    }
    const std::string body =
        "{\"error\":\"this port speaks HTTPS: use https://" + host_port + "/\"}\n";
    const std::string answer =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)!send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
  }

  std::string host_port;
};

FirstBytesVerdict ClassifyFirstBytes(const unsigned char* peeked, size_t peeked_length,
                                     std::optional<size_t> available) {
  if (peeked_length == 0) return FirstBytesVerdict::kClosed;
  constexpr unsigned char kHandshakeRecord = 0x16;
  if (peeked[0] != kHandshakeRecord) return FirstBytesVerdict::kPlainHttp;
  constexpr size_t kRecordHeader = 5;
  if (peeked_length < kRecordHeader) return FirstBytesVerdict::kWaitForMore;
  const size_t record_length = (size_t{peeked[3]} << 8) | peeked[4];
  if (available && *available < kRecordHeader + record_length) {
    return FirstBytesVerdict::kWaitForMore;
  }
  return FirstBytesVerdict::kTls;
}

HttpListener::HttpListener(HttpListenerOptions options, HttpRoutes routes, Logger logger)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(routes), std::move(logger))) {}

HttpListener::~HttpListener() { Stop(); }

Status HttpListener::Start(const HostPort& listen) {
  Impl& impl = *impl_;
  const HttpListenerOptions& options = impl.options;
  RaiseOpenFileLimit();
  auto fd = BindListener(listen, options.what);
  if (!fd.ok()) return fd.status();
  impl.listen_fd = *fd;
  fcntl(impl.listen_fd, F_SETFL, fcntl(impl.listen_fd, F_GETFL) | O_NONBLOCK);
  bound_ = {listen.host, BoundPort(impl.listen_fd)};
  impl.host_port = bound_.ToString();

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  std::vector<MHD_OptionItem> items = {
      // First, so that libmicrohttpd's own start-up messages come here too.
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Impl::LogFromLibrary), &impl},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.header_timeout.count()),
       nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.max_connections), nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT,
       static_cast<intptr_t>(options.max_connections_per_client), nullptr},
      // Headers live in this buffer; twice the header limit leaves room to read on.
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT,
       static_cast<intptr_t>(2 * options.max_header_bytes + 16 * 1024), nullptr},
      {MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&Impl::UriCallback), &impl},
      {MHD_OPTION_UNESCAPE_CALLBACK, reinterpret_cast<intptr_t>(&Impl::KeepEscapes), &impl},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::Completed), &impl},
  };
  if (options.tls) {
    flags |= MHD_USE_TLS | MHD_USE_NO_LISTEN_SOCKET;
    items.push_back(
        {MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options.tls->cert_pem.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options.tls->key_pem.c_str())});
    items.push_back(
        {MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(options.tls->priorities.c_str())});
  } else {
    // libmicrohttpd accepts on it and closes it at MHD_stop_daemon().
    items.push_back({MHD_OPTION_LISTEN_SOCKET, impl.listen_fd, nullptr});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  impl.daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::Access, &impl, MHD_OPTION_ARRAY,
                                 items.data(), MHD_OPTION_END);
  if (impl.daemon == nullptr) {
    close(impl.listen_fd);
    impl.listen_fd = -1;
    return Status::InvalidArgument("cannot start " + options.what + " on " + bound_.ToString() +
                                   (options.tls ? ": the TLS certificate, key or priorities were "
                                                  "refused"
                                                : ""));
  }
  if (!options.tls) impl.listen_fd = -1;  // the daemon's now
  {
    MutexLock lock(impl.mutex);
    impl.stopping = false;
  }
  for (int i = 0; i < std::max(1, options.workers); ++i) {
    impl.workers.emplace_back([&impl] { impl.RunWorker(); });
  }
  if (options.tls) {
    if (pipe2(impl.wake_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
      Stop();
      return Status::Internal("cannot make a pipe for " + options.what);
    }
    impl.acceptor = std::thread([&impl] { impl.RunAcceptor(); });
  }
  return Status::Ok();
}

void HttpListener::Stop() {
  Impl& impl = *impl_;
  if (impl.daemon == nullptr) return;
  if (impl.acceptor.joinable()) {
    (void)!write(impl.wake_fd[1], "x", 1);
    impl.acceptor.join();
  }
  // Requests still waiting for a worker are answered 503 (each connection is resumed, so the
  // daemon can close it); the running ones finish.
  {
    MutexLock lock(impl.mutex);
    impl.stopping = true;
    for (Exchange* exchange : impl.queue) {
      exchange->reply = HttpReply{};
      exchange->reply.JsonError(503, impl.options.what + " is stopping");
      exchange->reply.close = true;
      exchange->reply_ready = true;
      MHD_resume_connection(exchange->connection);
    }
    impl.queue.clear();
  }
  impl.cv.notify_all();
  for (std::thread& worker : impl.workers) worker.join();
  impl.workers.clear();
  MHD_stop_daemon(impl.daemon);
  impl.daemon = nullptr;
  for (int& fd : impl.wake_fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  if (impl.listen_fd >= 0) close(impl.listen_fd);
  impl.listen_fd = -1;
}

}  // namespace pdnsd
