#include "bus/bus.h"

#include "core/logging.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "bus/framing.h"
#include "core/thread_annotations.h"

namespace pdnsd {
namespace {

Status FromNats(natsStatus status, const std::string& what) {
  if (status == NATS_OK) return Status::Ok();
  const std::string message = what + ": " + natsStatus_GetText(status);
  if (status == NATS_TIMEOUT) return Status::Timeout(message);
  if (status == NATS_NO_RESPONDERS || status == NATS_CONNECTION_CLOSED ||
      status == NATS_CONNECTION_DISCONNECTED || status == NATS_NO_SERVER ||
      status == NATS_NOT_YET_CONNECTED) {
    return Status::Unavailable(message);
  }
  return Status::Internal(message);
}

// The frame a received message carries (framing.h): its body and our two headers. The views
// point into `msg`.
framing::Frame FrameOf(natsMsg* msg) {
  framing::Frame frame;
  if (natsMsg_GetDataLength(msg) > 0) {
    frame.body =
        std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  }
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, std::string(framing::kChunkHeader).c_str(), &value) == NATS_OK &&
      value != nullptr) {
    frame.chunk = value;
  }
  value = nullptr;
  if (natsMsgHeader_Get(msg, std::string(framing::kEncodingHeader).c_str(), &value) == NATS_OK &&
      value != nullptr) {
    frame.encoding = value;
  }
  return frame;
}

void SetHeader(natsMsg* msg, std::string_view key, std::string_view value) {
  natsMsgHeader_Set(msg, std::string(key).c_str(), std::string(value).c_str());
}

}  // namespace

StatusOr<std::vector<std::string>> SplitBrokerUrls(std::string_view urls) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = urls.find(',', start);
    std::string_view url = urls.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front())))
      url.remove_prefix(1);
    while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back())))
      url.remove_suffix(1);
    if (url.empty()) {
      return Status::InvalidArgument(out.empty() && comma == std::string_view::npos
                                         ? "no URL"
                                         : "an empty URL in the comma-separated list");
    }
    out.emplace_back(url);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

// Subscriptions unsubscribed while their connection lives, freed only once nats.c's read thread
// cannot be using them. nats.c 3.4 (Debian 12's) looks an incoming message's subscription up,
// lets go of the lookup's lock, copies the message and only then locks the subscription, holding
// no reference to it (nats.c 3.10 fixed that): a subscription freed right after its unsubscribe
// could be locked by the read thread after the free (bus_subscription_test,
// RequestsAnsweredByManyNeverFreeWhatTheReadThreadUses). The read thread takes in what the
// broker sends in order, so once a flush made after the unsubscribe has come back it is done
// with them; what is left is freed after the connection closed (its read thread joined).
class RetiredSubscriptions {
 public:
  // Takes `subscription`, which the caller unsubscribed. Every kBatch of them, flushes the
  // connection (at most a second) and frees those retired before the flush.
  void Add(natsConnection* connection, natsSubscription* subscription) EXCLUDES(mutex_) {
    std::vector<natsSubscription*> batch;
    {
      MutexLock lock(mutex_);
      retired_.push_back(subscription);
      if (retired_.size() < kBatch) return;
      batch.swap(retired_);
    }
    if (natsConnection_FlushTimeout(connection, 1000) == NATS_OK) {
      for (natsSubscription* retired : batch) natsSubscription_Destroy(retired);
      return;
    }
    MutexLock lock(mutex_);
    retired_.insert(retired_.end(), batch.begin(), batch.end());
  }

  // REQUIRES: the connection is closed.
  void FreeAll() EXCLUDES(mutex_) {
    MutexLock lock(mutex_);
    for (natsSubscription* retired : retired_) natsSubscription_Destroy(retired);
    retired_.clear();
  }

 private:
  static constexpr size_t kBatch = 64;
  Mutex mutex_;
  std::vector<natsSubscription*> retired_ GUARDED_BY(mutex_);
};

struct Bus::Callbacks {
  Logger logger;
  StateCallback on_state;
  StrayDeliveryCallback on_stray_delivery;
  std::string url;
  std::string username;
  std::string inbox_prefix;          // never empty: "_INBOX" or BusOptions::inbox_prefix
  std::atomic<bool> closing{false};  // ~Bus() closes: its disconnect is no loss to report
  Mutex mutex;
  std::condition_variable closed_cv;
  bool closed GUARDED_BY(mutex) = false;
  RetiredSubscriptions retired;
};

namespace {

// nats.c's error text without its "(conn.c:1905): " source position.
std::string WithoutSourcePosition(std::string text) {
  const size_t end = text.find("): ");
  if (!text.empty() && text.front() == '(' && end != std::string::npos) text.erase(0, end + 3);
  return text;
}

// Why connecting to the broker failed, in the operator's words, for the statuses that waiting
// cannot cure (wrong credentials, TLS on one side only); Ok for the others (broker down, ...).
Status ExplainConnectFailure(natsStatus status, const std::string& detail, const std::string& url,
                             const std::string& username) {
  const std::string user =
      username.empty() ? "without a user name" : "as user \"" + username + "\"";
  const std::string said = detail.empty() ? "" : " (" + WithoutSourcePosition(detail) + ")";
  switch (status) {
    case NATS_CONNECTION_AUTH_FAILED:
      return Status::Unavailable("authentication failed at the message broker " + url + " " + user +
                                 said + ": check [MessageBroker] Username and Password");
    case NATS_SECURE_CONNECTION_WANTED:
      return Status::Unavailable(
          "TLS asked for ([MessageBroker] TLS, TLSCAFile or TLSCertFile) but the message broker " +
          url + " does not offer TLS" + said);
    case NATS_SECURE_CONNECTION_REQUIRED:
      return Status::Unavailable("the message broker " + url +
                                 " requires TLS: set [MessageBroker] TLS = true (or TLSCAFile)" +
                                 said);
    case NATS_SSL_ERROR:
      return Status::Unavailable("TLS with the message broker " + url + " failed" + said);
    default:
      return Status::Ok();
  }
}

// nats.c reports an authorization violation sometimes as NATS_CONNECTION_AUTH_FAILED, sometimes
// as NATS_ERR carrying the server's "-ERR 'Authorization Violation'" text.
natsStatus Classify(natsStatus status, const std::string& detail) {
  if (status == NATS_ERR || status == NATS_NOT_PERMITTED) {
    std::string lower = detail;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("authorization violation") != std::string::npos ||
        lower.find("authentication") != std::string::npos) {
      return NATS_CONNECTION_AUTH_FAILED;
    }
  }
  return status;
}

}  // namespace

// Shared by the Subscription and nats.c (see the contract in bus.h). nats.c holds `keep_alive`
// from Subscribe() until its on-complete callback, which it calls after the last handler call
// has returned; the Subscription holds the other reference. Whichever lets go last frees it.
struct Subscription::State {
  natsSubscription* subscription = nullptr;
  natsConnection* connection = nullptr;
  RetiredSubscriptions* retired = nullptr;  // the Bus's, which outlives the Subscription
  // Takes each message (and must destroy it); Subscribe() makes a BusMessage of it.
  std::function<void(natsMsg*)> deliver;
  // Told of the JetStream deliveries dropped (Bus::Subscribe); set before the subscription.
  Bus::StrayDeliveryCallback on_stray_delivery;
  Logger logger;
  std::string subject;
  std::atomic<bool> stray_logged{false};
  // The delivery thread while it runs the handler, so that a handler that destroys its own
  // Subscription is told apart (it must not wait for itself).
  std::atomic<std::thread::id> delivering{};
  Mutex mutex;
  std::condition_variable done_cv;
  bool done GUARDED_BY(mutex) = false;
  std::shared_ptr<State> keep_alive GUARDED_BY(mutex);
};

Subscription::Subscription(std::shared_ptr<State> state) : state_(std::move(state)) {}

Subscription::~Subscription() {
  natsSubscription_Unsubscribe(state_->subscription);
  if (state_->delivering.load() != std::this_thread::get_id()) {
    // No time limit: the handler's captures may refer to objects its owner frees right after
    // this destructor returns, so returning earlier would let the handler use freed memory.
    MutexLock lock(state_->mutex);
    while (!state_->done) state_->done_cv.wait(lock.native());
  }
  // Called from the handler itself: nats.c's on-complete callback comes once it returns, and
  // keep_alive holds the state (the handler's captures included) until then.
  state_->retired->Add(state_->connection, state_->subscription);
}

// A Request() waiting for its reply: the reply subscription's handler hands it the messages
// that came on its reply subject, and RequestCanceller::Cancel() wakes it.
struct ReplyWaiter {
  Mutex mutex;
  std::condition_variable woken;
  std::deque<natsMsg*> messages GUARDED_BY(mutex);
  bool cancelled GUARDED_BY(mutex) = false;
};

// The replies to every Request() of a Bus come on one subscription, "<inbox prefix>.<unique>.*",
// made with the first request and kept until the Bus closes (nats.c's own request API does the
// same): a reply inbox per request is a SUB and an UNSUB per request, and was destroyed while
// nats.c's read thread could still be taking in a late or second reply for it (see
// RetiredSubscriptions). Each request has its own last subject token.
struct Bus::Replies {
  Mutex mutex;
  std::unique_ptr<Subscription> subscription GUARDED_BY(mutex);
  std::string prefix GUARDED_BY(mutex);  // "<inbox prefix>.<unique>."
  uint64_t last_token GUARDED_BY(mutex) = 0;
  std::unordered_map<std::string, ReplyWaiter*> waiting GUARDED_BY(mutex);

  // On the subscription's delivery thread: the message to its waiter, or dropped (a reply
  // after its request ended: a second responder, a reply after the timeout).
  void Deliver(natsMsg* msg) EXCLUDES(mutex) {
    MutexLock lock(mutex);
    auto found = waiting.find(natsMsg_GetSubject(msg));
    if (found == waiting.end()) {
      natsMsg_Destroy(msg);
      return;
    }
    ReplyWaiter* waiter = found->second;
    MutexLock waiter_lock(waiter->mutex);
    waiter->messages.push_back(msg);
    waiter->woken.notify_all();
  }
};

Bus::Bus(natsConnection* connection, std::unique_ptr<Callbacks> callbacks, Logger logger)
    : connection_(connection),
      callbacks_(std::move(callbacks)),
      replies_(std::make_unique<Replies>()),
      logger_(std::move(logger)) {}

StatusOr<std::unique_ptr<Bus>> Bus::Connect(const BusOptions& options, Logger logger,
                                            StateCallback on_state,
                                            StrayDeliveryCallback on_stray_delivery) {
  auto callbacks = std::make_unique<Callbacks>();
  callbacks->logger = logger;
  callbacks->on_state = std::move(on_state);
  callbacks->on_stray_delivery = std::move(on_stray_delivery);
  callbacks->url = options.url;
  callbacks->username = options.username;
  callbacks->inbox_prefix = options.inbox_prefix.empty() ? "_INBOX" : options.inbox_prefix;

  natsOptions* opts = nullptr;
  if (natsStatus s = natsOptions_Create(&opts); s != NATS_OK) return FromNats(s, "nats options");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(opts, natsOptions_Destroy);
  auto check = [&](natsStatus s, const char* what) -> Status { return FromNats(s, what); };
  // natsOptions_SetURL takes ONE URL (a list there is one bad URL that never connects): a
  // list goes to natsOptions_SetServers (jetstream_cluster_test).
  StatusOr<std::vector<std::string>> urls = SplitBrokerUrls(options.url);
  if (!urls.ok()) {
    return Status::InvalidArgument("bad [MessageBroker] URL \"" + options.url +
                                   "\": " + urls.status().message());
  }
  std::vector<const char*> servers;
  for (const std::string& url : *urls) servers.push_back(url.c_str());
  if (Status s =
          check(natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())),
                "broker URL");
      !s.ok()) {
    return Status::InvalidArgument("bad [MessageBroker] URL \"" + options.url + "\"");
  }
  if (!options.name.empty()) natsOptions_SetName(opts, options.name.c_str());
  if (!options.username.empty()) {
    natsOptions_SetUserInfo(opts, options.username.c_str(), options.password.c_str());
  }
  if (!options.inbox_prefix.empty()) {
    if (Status s = check(natsOptions_SetCustomInboxPrefix(opts, options.inbox_prefix.c_str()),
                         "inbox prefix");
        !s.ok()) {
      return Status::InvalidArgument("bad [MessageBroker] InboxPrefix \"" + options.inbox_prefix +
                                     "\"");
    }
  }
  if (options.tls || !options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
      !options.tls_hostname.empty()) {
    natsOptions_SetSecure(opts, true);
    if (!options.tls_hostname.empty()) {
      natsOptions_SetExpectedHostname(opts, options.tls_hostname.c_str());
    }
    if (!options.tls_ca_file.empty()) {
      if (Status s = check(natsOptions_LoadCATrustedCertificates(opts, options.tls_ca_file.c_str()),
                           "TLS CA file");
          !s.ok()) {
        return Status::InvalidArgument("cannot load [MessageBroker] TLSCAFile " +
                                       options.tls_ca_file);
      }
    }
    if (!options.tls_cert_file.empty()) {
      if (Status s = check(natsOptions_LoadCertificatesChain(opts, options.tls_cert_file.c_str(),
                                                             options.tls_key_file.c_str()),
                           "TLS client certificate");
          !s.ok()) {
        return Status::InvalidArgument("cannot load [MessageBroker] TLSCertFile/TLSKeyFile");
      }
    }
  }
  natsOptions_SetMaxReconnect(opts, -1);
  natsOptions_SetReconnectWait(opts, options.reconnect_wait.count());
  natsOptions_SetReconnectBufSize(opts, 64 * 1024 * 1024);
  natsOptions_SetSendAsap(opts,
                          true);  // replies without waiting for the flusher (docs/stack-notes.md)
  natsOptions_SetTimeout(opts, 2000);
  natsOptions_SetPingInterval(opts, 5000);
  natsOptions_SetMaxPingsOut(opts, 2);

  // nats.c runs these callbacks one at a time on its own thread, the closed callback last of
  // those posted before the close; ~Bus() frees `raw` once that one ran. Some JetStream
  // machinery (an ordered consumer's heartbeat check) can still post an error afterwards, so
  // every callback but the closed one looks at the connection first and touches `raw` only
  // while it is open (jetstream_test's WatchRecoversWhenItsConsumerIsDeleted hit this).
  Callbacks* raw = callbacks.get();
  natsOptions_SetDisconnectedCB(
      opts,
      [](natsConnection* nc, void* closure) {
        if (natsConnection_IsClosed(nc)) return;
        auto* cb = static_cast<Callbacks*>(closure);
        if (cb->closing) return;  // our own Close(): a normal stop
        cb->logger->warn("disconnected from the message broker; reconnecting");
        if (cb->on_state) cb->on_state(false);
      },
      raw);
  natsOptions_SetErrorHandler(
      opts,
      [](natsConnection* nc, natsSubscription*, natsStatus err, void* closure) {
        if (natsConnection_IsClosed(nc)) return;
        auto* cb = static_cast<Callbacks*>(closure);
        const char* text = nullptr;
        natsConnection_GetLastError(nc, &text);
        // An asynchronous error (a JetStream missed heartbeat) leaves the last error "".
        const std::string detail =
            text != nullptr && *text != '\0' ? text : natsStatus_GetText(err);
        const Status why =
            ExplainConnectFailure(Classify(err, detail), detail, cb->url, cb->username);
        if (!why.ok()) {
          cb->logger->error("{}", why.message());
        } else {
          cb->logger->warn("message broker: {}", detail);
        }
      },
      raw);
  natsOptions_SetReconnectedCB(
      opts,
      [](natsConnection* nc, void* closure) {
        if (natsConnection_IsClosed(nc)) return;
        auto* cb = static_cast<Callbacks*>(closure);
        char url[256] = "";
        natsConnection_GetConnectedUrl(nc, url, sizeof url);
        cb->logger->info("reconnected to the message broker at {}", url);
        if (cb->on_state) cb->on_state(true);
      },
      raw);
  natsOptions_SetClosedCB(
      opts,
      [](natsConnection* nc, void* closure) {
        auto* cb = static_cast<Callbacks*>(closure);
        if (!cb->closing) {
          // nats.c gave up (it does after the same authentication error twice in a row).
          const char* text = nullptr;
          const natsStatus last = natsConnection_GetLastError(nc, &text);
          const std::string detail = text != nullptr ? text : "";
          const Status why =
              ExplainConnectFailure(Classify(last, detail), detail, cb->url, cb->username);
          cb->logger->critical(
              "the connection to the message broker {} is closed for good{}{}; restart the "
              "service once the broker accepts it",
              cb->url, why.ok() ? "" : ": ",
              why.ok() ? WithoutSourcePosition(detail) : why.message());
          if (cb->on_state) cb->on_state(false);
        }
        MutexLock lock(cb->mutex);
        cb->closed = true;
        cb->closed_cv.notify_all();
      },
      raw);
  natsConnection* connection = nullptr;
  // One attempt in the foreground first: wrong credentials and TLS on one side only are
  // configuration errors that waiting does not cure, and in the background nats.c would close
  // the connection after a while without saying why.
  natsOptions_SetRetryOnFailedConnect(opts, false, nullptr, nullptr);
  natsStatus status = natsConnection_Connect(&connection, opts);
  if (status != NATS_OK) {
    const char* text = nats_GetLastError(nullptr);
    const std::string detail = text != nullptr ? text : "";
    const Status why =
        ExplainConnectFailure(Classify(status, detail), detail, options.url, options.username);
    if (!why.ok()) return why;
    // The broker is not there yet (down, unreachable, slow): connect in the background.
    natsOptions_SetRetryOnFailedConnect(
        opts, true,
        [](natsConnection* nc, void* closure) {
          auto* cb = static_cast<Callbacks*>(closure);
          char url[256] = "";
          natsConnection_GetConnectedUrl(nc, url, sizeof url);
          cb->logger->info("connected to the message broker at {}", url);
          if (cb->on_state) cb->on_state(true);
        },
        raw);
    status = natsConnection_Connect(&connection, opts);
  }
  if (status == NATS_NOT_YET_CONNECTED) {
    logger->warn("message broker {} not reachable yet; connecting in the background", options.url);
  } else if (status != NATS_OK) {
    return FromNats(status, "connecting to the message broker " + options.url);
  } else {
    logger->info("connected to the message broker at {}", options.url);
    if (raw->on_state) raw->on_state(true);
  }
  return std::unique_ptr<Bus>(new Bus(connection, std::move(callbacks), std::move(logger)));
}

Bus::~Bus() {
  std::unique_ptr<Subscription> replies;
  {
    MutexLock lock(replies_->mutex);
    replies = std::move(replies_->subscription);
  }
  replies.reset();  // outside the lock: it waits for a running Deliver(), which takes it
  // Every subscription is gone now, so the broker's answer to a flush comes after the last
  // message it sent us: the close then never cuts a message in half, which nats.c 3.4 would
  // leak (its parser frees a split message larger than its scratch buffer only once the message
  // is complete; natsParser_Destroy does not). Bounded, as a stop must be.
  if (natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED) {
    (void)natsConnection_FlushTimeout(connection_, 250);
  }
  callbacks_->closing = true;
  natsConnection_Close(connection_);
  {
    MutexLock lock(callbacks_->mutex);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!callbacks_->closed && callbacks_->closed_cv.wait_until(lock.native(), deadline) ==
                                      std::cv_status::no_timeout) {
    }
  }
  callbacks_->retired.FreeAll();  // the read thread was joined by the close
  natsConnection_Destroy(connection_);
}

Status Bus::Publish(std::string_view subject, std::string_view data) {
  const std::string subject_text(subject);
  return FromNats(natsConnection_Publish(connection_, subject_text.c_str(), data.data(),
                                         static_cast<int>(data.size())),
                  "publish on " + subject_text);
}

StatusOr<std::unique_ptr<Subscription>> Bus::Subscribe(const std::string& subject,
                                                       const std::string& queue_group,
                                                       BusHandler handler) {
  return SubscribeMessages(subject, queue_group, [handler = std::move(handler)](natsMsg* msg) {
    BusMessage message;
    message.subject = natsMsg_GetSubject(msg);
    if (const char* reply = natsMsg_GetReply(msg)) message.reply = reply;
    if (natsMsg_GetDataLength(msg) > 0) {
      message.data.assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    }
    natsMsg_Destroy(msg);
    handler(message);
  });
}

StatusOr<std::unique_ptr<Subscription>> Bus::SubscribeMessages(
    const std::string& subject, const std::string& queue_group,
    std::function<void(__natsMsg*)> deliver) {
  auto state = std::make_shared<Subscription::State>();
  state->connection = connection_;
  state->retired = &callbacks_->retired;
  state->deliver = std::move(deliver);
  state->on_stray_delivery = callbacks_->on_stray_delivery;
  state->logger = logger_;
  state->subject = subject;
  natsMsgHandler on_message = [](natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* st = static_cast<Subscription::State*>(closure);
    const char* reply = natsMsg_GetReply(msg);
    if (reply != nullptr && std::string_view(reply).starts_with("$JS.ACK.")) {
      const std::string delivered_on = natsMsg_GetSubject(msg);
      natsMsg_Destroy(msg);
      if (!st->stray_logged.exchange(true) && st->logger) {
        st->logger->warn(
            "message broker: dropped a JetStream delivery on {} (subscription {}): a consumer "
            "someone made delivers into it; later ones are counted, not logged",
            delivered_on, st->subject);
      }
      if (st->on_stray_delivery) st->on_stray_delivery(delivered_on);
      return;
    }
    st->delivering = std::this_thread::get_id();
    RunCatching(nullptr, "a NATS message handler", [&] { st->deliver(msg); });
    st->delivering = std::thread::id();
  };
  natsStatus status =
      queue_group.empty()
          ? natsConnection_Subscribe(&state->subscription, connection_, subject.c_str(), on_message,
                                     state.get())
          : natsConnection_QueueSubscribe(&state->subscription, connection_, subject.c_str(),
                                          queue_group.c_str(), on_message, state.get());
  if (status != NATS_OK) return FromNats(status, "subscribe to " + subject);
  // Never drop messages because a handler is slow: the limits are far above any backlog.
  natsSubscription_SetPendingLimits(state->subscription, 1000000, 1024 * 1024 * 1024);
  {
    MutexLock lock(state->mutex);
    state->keep_alive = state;  // nats.c's reference, until the on-complete callback
  }
  status = natsSubscription_SetOnCompleteCB(
      state->subscription,
      [](void* closure) {
        auto* st = static_cast<Subscription::State*>(closure);
        std::shared_ptr<Subscription::State> last;  // may free the state, after the unlock
        MutexLock lock(st->mutex);
        st->done = true;
        last = std::move(st->keep_alive);
        st->done_cv.notify_all();
      },
      state.get());
  if (status != NATS_OK) {
    // Closed before the callback was set (the connection closed): no on-complete will come, and
    // a handler may still run, so nats.c's reference is never released (the state leaks).
    natsSubscription_Destroy(state->subscription);
    return FromNats(status, "subscribe to " + subject);
  }
  return std::unique_ptr<Subscription>(new Subscription(std::move(state)));
}

// The requests in flight made with this canceller. Lock order: a canceller's mutex before a
// waiter's (Cancel()), Replies::mutex before a waiter's (Deliver()); never a waiter's first.
struct RequestCanceller::State {
  Mutex mutex;
  bool cancelled GUARDED_BY(mutex) = false;
  std::set<ReplyWaiter*> in_flight GUARDED_BY(mutex);
};

RequestCanceller::RequestCanceller() : state_(std::make_unique<State>()) {}
RequestCanceller::~RequestCanceller() = default;

void RequestCanceller::Cancel() {
  MutexLock lock(state_->mutex);
  state_->cancelled = true;
  for (ReplyWaiter* waiter : state_->in_flight) {
    MutexLock waiter_lock(waiter->mutex);
    waiter->cancelled = true;
    waiter->woken.notify_all();
  }
}

bool RequestCanceller::cancelled() const {
  MutexLock lock(state_->mutex);
  return state_->cancelled;
}

StatusOr<std::string> Bus::Request(std::string_view subject, std::string_view data,
                                   std::chrono::milliseconds timeout, RequestCanceller* canceller) {
  const std::string subject_text(subject);
  if (natsConnection_Status(connection_) != NATS_CONN_STATUS_CONNECTED) {
    return Status::Unavailable("message broker not connected");
  }
  const Status cancelled = Status::Unavailable("request on " + subject_text + " cancelled");
  ReplyWaiter waiter;
  std::string inbox;
  {
    MutexLock lock(replies_->mutex);
    if (replies_->subscription == nullptr) {
      // natsInbox_Create ignores the connection's custom prefix: it makes "_INBOX.<unique>",
      // whose unique part goes under ours.
      natsInbox* unique = nullptr;
      if (natsStatus s = natsInbox_Create(&unique); s != NATS_OK) return FromNats(s, "inbox");
      std::unique_ptr<natsInbox, decltype(&natsInbox_Destroy)> unique_guard(unique,
                                                                            natsInbox_Destroy);
      const std::string prefix = callbacks_->inbox_prefix +
                                 std::string(unique).substr(std::string_view("_INBOX").size()) +
                                 ".";
      Replies* replies = replies_.get();
      StatusOr<std::unique_ptr<Subscription>> subscription =
          SubscribeMessages(prefix + "*", "", [replies](natsMsg* msg) { replies->Deliver(msg); });
      if (!subscription.ok()) return subscription.status();
      replies_->subscription = std::move(*subscription);
      replies_->prefix = prefix;
    }
    inbox = replies_->prefix + std::to_string(++replies_->last_token);
    replies_->waiting.emplace(inbox, &waiter);
  }
  // Out of both maps before `waiter` goes: no one hands it a message or a cancel afterwards.
  auto forget = [&](ReplyWaiter* w) {
    {
      MutexLock lock(replies_->mutex);
      replies_->waiting.erase(inbox);
    }
    if (canceller != nullptr) {
      MutexLock lock(canceller->state_->mutex);
      canceller->state_->in_flight.erase(w);
    }
    MutexLock lock(w->mutex);
    for (natsMsg* msg : w->messages) natsMsg_Destroy(msg);
    w->messages.clear();
  };
  std::unique_ptr<ReplyWaiter, decltype(forget)> forget_guard(&waiter, forget);
  if (canceller != nullptr) {
    MutexLock lock(canceller->state_->mutex);
    if (canceller->state_->cancelled) return cancelled;
    canceller->state_->in_flight.insert(&waiter);
  }
  if (natsStatus s = natsConnection_PublishRequest(connection_, subject_text.c_str(), inbox.c_str(),
                                                   data.data(), static_cast<int>(data.size()));
      s != NATS_OK) {
    return FromNats(s, "request on " + subject_text);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  framing::FrameReader reader;
  while (!reader.done()) {
    natsMsg* msg = nullptr;
    {
      MutexLock lock(waiter.mutex);
      while (waiter.messages.empty() && !waiter.cancelled &&
             waiter.woken.wait_until(lock.native(), deadline) == std::cv_status::no_timeout) {
      }
      if (waiter.cancelled) return cancelled;
      if (waiter.messages.empty()) return Status::Timeout("no complete reply on " + subject_text);
      msg = waiter.messages.front();
      waiter.messages.pop_front();
    }
    std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> msg_guard(msg, natsMsg_Destroy);
    if (natsMsg_IsNoResponders(msg)) {
      return Status::Unavailable("no service answers on " + subject_text);
    }
    if (Status added = reader.Add(FrameOf(msg)); !added.ok()) return added;
  }
  return reader.TakePayload();
}

Status Bus::Respond(const BusMessage& request, std::string_view data) {
  if (request.reply.empty()) return Status::InvalidArgument("request has no reply subject");
  const size_t max_payload = static_cast<size_t>(natsConnection_GetMaxPayload(connection_));
  return framing::WriteFrames(data, max_payload, [&](const framing::Frame& frame) -> Status {
    if (!frame.chunk && !frame.encoding) {
      // No headers at all: a plain message, as peers without our framing send and expect.
      return FromNats(natsConnection_Publish(connection_, request.reply.c_str(), frame.body.data(),
                                             static_cast<int>(frame.body.size())),
                      "reply");
    }
    natsMsg* msg = nullptr;
    if (natsStatus s = natsMsg_Create(&msg, request.reply.c_str(), nullptr, frame.body.data(),
                                      static_cast<int>(frame.body.size()));
        s != NATS_OK) {
      return FromNats(s, "reply chunk");
    }
    std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> guard(msg, natsMsg_Destroy);
    if (frame.chunk) SetHeader(msg, framing::kChunkHeader, *frame.chunk);
    if (frame.encoding) SetHeader(msg, framing::kEncodingHeader, *frame.encoding);
    return FromNats(natsConnection_PublishMsg(connection_, msg), "reply chunk");
  });
}

bool Bus::IsConnected() const {
  return natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED;
}

Status Bus::Flush(std::chrono::milliseconds timeout) {
  return FromNats(natsConnection_FlushTimeout(connection_, timeout.count()), "flush");
}

void ShutdownBusLibrary() { nats_CloseAndWait(1000); }

}  // namespace pdnsd
