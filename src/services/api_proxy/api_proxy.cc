#include "services/api_proxy/api_proxy.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <strings.h>
#include "core/metrics.h"

#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "services/api_proxy/routes.h"
#include "services/api_proxy/tls_identity.h"

namespace pdnsd {
namespace {

// RFC 9110 section 7.6.1 hop-by-hop headers, plus the ones httplib manages itself and the
// pseudo-headers it adds to requests (REMOTE_ADDR, ...).
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
                                       "Content-Length",
                                       "REMOTE_ADDR",
                                       "REMOTE_PORT",
                                       "LOCAL_ADDR",
                                       "LOCAL_PORT"};
  for (const char* hop : kNames) {
    if (strcasecmp(name.c_str(), hop) == 0) return true;
  }
  return false;
}

// Headers named in a Connection header are hop-by-hop too.
bool NamedInConnection(const httplib::Headers& headers, const std::string& name) {
  for (auto [it, end] = headers.equal_range("Connection"); it != end; ++it) {
    std::string_view list = it->second;
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

// Set on answers that come from PowerDNS (removed before sending), so the error handler
// leaves them as PowerDNS made them.
constexpr const char* kForwardedMarker = "X-Pdnsd-Forwarded";

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

void JsonError(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(EncodeJson(nlohmann::json{{"error", message}}), "application/json");
}

}  // namespace

struct ApiProxy::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : requests(AddCounter(registry, "apiproxy_powerdns_api_requests_total",
                            "Requests forwarded to the PowerDNS API")),
        events(AddCounterFamily(registry, "apiproxy_published_zone_events_total",
                                "Zone events published after successful zone changes")),
        rejected(AddCounterFamily(registry, "apiproxy_rejected_requests_total",
                                  "Requests answered by the proxy itself with an error")),
        writes_waiting(AddGauge(registry, "apiproxy_writes_waiting",
                                "Write requests waiting for their turn ([PowerDNS] "
                                "WriteConcurrency)")),
        responses(AddCounterFamily(registry, "apiproxy_powerdns_responses_total",
                                   "Answers of the PowerDNS API by status class")) {
    for (const char* status_class : {"1xx", "2xx", "3xx", "4xx", "5xx"}) {
      responses.Add({{"class", status_class}});
    }
  }
  prometheus::Counter& requests;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Gauge& writes_waiting;
  prometheus::Family<prometheus::Counter>& responses;
};

ApiProxy::ApiProxy(ApiProxyConfig config, const ServiceEnvironment& environment)
    : config_(std::move(config)),
      common_(environment.common),
      bus_(environment.bus),
      logger_(environment.logger),
      metrics_(std::make_unique<Metrics>(*environment.registry)),
      writes_(config_.write_concurrency) {
  for (const char* type : {"create", "change", "delete"}) {
    metrics_->events.Add({{"event_type", type}});
  }
  for (const char* reason : {"bad_zone", "powerdns_unreachable", "body_too_large", "bad_body"}) {
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
  auto server =
      std::make_unique<httplib::SSLServer>(identity->cert_file.c_str(), identity->key_file.c_str());
  if (!server->is_valid()) {
    return Status::InvalidArgument("cannot use TLS certificate " + identity->cert_file + " / key " +
                                   identity->key_file);
  }
  const int workers = config_.workers;
  server->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server->set_payload_max_length(config_.max_body_bytes);
  server->set_keep_alive_timeout(2);
  const char* kAnyPath = R"(/.*)";
  auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    if (!RunCatching(logger_, "a proxied request",
                     [&] { Handle(request, request.body, response); })) {
      JsonError(response, 500, "internal error");
    }
  };
  server->Get(kAnyPath, handler);
  server->Options(kAnyPath, handler);
  // Routes with a body take it through a ContentReader: cpp-httplib then hands over the bytes
  // as sent. Read into request.body instead, a form-typed body (curl's default for --data, as
  // in PowerDNS's own examples) is parsed as a form and refused above 8 KB with 413.
  auto body_handler = [this](const httplib::Request& request, httplib::Response& response,
                             const httplib::ContentReader& read_body) {
    if (!RunCatching(logger_, "a proxied request",
                     [&] { HandleWithBody(request, response, read_body); })) {
      JsonError(response, 500, "internal error");
    }
  };
  server->Post(kAnyPath, body_handler);
  server->Put(kAnyPath, body_handler);
  server->Patch(kAnyPath, body_handler);
  server->Delete(kAnyPath, body_handler);
  // cpp-httplib's own rejections (a malformed request line, a URI too long, ...) get a JSON
  // body as the proxy's others do; PowerDNS's answers are marked and passed on untouched.
  server->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
        if (response.has_header(kForwardedMarker) || !response.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        JsonError(response, response.status,
                  "request rejected by the proxy: HTTP " + std::to_string(response.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  server->set_post_routing_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.has_header(kForwardedMarker)) response.headers.erase(kForwardedMarker);
  });

  listener_ = std::make_unique<HttpListener>(std::move(server), "the API proxy");
  if (Status s = listener_->Start(config_.listen); !s.ok()) return s;
  logger_->info("proxying https://{} to the PowerDNS API at {}", address().ToString(),
                common_.powerdns.url.Origin());
  return Status::Ok();
}

void ApiProxy::Stop() {
  if (listener_) listener_->Stop();
}

void ApiProxy::HandleWithBody(const httplib::Request& request, httplib::Response& response,
                              const httplib::ContentReader& read_body) {
  std::string body;
  bool too_large = false;
  // The receiver bounds chunked bodies too: cpp-httplib applies set_payload_max_length only to
  // a Content-Length (docs/stack-notes.md).
  const bool complete = read_body([&](const char* data, size_t length) {
    if (body.size() + length > config_.max_body_bytes) {
      too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (!complete) {
    too_large = too_large || response.status == 413;
    const std::string message = too_large ? "request body larger than [Service] MaxBodySize (" +
                                                std::to_string(config_.max_body_bytes) + " bytes)"
                                          : "cannot read the request body";
    metrics_->rejected.Add({{"reason", too_large ? "body_too_large" : "bad_body"}}).Increment();
    logger_->warn("rejected {} {}: {}", request.method, request.path, message);
    JsonError(response, too_large ? 413 : 400, message);
    // The rest of the body may still be on the way: this connection cannot carry another request.
    response.set_header("Connection", "close");
    return;
  }
  Handle(request, body, response);
}

void ApiProxy::Handle(const httplib::Request& request, const std::string& body,
                      httplib::Response& response) {
  auto route = ClassifyRoute(request.method, request.target);
  if (!route.ok()) {
    metrics_->rejected.Add({{"reason", "bad_zone"}}).Increment();
    logger_->warn("rejected {} {}: {}", request.method, request.path, route.status().message());
    JsonError(response, 400, route.status().message());
    return;
  }
  std::string body_zone;
  if (route->zone_from_body) {
    auto zone = ZoneNameFromBody(body);
    if (!zone.ok()) {
      metrics_->rejected.Add({{"reason", "bad_zone"}}).Increment();
      logger_->warn("rejected {} {}: {}", request.method, request.path, zone.status().message());
      JsonError(response, 400, zone.status().message());
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
  for (const auto& [name, value] : request.headers) {
    if (!IsHopByHop(name) && !NamedInConnection(request.headers, name)) {
      upstream.headers.emplace(name, value);
    }
  }
  upstream.body = body;
  metrics_->requests.Increment();
  const bool write =
      request.method != "GET" && request.method != "HEAD" && request.method != "OPTIONS";
  httplib::Result result = [&] {
    if (!write) return client.send(upstream);
    metrics_->writes_waiting.Increment();
    ConcurrencyLimit::Slot slot(writes_);
    metrics_->writes_waiting.Decrement();
    return client.send(upstream);
  }();
  if (!result) {
    metrics_->rejected.Add({{"reason", "powerdns_unreachable"}}).Increment();
    const std::string message = "PowerDNS API at " + common_.powerdns.url.Origin() +
                                " is unreachable: " + httplib::to_string(result.error());
    logger_->error("{} {}: {}", request.method, request.path, message);
    JsonError(response, 502, message);
    return;
  }
  response.status = result->status;
  response.set_header(kForwardedMarker, "1");
  std::string content_type;
  for (const auto& [name, value] : result->headers) {
    if (strcasecmp(name.c_str(), "Content-Type") == 0) {
      content_type = value;
    } else if (!IsHopByHop(name) && !NamedInConnection(result->headers, name)) {
      response.headers.emplace(name, value);
    }
  }
  if (!result->body.empty() || !content_type.empty()) {
    response.set_content(result->body, content_type.empty() ? "text/plain" : content_type.c_str());
  }
  metrics_->responses.Add({{"class", StatusClass(result->status)}}).Increment();
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
  PublishEvent(*route->event, zone);
}

void ApiProxy::PublishEvent(ZoneEventType type, const std::string& zone) {
  const std::string& subject = common_.subjects.For(type);
  const std::string payload = EncodeZoneEvent(ZoneEvent{type, zone, ""});
  if (Status s = bus_->Publish(subject, payload); !s.ok()) {
    logger_->error("cannot publish {} event for {}: {}", ZoneEventTypeLabel(type), zone,
                   s.message());
    return;
  }
  metrics_->events.Add({{"event_type", ZoneEventTypeLabel(type)}}).Increment();
  logger_->info("published {} event for {}", ZoneEventTypeLabel(type), zone);
}

ServiceDefinition ApiProxyDefinition() {
  return DefineService<ApiProxy>(
      "pdns-api-proxy", "HTTPS proxy for the primary's PowerDNS API that publishes zone events",
      &ReadApiProxyConfig);
}

}  // namespace pdnsd
