#include "services/api_proxy/routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "model/zone_name.h"

namespace pdnsd {
namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) {
      segments.push_back(
          httplib::detail::decode_url(std::string(path.substr(start, end - start)), false));
    }
    start = end + 1;
  }
  return segments;
}

}  // namespace

StatusOr<RouteMatch> ClassifyRoute(std::string_view method, std::string_view target) {
  RouteMatch match;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::vector<std::string> s = SplitPath(path);
  // api v1 servers {server} zones [{zone} [sub [item]]]
  if (s.size() < 5 || s[0] != "api" || s[1] != "v1" || s[2] != "servers" || s[4] != "zones") {
    return match;
  }
  if (s.size() == 5) {
    if (method == "POST") {
      match.event = ZoneEventType::kAdd;
      match.zone_from_body = true;
    }
    return match;
  }
  auto decoded = ApiIdToZoneName(s[5]);
  if (!decoded.ok())
    return Status::InvalidArgument("zone id in the path: " + decoded.status().message());
  auto zone = NormalizeZoneName(*decoded);
  if (!zone.ok()) return Status::InvalidArgument("zone in the path: " + zone.status().message());
  match.zone = *zone;
  const std::string sub = s.size() > 6 ? s[6] : "";
  const bool has_item = s.size() > 7;
  if (s.size() > 8) return match;
  if (sub.empty()) {
    if (method == "PUT" || method == "PATCH") match.event = ZoneEventType::kChange;
    if (method == "DELETE") match.event = ZoneEventType::kDelete;
  } else if (sub == "rectify") {
    if (method == "PUT" && !has_item) match.event = ZoneEventType::kChange;
  } else if (sub == "metadata") {
    if ((!has_item && method == "POST") || (has_item && (method == "PUT" || method == "DELETE"))) {
      match.event = ZoneEventType::kChange;
    }
  } else if (sub == "cryptokeys") {
    if ((!has_item && method == "POST") || (has_item && (method == "PUT" || method == "DELETE"))) {
      match.event = ZoneEventType::kChange;
    }
  }
  return match;
}

StatusOr<std::string> ZoneNameFromBody(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return Status::InvalidArgument("body is not a JSON object");
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string()) {
    return Status::InvalidArgument("body has no string field \"name\"");
  }
  auto zone = NormalizeZoneName(name->get<std::string>());
  if (!zone.ok()) return Status::InvalidArgument("field \"name\": " + zone.status().message());
  return *zone;
}

}  // namespace pdnsd
