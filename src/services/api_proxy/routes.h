// Which PowerDNS API requests change zones, and which zone event a successful one causes
// (docs/architecture.md, "How a change flows").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/messages.h"

namespace pdnsd {

struct RouteMatch {
  // Set when a 2xx answer to this request must be announced as a zone event.
  std::optional<ZoneEventType> event;
  // The zone named in the path (normalised); empty for routes without one. For
  // POST .../zones the zone comes from the body instead (see ZoneNameFromBody).
  std::string zone;
  bool zone_from_body = false;
};

// Classifies `method` + raw request `target` (path and query, percent-encoding as sent).
// InvalidArgument when the path names a zone whose id is not a valid DNS name: such a request
// must be rejected before it reaches PowerDNS.
StatusOr<RouteMatch> ClassifyRoute(std::string_view method, std::string_view target);

// The normalised zone name in a JSON body's "name" field (POST .../zones), or an error.
StatusOr<std::string> ZoneNameFromBody(std::string_view body);

}  // namespace pdnsd
