// Which PowerDNS API requests change zones, and which zone event a successful one causes
// (docs/architecture.md, "How a change flows"). The routes are a table, one line per route, in
// the spirit of the route registrations of PowerDNS's own API server.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/messages.h"

namespace pdnsd {

// Where a route finds the zone its event names.
enum class ZoneSource {
  kNone,  // the route names no zone
  kPath,  // the path segment matched by "<id>" (an API zone id, e.g.
          // "0=2F25.2.0.192.in-addr.arpa.")
  kBody,  // the request body's "name" (ZoneNameFromBody)
};

// One line of the route table.
struct ApiRoute {
  // "PUT|PATCH": the methods the line applies to; "*": every method.
  std::string_view methods;
  // Path segments separated by '/': a literal matches itself, "<name>" matches any one segment,
  // a final "**" matches any number (also zero) of further segments.
  std::string_view pattern;
  // The event a 2xx answer causes; nullopt: none.
  std::optional<ZoneEventType> event;
  ZoneSource zone;
};

// The table ClassifyRoute uses, first match wins. A request no line matches causes no event.
std::span<const ApiRoute> ApiRoutes();

struct RouteMatch {
  // Set when a 2xx answer to this request must be announced as a zone event.
  std::optional<ZoneEventType> event;
  // The zone named in the path (normalised); empty for routes without one. For
  // POST .../zones the zone comes from the body instead (see ZoneNameFromBody).
  std::string zone;
  bool zone_from_body = false;
};

// Classifies `method` + raw request `target` (path and query, percent-encoding as sent) by the
// first line of ApiRoutes() that matches. InvalidArgument when the path names a zone whose id is
// not a valid DNS name: such a request must be rejected before it reaches PowerDNS.
StatusOr<RouteMatch> ClassifyRoute(std::string_view method, std::string_view target);

// The normalised zone name in a JSON body's "name" field (POST .../zones), or an error.
StatusOr<std::string> ZoneNameFromBody(std::string_view body);

// The proxy's own routes, answered without PowerDNS (docs/architecture.md, "Change status"):
// GET /changes/<id>[?wait=<seconds>] and GET /changes?zone=<zone>[&limit=<n>].
inline constexpr std::string_view kChangesPath = "/changes";
inline constexpr std::chrono::seconds kMaxChangeWait{600};

// The value of query parameter `name` in a raw target ("/p?a=1&b=x%2Ey": "b" -> "x.y"),
// percent-decoded ('+' stays '+'); nullopt when absent; InvalidArgument for a bad %-escape.
StatusOr<std::optional<std::string>> QueryParameter(std::string_view target, std::string_view name);

// `?wait=`: seconds, a whole or decimal number from 0 to kMaxChangeWait ("2", "0.5").
StatusOr<std::chrono::milliseconds> ParseChangeWait(std::string_view text);

}  // namespace pdnsd
