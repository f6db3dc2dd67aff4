#include "services/api_proxy/api_proxy.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>

#include <strings.h>
#include "core/metrics.h"

#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "services/api_proxy/api_proxy_internal.h"
#include "services/api_proxy/routes.h"
#include "services/api_proxy/tls_identity.h"

namespace pdnsd {
namespace {

// RFC 9110 section 7.6.1 hop-by-hop headers, plus the ones the HTTP libraries manage
// themselves.
bool IsHopByHop(const std::string& name) {
  static const char* const kNames[] = {"Connection",
                                       "Keep-Alive",
                                       "Proxy-Authenticate",
                                       "Proxy-Authorization",
                                       "Proxy-Connection",
                                       "TE",
                                       "Trailer",
                                       "Transfer-Encoding",
                                       "Upgrade",
                                       "Host",
                                       "Content-Length"};
  for (const char* hop : kNames) {
    if (strcasecmp(name.c_str(), hop) == 0) return true;
  }
  return false;
}

// Headers named in a Connection header are hop-by-hop too. `connection_values` are the values
// of every Connection header.
bool NamedInConnection(const std::vector<std::string>& connection_values, const std::string& name) {
  for (std::string_view list : connection_values) {
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view token = list.substr(0, comma);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
      if (token.size() == name.size() && strncasecmp(token.data(), name.data(), name.size()) == 0) {
        return true;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

template <typename Headers>
std::vector<std::string> ConnectionValues(const Headers& headers) {
  std::vector<std::string> values;
  for (const auto& [name, value] : headers) {
    if (strcasecmp(name.c_str(), "Connection") == 0) values.push_back(value);
  }
  return values;
}

// "2xx" for 204; "other" outside 100..599.
std::string StatusClass(int status) {
  if (status < 100 || status > 599) return "other";
  return std::to_string(status / 100) + "xx";
}

// What PowerDNS says in an error answer: its JSON "error" text, else the start of the body.
std::string PowerDnsErrorText(const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
    return doc["error"].get<std::string>();
  }
  std::string text = TruncateUtf8(body, 200);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.empty() ? "(empty body)" : text;
}

StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) return Status::InvalidArgument("cannot read " + path);
  if (text.empty()) return Status::InvalidArgument(path + " is empty");
  return text;
}

}  // namespace

ApiProxy::ApiProxy(ApiProxyConfig config, const ServiceEnvironment& environment)
    : config_(std::move(config)),
      common_(environment.common),
      bus_(environment.bus),
      clock_(environment.clock),
      logger_(environment.logger),
      metrics_(std::make_unique<Metrics>(*environment.registry)),
      writes_(config_.write_concurrency),
      auth_failures_(AuthThrottlePolicy{config_.auth_failure_limit, config_.auth_failure_window}) {
  for (const char* type : {"create", "change", "delete"}) {
    metrics_->events.Add({{"event_type", type}});
  }
  for (const char* reason : {"bad_zone", "powerdns_unreachable", "api_key_throttled",
                             "body_too_large", "headers_too_large", "busy", "stopping",
                             "bad_change_request", "checker_unavailable", "too_many_waiting"}) {
    metrics_->rejected.Add({{"reason", reason}});
  }
}

ApiProxy::~ApiProxy() { Stop(); }

Status ApiProxy::Start() {
  if (config_.url_said_http) {
    logger_->warn("[Service] URL says http://, but the proxy serves HTTPS only: use https://{}",
                  config_.listen.ToString());
  }
  auto identity = EnsureTlsIdentity(config_.cert_file, config_.key_file, config_.state_dir);
  if (!identity.ok()) return identity.status();
  if (identity->generated) {
    logger_->info("generated a self-signed TLS certificate {} (key {}, mode 0600)",
                  identity->cert_file, identity->key_file);
  }
  HttpListenerOptions options;
  options.what = "the API proxy";
  HttpTlsOptions tls;
  auto cert = ReadPem(identity->cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(identity->key_file);
  if (!key.ok()) return key.status();
  tls.cert_pem = std::move(*cert);
  tls.key_pem = std::move(*key);
  options.tls = std::move(tls);
  options.workers = config_.workers;
  options.max_body_bytes = config_.max_body_bytes;
  options.max_body_name = "[Service] MaxBodySize";
  options.header_timeout = config_.header_timeout;
  options.idle_timeout = config_.idle_timeout;
  options.max_connections = static_cast<unsigned>(config_.max_connections);
  options.max_connections_per_client = static_cast<unsigned>(config_.max_connections_per_client);
  options.on_refused = [this](const HttpRequest& request, int status, const std::string& message) {
    const char* reason = status == 413   ? "body_too_large"
                         : status == 503 ? "busy"
                                         : "headers_too_large";
    metrics_->rejected.Add({{"reason", reason}}).Increment();
    logger_->warn("rejected {} {} from {}: {}", request.method, TruncateUtf8(request.path, 200),
                  request.client_address, message);
  };
  HttpRoutes routes;
  const auto changes = [this](const HttpRequest& request, HttpReply& reply) {
    if (!RunCatching(logger_, "a change-status request", [&] { HandleChanges(request, reply); })) {
      reply = HttpReply{};
      reply.JsonError(500, "internal error");
    }
  };
  // Ours, never PowerDNS's: another method gets 405 here instead of being forwarded.
  const auto changes_read_only = [](const HttpRequest& request, HttpReply& reply) {
    reply.JsonError(
        405, "method " + request.method + " not allowed on " + request.path + " (GET or HEAD)");
    reply.headers.emplace_back("Allow", "GET, HEAD");
  };
  routes.Add("GET", std::string(kChangesPath), changes);
  routes.Add("GET", std::string(kChangesPath) + "/*", changes);
  routes.Add("", std::string(kChangesPath), changes_read_only);
  routes.Add("", std::string(kChangesPath) + "/*", changes_read_only);
  routes.Add("", "*", [this](const HttpRequest& request, HttpReply& reply) {
    if (!RunCatching(logger_, "a proxied request", [&] { Handle(request, reply); })) {
      reply = HttpReply{};
      reply.JsonError(500, "internal error");
    }
  });
  listener_ = std::make_unique<HttpListener>(std::move(options), std::move(routes), logger_);
  if (Status s = listener_->Start(config_.listen); !s.ok()) return s;
  logger_->info("proxying https://{} to the PowerDNS API at {}", address().ToString(),
                common_.powerdns.url.Origin());
  return Status::Ok();
}

void ApiProxy::Stop() {
  status_requests_.Cancel();
  {
    MutexLock lock(upstream_mutex_);
    stopping_ = true;
    stopping_cv_.notify_all();
    const auto deadline = clock_->Now() + kStopGrace;
    while (!upstream_calls_.empty() && clock_->Now() < deadline) {
      clock_->WaitUntil(upstream_done_, lock.native(), deadline);
    }
    // cpp-httplib's stop() shuts the socket of a send() running on another thread: that send
    // returns at once with an error.
    for (httplib::Client* client : upstream_calls_) client->stop();
  }
  if (listener_) listener_->Stop();
}

bool ApiProxy::BeginUpstreamCall(httplib::Client* client) {
  MutexLock lock(upstream_mutex_);
  if (stopping_) return false;
  upstream_calls_.insert(client);
  return true;
}

void ApiProxy::EndUpstreamCall(httplib::Client* client) {
  MutexLock lock(upstream_mutex_);
  upstream_calls_.erase(client);
  upstream_done_.notify_all();
}

bool ApiProxy::stopping() const {
  MutexLock lock(upstream_mutex_);
  return stopping_;
}

bool ApiProxy::RefuseThrottled(const HttpRequest& request, HttpReply& reply) {
  const AuthThrottleDecision throttle = auth_failures_.Check(request.client_address, clock_->Now());
  if (!throttle.refuse) return false;
  metrics_->rejected.Add({{"reason", "api_key_throttled"}}).Increment();
  reply.JsonError(429, "too many requests with a wrong API key from " + request.client_address +
                           ": try again in " + std::to_string(throttle.retry_after.count()) + " s");
  reply.headers.emplace_back("Retry-After", std::to_string(throttle.retry_after.count()));
  return true;
}

void ApiProxy::CountApiKeyFailure(const std::string& client_address) {
  metrics_->api_key_failures.Increment();
  if (auth_failures_.RecordFailure(client_address, clock_->Now())) {
    metrics_->throttled_clients.Increment();
    logger_->warn(
        "client {}: {} requests refused by PowerDNS (401, wrong API key) within {} s: its "
        "requests get 429 until the window ends ([Service] AuthFailureLimit)",
        client_address, config_.auth_failure_limit, config_.auth_failure_window.count());
  }
}

void ApiProxy::Handle(const HttpRequest& request, HttpReply& reply) {
  // Logged as method and path only: the query and the headers (X-API-Key) never reach the log.
  const std::string& body = request.body;
  if (RefuseThrottled(request, reply)) return;
  auto route = ClassifyRoute(request.method, request.target);
  if (!route.ok()) {
    metrics_->rejected.Add({{"reason", "bad_zone"}}).Increment();
    logger_->warn("rejected {} {}: {}", request.method, request.path, route.status().message());
    reply.JsonError(400, route.status().message());
    return;
  }
  std::string body_zone;
  if (route->zone_from_body) {
    auto zone = ZoneNameFromBody(body);
    if (!zone.ok()) {
      metrics_->rejected.Add({{"reason", "bad_zone"}}).Increment();
      logger_->warn("rejected {} {}: {}", request.method, request.path, zone.status().message());
      reply.JsonError(400, zone.status().message());
      return;
    }
    body_zone = *zone;
  }

  httplib::Client client(common_.powerdns.url.Origin());
  client.set_connection_timeout(5);
  client.set_read_timeout(120);
  client.set_write_timeout(60);
  httplib::Request upstream;
  upstream.method = request.method;
  upstream.path = common_.powerdns.url.path + request.target;
  const std::vector<std::string> connection = ConnectionValues(request.headers);
  for (const auto& [name, value] : request.headers) {
    if (!IsHopByHop(name) && !NamedInConnection(connection, name)) {
      upstream.headers.emplace(name, value);
    }
  }
  upstream.body = body;
  metrics_->requests.Increment();
  const bool write =
      request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS";
  const auto send = [&]() -> std::optional<httplib::Result> {
    if (!BeginUpstreamCall(&client)) return std::nullopt;
    httplib::Result sent = client.send(upstream);
    EndUpstreamCall(&client);
    return sent;
  };
  std::optional<httplib::Result> sent = [&] {
    if (!write) return send();
    metrics_->writes_waiting.Increment();
    ConcurrencyLimit::Slot slot(writes_);
    metrics_->writes_waiting.Decrement();
    return send();
  }();
  if (!sent || (!*sent && stopping())) {
    metrics_->rejected.Add({{"reason", "stopping"}}).Increment();
    const bool maybe_applied = sent.has_value() && write;
    reply.JsonError(503, maybe_applied
                             ? "the proxy is stopping: PowerDNS had not answered this request; it "
                               "may or may not have applied it"
                             : "the proxy is stopping: this request was not forwarded");
    if (maybe_applied && route->event) {
      logger_->warn("stopping: {} {} cut off while PowerDNS had it; publishing its event anyway",
                    request.method, request.path);
      PublishEvent(*route->event, route->zone_from_body ? body_zone : route->zone, "");
    }
    return;
  }
  httplib::Result& result = *sent;
  if (!result) {
    metrics_->rejected.Add({{"reason", "powerdns_unreachable"}}).Increment();
    const std::string message = "PowerDNS API at " + common_.powerdns.url.Origin() +
                                " is unreachable: " + httplib::to_string(result.error());
    logger_->error("{} {}: {}", request.method, request.path, message);
    reply.JsonError(502, message);
    return;
  }
  reply.status = result->status;
  const std::vector<std::string> upstream_connection = ConnectionValues(result->headers);
  for (const auto& [name, value] : result->headers) {
    if (strcasecmp(name.c_str(), "Content-Type") == 0) {
      reply.content_type = value;
    } else if (!IsHopByHop(name) && !NamedInConnection(upstream_connection, name)) {
      reply.headers.emplace_back(name, value);
    }
  }
  reply.body = result->body;
  if (!reply.body.empty() && reply.content_type.empty()) reply.content_type = "text/plain";
  metrics_->responses.Add({{"class", StatusClass(result->status)}}).Increment();
  if (result->status == 401) CountApiKeyFailure(request.client_address);
  if (result->status >= 500) {
    // PowerDNS failed the request (e.g. sqlite "database is locked" under concurrent writes:
    // docs/configuration.md, WriteConcurrency); the client gets the answer as it is.
    logger_->error("PowerDNS answered {} {} with {}: {}", request.method, request.path,
                   result->status, PowerDnsErrorText(result->body));
  } else {
    logger_->debug("{} {} -> {}", request.method, request.path, result->status);
  }

  if (!route->event || result->status < 200 || result->status >= 300) return;
  std::string zone = route->zone_from_body ? body_zone : route->zone;
  if (route->zone_from_body) {
    // PowerDNS's answer names the zone as it stored it; prefer that to the request's spelling.
    if (auto stored = ZoneNameFromBody(result->body); stored.ok()) zone = *stored;
  }
  // Taken after PowerDNS answered: data read from the primary from now on holds the change
  // (change status, docs/architecture.md).
  std::random_device random;
  const std::string change_id = MakeChangeId(clock_->WallNow(), static_cast<uint32_t>(random()));
  if (PublishEvent(*route->event, zone, change_id)) {
    reply.headers.emplace_back("X-Change-Id", change_id);
  }
}

bool ApiProxy::PublishEvent(ZoneEventType type, const std::string& zone,
                            const std::string& change_id) {
  const std::string& subject = common_.subjects.For(type);
  const std::string payload = EncodeZoneEvent(ZoneEvent{type, zone, "", change_id});
  if (Status s = bus_->Publish(subject, payload); !s.ok()) {
    logger_->error("cannot publish {} event for {}: {}", ZoneEventTypeLabel(type), zone,
                   s.message());
    return false;
  }
  metrics_->events.Add({{"event_type", ZoneEventTypeLabel(type)}}).Increment();
  logger_->info("published {} event for {}{}", ZoneEventTypeLabel(type), zone,
                change_id.empty() ? "" : " (change " + change_id + ")");
  return true;
}

ServiceDefinition ApiProxyDefinition() {
  return DefineService<ApiProxy>(
      "pdns-api-proxy", "HTTPS proxy for the primary's PowerDNS API that publishes zone events",
      &ReadApiProxyConfig);
}

}  // namespace pdnsd
