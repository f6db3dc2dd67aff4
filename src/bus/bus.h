// Bus: the services' only way to talk to each other, over a NATS connection (nats.c).
//
// Connect() returns at once even while the broker is down: the connection is made in the
// background and re-made forever after a loss; publishes meanwhile are buffered by nats.c.
// Handlers run on nats.c delivery threads (one per subscription) and must not block long.
//
// Payloads larger than the broker's message limit are carried as several messages (chunks,
// optionally zstd-compressed) on request/reply; framing.h decides what each message carries,
// and Respond()/Request() move the frames. A reply that fits one message is sent as plain
// JSON, so peers that know nothing of chunking (the original Go services) keep working.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/logging.h"
#include "core/status.h"

struct __natsConnection;
struct __natsMsg;
struct __natsSubscription;

namespace pdnsd {

struct BusOptions {
  // "nats://127.0.0.1:4222"; several separated by commas (the nodes of a cluster), each tried
  // in turn at start and after a loss, as are the nodes the broker announces.
  std::string url;
  std::string name;      // the connection's name as the broker shows it
  std::string username;  // [MessageBroker] Username / Password
  std::string password;
  std::string tls_ca_file;    // [MessageBroker] TLSCAFile: trust this CA (implies TLS)
  std::string tls_cert_file;  // [MessageBroker] TLSCertFile + TLSKeyFile: client certificate
  std::string tls_key_file;
  bool tls = false;  // [MessageBroker] TLS: require TLS even without a CA file
  // [MessageBroker] TLSHostname: the name the broker's certificate must carry. Without it
  // nats.c checks only that a trusted CA signed the certificate, whatever host it names.
  std::string tls_hostname;
  // [MessageBroker] InboxPrefix: the subject prefix of every reply inbox of this connection
  // (Request(), JetStream's API calls and deliveries), so that the broker can let each identity
  // subscribe to its own replies only (docs/security.md). Empty: nats.c's "_INBOX".
  std::string inbox_prefix;
  std::chrono::milliseconds reconnect_wait{250};
};

// The URLs of a BusOptions::url list: split at commas, blanks around each trimmed.
// InvalidArgument for an empty list or an empty entry ("a,,b", a trailing comma).
StatusOr<std::vector<std::string>> SplitBrokerUrls(std::string_view urls);

struct BusMessage {
  std::string subject;
  std::string reply;  // empty unless the sender expects an answer
  std::string data;
};

using BusHandler = std::function<void(const BusMessage&)>;

// Cancels the Bus::Request calls made with it. A service whose threads wait on peers owns one,
// passes it to each Request(), and calls Cancel() first thing in its Stop(): every request in
// flight then returns at once (Unavailable, "cancelled") instead of at its timeout, and later
// ones fail at once, so that Stop() can join those threads within its second. Thread-safe.
// REQUIRES: outlives every Request() made with it.
class RequestCanceller {
 public:
  RequestCanceller();
  ~RequestCanceller();
  RequestCanceller(const RequestCanceller&) = delete;
  RequestCanceller& operator=(const RequestCanceller&) = delete;

  void Cancel();
  bool cancelled() const;

 private:
  friend class Bus;
  struct State;
  std::unique_ptr<State> state_;
};

// An active subscription. Destroying it unsubscribes and then waits — without a time limit —
// until a handler call that is running has returned, so that after the destructor nothing of
// the subscription runs and the owner may free what the handler uses. Hence a handler must
// return in bounded time (a PowerDNS call within its timeout), or the owner's Stop() waits.
//
// Why wait rather than only keep the state alive: the handler's captures (the service object,
// usually) are freed by the owner right after the destructor, so shared ownership of the
// subscription's state alone would not make a still running handler safe. The state is shared
// all the same (nats.c holds a reference until its on-complete callback), for the one case that
// cannot wait: a handler that destroys its own Subscription does not wait for itself, and its
// state, captures included, lives until that handler call has returned.
class Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

 private:
  friend class Bus;
  struct State;
  explicit Subscription(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

class Bus {
 public:
  // Observer of connection state changes (metrics, logs); called from nats.c threads.
  using StateCallback = std::function<void(bool connected)>;
  // Observer of each JetStream delivery a subscription dropped (see Subscribe()), with the
  // subject it came on (a metric); called from nats.c threads.
  using StrayDeliveryCallback = std::function<void(const std::string& subject)>;

  static StatusOr<std::unique_ptr<Bus>> Connect(const BusOptions& options, Logger logger,
                                                StateCallback on_state = nullptr,
                                                StrayDeliveryCallback on_stray_delivery = nullptr);
  ~Bus();  // closes the connection; REQUIRES: every Subscription was destroyed before
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  Status Publish(std::string_view subject, std::string_view data);

  // Subscribes `handler` to `subject` (wildcards allowed); with a non-empty queue_group, each
  // message goes to one member of the group.
  //
  // Messages that a JetStream consumer delivered (reply subject "$JS.ACK.…") never reach the
  // handler: no subscription made here asks for them (the catalog is followed with
  // jetstream.h), and nats-server lets anyone who may create a consumer make it deliver into
  // any subject, with no check of its publish permissions — a stolen syncer password could
  // otherwise plant catalog entries as zone events or requests on other identities' subjects
  // (docs/security.md, broker_identity_test). Each drop goes to the StrayDeliveryCallback; the
  // first of each subscription is logged.
  StatusOr<std::unique_ptr<Subscription>> Subscribe(const std::string& subject,
                                                    const std::string& queue_group,
                                                    BusHandler handler);

  // Sends a request and waits for the whole reply (reassembling chunks). Unavailable when no
  // one listens on the subject (at once), the broker is not connected, or `canceller` (when
  // given) was cancelled before or during the wait; Timeout after `timeout` without the
  // complete reply.
  StatusOr<std::string> Request(std::string_view subject, std::string_view data,
                                std::chrono::milliseconds timeout,
                                RequestCanceller* canceller = nullptr);

  // Answers `request` (which must have a reply subject) with `data`, chunked when needed.
  Status Respond(const BusMessage& request, std::string_view data);

  bool IsConnected() const;

  // Waits until the broker has seen everything published so far.
  Status Flush(std::chrono::milliseconds timeout);

 private:
  // JetStream (jetstream.h) runs on this connection: nats.c's JetStream context is made from
  // the natsConnection, which stays private to the bus module.
  friend class JetStream;
  struct Callbacks;
  struct Replies;
  Bus(__natsConnection* connection, std::unique_ptr<Callbacks> callbacks, Logger logger);

  // Subscribe() for a `deliver` that takes nats.c's message itself (and destroys it): the
  // reply subscription of Request() needs its headers.
  StatusOr<std::unique_ptr<Subscription>> SubscribeMessages(
      const std::string& subject, const std::string& queue_group,
      std::function<void(__natsMsg*)> deliver);

  __natsConnection* connection_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<Replies> replies_;  // Request()'s one reply subscription and its waiters
  Logger logger_;
};

// Shuts nats.c's library threads down; call once at the end of main().
void ShutdownBusLibrary();

}  // namespace pdnsd
