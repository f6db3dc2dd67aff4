#include "core/http_server.h"

#include <strings.h>

#include <nlohmann/json.hpp>

namespace pdnsd {
namespace {

bool PathMatches(const std::string& pattern, const std::string& path) {
  if (!pattern.empty() && pattern.back() == '*') {
    return path.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == path;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return &value;
    }
  }
  return nullptr;
}

void HttpReply::JsonError(int error_status, const std::string& message) {
  status = error_status;
  // Invalid UTF-8 in a message (a path echoed back) is replaced, never thrown on.
  body = nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
  content_type = "application/json";
}

HttpRoutes& HttpRoutes::Add(std::string method, std::string path_pattern, HttpHandler handler) {
  routes_.push_back({std::move(method), std::move(path_pattern), std::move(handler)});
  return *this;
}

void HttpRoutes::Dispatch(const HttpRequest& request, HttpReply& reply) const {
  bool path_known = false;
  for (const Route& route : routes_) {
    if (!PathMatches(route.pattern, request.path)) continue;
    path_known = true;
    if (route.method.empty() || route.method == request.method ||
        (route.method == "GET" && request.method == "HEAD")) {
      route.handler(request, reply);
      return;
    }
  }
  if (path_known) {
    reply.JsonError(405, "method " + request.method + " not allowed on " + request.path);
  } else {
    reply.JsonError(404, "no such page: " + request.path);
  }
}

}  // namespace pdnsd
