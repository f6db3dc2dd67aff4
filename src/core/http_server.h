// The project's HTTP server seam: our own request and reply types and a route table, served by
// HttpListener (core/http_listener.h). Handlers never see the HTTP library underneath
// (libmicrohttpd today, docs/architecture.md "HTTP listeners: connection model").
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pdnsd {

using HttpHeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;          // "GET", "PATCH", ... as sent
  std::string target;          // the request target as sent: path and query, not unescaped
  std::string path;            // target up to '?'
  HttpHeaderList headers;      // as sent, in order (names as the client spelled them)
  std::string body;            // complete, de-chunked; never more than the listener's limit
  std::string client_address;  // the TCP peer's IP address (never a forwarded-for header)

  // The first header named `name` (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpReply {
  int status = 200;
  HttpHeaderList headers;  // Content-Length is set by the listener; do not add it
  std::string body;
  std::string content_type;  // empty: no Content-Type header
  bool close = false;        // Connection: close after this reply

  // status with {"error": message} as application/json.
  void JsonError(int status, const std::string& message);
};

using HttpHandler = std::function<void(const HttpRequest&, HttpReply&)>;

// A route table: one line per route. A request goes to the first route whose method matches
// ("" matches any) and whose path matches (exact, or a prefix when the pattern ends in '*').
// No route for the path: 404; a path routed for other methods only: 405. Both with a JSON body.
class HttpRoutes {
 public:
  HttpRoutes& Add(std::string method, std::string path_pattern, HttpHandler handler);
  void Dispatch(const HttpRequest& request, HttpReply& reply) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace pdnsd
