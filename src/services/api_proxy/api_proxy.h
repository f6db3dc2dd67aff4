// ApiProxy: the HTTPS reverse proxy in front of the primary's PowerDNS API, and the change status
// of the changes made through it (GET /changes, answered from the health-checker over NATS).
//
// Forwards every request (method, raw target, end-to-end headers including X-API-Key, body)
// and returns PowerDNS's answer (status, end-to-end headers, body); hop-by-hop headers are not
// copied. PowerDNS unreachable: 502 with a JSON body. After a 2xx answer on a zone-changing
// route (routes.h) it publishes the zone event on the bus. A path naming an invalid zone is
// answered 400 without calling PowerDNS. A client address whose API keys PowerDNS refused
// too often gets 429 (auth_throttle.h). The API key is never logged.
//
// Threads: the listener's (core/http_listener.h: one epoll thread for every connection, an
// accept thread, `workers` handler threads); Stop() joins them within about a second: requests
// still waiting for PowerDNS after kStopGrace have their PowerDNS connection shut and are
// answered 503. PowerDNS may have applied such a write, so a zone-changing one publishes its
// event all the same (an event for an unchanged zone costs one transfer; a lost one, a stale
// zone until the next sweep).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <set>
#include <string>

#include "bus/bus.h"
#include "core/concurrency_limit.h"
#include "core/http_listener.h"
#include "core/logging.h"
#include "core/thread_annotations.h"
#include "model/messages.h"
#include "services/api_proxy/auth_throttle.h"
#include "services/api_proxy/config.h"
#include "services/common/service_main.h"

namespace prometheus {
class Registry;
}
namespace httplib {
class Client;
}

namespace pdnsd {

class ApiProxy : public Service {
 public:
  // How long Stop() lets requests waiting for PowerDNS finish before it cuts them off.
  static constexpr std::chrono::milliseconds kStopGrace{500};

  ApiProxy(ApiProxyConfig config, const ServiceEnvironment& environment);
  ~ApiProxy() override;

  Status Start() override;
  void Stop() override;
  // The bound address (after Start()).
  HostPort address() const { return listener_ ? listener_->address() : HostPort{}; }

 private:
  struct Metrics;
  void Handle(const HttpRequest& request, HttpReply& reply);
  // True (and `reply` is 429) when the client's wrong API keys are being throttled.
  bool RefuseThrottled(const HttpRequest& request, HttpReply& reply);
  // A 401 of PowerDNS: counted, and the client throttled past [Service] AuthFailureLimit.
  void CountApiKeyFailure(const std::string& client_address);
  // Publishes the zone event (with `change_id` unless empty); false when it could not.
  bool PublishEvent(ZoneEventType type, const std::string& zone, const std::string& change_id);
  // GET /changes/<id>[?wait=] and GET /changes?zone= (api_proxy_changes.cc).
  void HandleChanges(const HttpRequest& request, HttpReply& reply);
  // Whether PowerDNS accepts the request's X-API-Key (a GET of the server); on false `reply` is
  // the answer (401, 429 from the throttle, 502).
  bool ApiKeyAccepted(const HttpRequest& request, HttpReply& reply);
  // One change-status request to the health-checker; `reply` gets its answer or an error.
  // Returns the reply's "status" ("INSYNC", "PENDING") or "" when it was not a change.
  std::string AskChangeStatus(const ChangeStatusRequest& request, HttpReply& reply);
  // Registers a call to PowerDNS for Stop(); false once Stop() began (the caller answers 503).
  bool BeginUpstreamCall(httplib::Client* client);
  void EndUpstreamCall(httplib::Client* client);
  bool stopping() const;

  ApiProxyConfig config_;
  CommonConfig common_;
  Bus* bus_;
  Clock* clock_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  ConcurrencyLimit writes_;  // [PowerDNS] WriteConcurrency
  AuthFailureTracker auth_failures_;
  std::unique_ptr<HttpListener> listener_;

  RequestCanceller status_requests_;  // change-status requests to the health-checker
  mutable Mutex upstream_mutex_;
  std::condition_variable upstream_done_;
  std::condition_variable stopping_cv_;  // Stop() wakes the GET /changes?wait= waits
  bool stopping_ GUARDED_BY(upstream_mutex_) = false;
  int change_waiters_ GUARDED_BY(upstream_mutex_) = 0;
  std::set<httplib::Client*> upstream_calls_ GUARDED_BY(upstream_mutex_);
};

// The service as its binary (pdns-api-proxy) and the test harness build it: name, --help line
// and config reader (services/common/service_main.h).
ServiceDefinition ApiProxyDefinition();

}  // namespace pdnsd
