// ApiProxy: GET /changes (docs/architecture.md, "Change status"). The health-checker keeps the
// status of every change; the proxy checks the client's API key with PowerDNS (it never stores
// one), asks the health-checker over NATS and, with ?wait=, asks again until the change is
// INSYNC or the time is up.
#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "model/subjects.h"
#include "model/zone_name.h"
#include "services/api_proxy/api_proxy.h"
#include "services/api_proxy/api_proxy_internal.h"
#include "services/api_proxy/routes.h"

namespace pdnsd {
namespace {

// How long a change-status request waits for the health-checker.
constexpr std::chrono::seconds kStatusRequestTimeout{5};
// Between two looks at a change under ?wait=.
constexpr std::chrono::milliseconds kWaitPoll{50};
// An id younger than this that the health-checker does not know yet is asked for again: its
// event may still be on the way (it travels on another subscription than the request).
constexpr std::chrono::seconds kYoungChange{10};
constexpr std::chrono::milliseconds kUnknownGrace{2000};

}  // namespace

bool ApiProxy::ApiKeyAccepted(const HttpRequest& request, HttpReply& reply) {
  httplib::Client client(common_.powerdns.url.Origin());
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  httplib::Headers headers;
  if (const std::string* key = request.Header("X-API-Key")) headers.emplace("X-API-Key", *key);
  if (!BeginUpstreamCall(&client)) {
    reply.JsonError(503, "the proxy is stopping");
    return false;
  }
  httplib::Result result =
      client.Get(common_.powerdns.url.path + "/api/v1/servers/localhost", headers);
  EndUpstreamCall(&client);
  if (!result) {
    metrics_->rejected.Add({{"reason", "powerdns_unreachable"}}).Increment();
    reply.JsonError(
        502, "PowerDNS API at " + common_.powerdns.url.Origin() +
                 " is unreachable (it checks the API key): " + httplib::to_string(result.error()));
    return false;
  }
  if (result->status == 200) return true;
  if (result->status == 401) {
    CountApiKeyFailure(request.client_address);
    reply.JsonError(401, "Unauthorized: PowerDNS refused the X-API-Key");
    return false;
  }
  reply.JsonError(502,
                  "PowerDNS answered the API key check with " + std::to_string(result->status));
  return false;
}

std::string ApiProxy::AskChangeStatus(const ChangeStatusRequest& request, HttpReply& reply) {
  auto raw = bus_->Request(kChangeStatusSubject, EncodeChangeStatusRequest(request),
                           kStatusRequestTimeout, &status_requests_);
  reply = HttpReply{};
  if (!raw.ok()) {
    metrics_->rejected.Add({{"reason", "checker_unavailable"}}).Increment();
    reply.JsonError(503, "the health-checker did not answer (" + raw.status().message() +
                             "): change status unavailable");
    return "";
  }
  auto doc = ParseJsonObject(*raw);
  if (!doc.ok()) {
    reply.JsonError(502, "the health-checker's answer is not JSON");
    return "";
  }
  if (doc->contains("error_code")) {
    std::string code, error;
    (void)ReadStringField(*doc, "error_code", false, &code);
    (void)ReadStringField(*doc, "error", false, &error);
    reply.JsonError(code == "not_found" ? 404 : code == "bad_request" ? 400 : 502, error);
    return "";
  }
  reply.status = 200;
  reply.content_type = "application/json";
  reply.body = std::move(*raw);
  std::string status;
  (void)ReadStringField(*doc, "status", false, &status);
  return status;
}

void ApiProxy::HandleChanges(const HttpRequest& request, HttpReply& reply) {
  if (RefuseThrottled(request, reply)) return;
  const auto refuse = [&](int status, const std::string& message) {
    metrics_->rejected.Add({{"reason", "bad_change_request"}}).Increment();
    metrics_->change_requests.Add({{"result", "refused"}}).Increment();
    reply.JsonError(status, message);
  };
  ChangeStatusRequest ask;
  std::chrono::milliseconds wait{0};
  if (request.path == kChangesPath) {
    auto zone = QueryParameter(request.target, "zone");
    if (!zone.ok()) return refuse(400, zone.status().message());
    if (!*zone) return refuse(400, "GET /changes needs ?zone=<zone> (or use /changes/<id>)");
    auto normal = NormalizeZoneName(**zone);
    if (!normal.ok()) return refuse(400, "zone: " + normal.status().message());
    ask.zone = *normal;
    auto limit = QueryParameter(request.target, "limit");
    if (!limit.ok()) return refuse(400, limit.status().message());
    if (*limit) {
      const std::string& text = **limit;
      const bool digits =
          !text.empty() && text.size() <= 4 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || std::stoi(text) < 1 || std::stoi(text) > 1000) {
        return refuse(400, "limit must be 1 to 1000");
      }
      ask.limit = static_cast<uint32_t>(std::stoi(text));
    }
  } else {
    ask.id = request.path.substr(kChangesPath.size() + 1);
    if (!IsValidChangeId(ask.id)) {
      return refuse(400, "not a change id: " + TruncateUtf8(ask.id, 80) +
                             " (the X-Change-Id of a zone-changing answer)");
    }
    auto wait_text = QueryParameter(request.target, "wait");
    if (!wait_text.ok()) return refuse(400, wait_text.status().message());
    if (*wait_text) {
      auto parsed = ParseChangeWait(**wait_text);
      if (!parsed.ok()) return refuse(400, parsed.status().message());
      wait = *parsed;
    }
  }
  if (!ApiKeyAccepted(request, reply)) return;
  if (!ask.zone.empty()) {
    AskChangeStatus(ask, reply);
    metrics_->change_requests.Add({{"result", reply.status == 200 ? "list" : "refused"}})
        .Increment();
    return;
  }

  // A waiting request holds a handler thread: at most half of them wait at once.
  const int max_waiters = std::max(1, config_.workers / 2);
  bool waiting = false;
  if (wait.count() > 0) {
    MutexLock lock(upstream_mutex_);
    if (change_waiters_ >= max_waiters) {
      metrics_->rejected.Add({{"reason", "too_many_waiting"}}).Increment();
      reply.JsonError(503, std::to_string(change_waiters_) +
                               " requests are waiting for changes already (at most half of "
                               "[Service] Workers): try again, or ask without ?wait=");
      reply.headers.emplace_back("Retry-After", "1");
      return;
    }
    ++change_waiters_;
    waiting = true;
  }
  struct Release {
    ApiProxy* proxy;
    bool waiting;
    ~Release() {
      if (!waiting) return;
      MutexLock lock(proxy->upstream_mutex_);
      --proxy->change_waiters_;
    }
  } release{this, waiting};

  const Clock::TimePoint started = clock_->Now();
  const Clock::TimePoint deadline = started + wait;
  const std::optional<std::chrono::system_clock::time_point> written = ChangeIdTime(ask.id);
  const bool young = written && clock_->WallNow() - *written < kYoungChange;
  std::string status;
  for (;;) {
    status = AskChangeStatus(ask, reply);
    const Clock::TimePoint now = clock_->Now();
    const bool unknown_yet = reply.status == 404 && young && now - started < kUnknownGrace;
    if (status == "INSYNC" || (status.empty() && !unknown_yet) ||
        (!unknown_yet && now >= deadline)) {
      break;
    }
    MutexLock lock(upstream_mutex_);
    if (stopping_) break;
    const Clock::TimePoint next = std::min(
        now + kWaitPoll, unknown_yet ? std::max(deadline, started + kUnknownGrace) : deadline);
    clock_->WaitUntil(stopping_cv_, lock.native(), next);
    if (stopping_) break;
  }
  const char* result = reply.status == 404   ? "not_found"
                       : reply.status != 200 ? "refused"
                       : status == "INSYNC"  ? "insync"
                                             : "pending";
  metrics_->change_requests.Add({{"result", result}}).Increment();
}

}  // namespace pdnsd
