#include "services/api_proxy/routes.h"

#include <httplib.h>

#include <array>
#include <nlohmann/json.hpp>
#include <vector>

#include "model/zone_name.h"

namespace pdnsd {
namespace {

constexpr ZoneEventType kAdd = ZoneEventType::kAdd;
constexpr ZoneEventType kChange = ZoneEventType::kChange;
constexpr ZoneEventType kDelete = ZoneEventType::kDelete;
constexpr std::nullopt_t kNoEvent = std::nullopt;

// The routes that change a zone (docs/architecture.md, "Event"), then the catch-all that checks
// the zone id of every other request under .../zones/<id>.
constexpr std::array kRoutes = {
    ApiRoute{"POST", "api/v1/servers/<server>/zones", kAdd, ZoneSource::kBody},
    ApiRoute{"PUT|PATCH", "api/v1/servers/<server>/zones/<id>", kChange, ZoneSource::kPath},
    ApiRoute{"DELETE", "api/v1/servers/<server>/zones/<id>", kDelete, ZoneSource::kPath},
    ApiRoute{"PUT", "api/v1/servers/<server>/zones/<id>/rectify", kChange, ZoneSource::kPath},
    ApiRoute{"POST", "api/v1/servers/<server>/zones/<id>/metadata", kChange, ZoneSource::kPath},
    ApiRoute{"PUT|DELETE", "api/v1/servers/<server>/zones/<id>/metadata/<kind>", kChange,
             ZoneSource::kPath},
    ApiRoute{"POST", "api/v1/servers/<server>/zones/<id>/cryptokeys", kChange, ZoneSource::kPath},
    ApiRoute{"PUT|DELETE", "api/v1/servers/<server>/zones/<id>/cryptokeys/<key_id>", kChange,
             ZoneSource::kPath},
    ApiRoute{"*", "api/v1/servers/<server>/zones/<id>/**", kNoEvent, ZoneSource::kPath},
};

// Non-empty '/'-separated parts of `path`; with `decode`, percent-decoded.
std::vector<std::string> SplitPath(std::string_view path, bool decode) {
  std::vector<std::string> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) {
      std::string segment(path.substr(start, end - start));
      segments.push_back(decode ? httplib::detail::decode_url(segment, false) : segment);
    }
    start = end + 1;
  }
  return segments;
}

bool MethodMatches(std::string_view methods, std::string_view method) {
  if (methods == "*") return true;
  size_t start = 0;
  while (start <= methods.size()) {
    size_t end = methods.find('|', start);
    if (end == std::string_view::npos) end = methods.size();
    if (methods.substr(start, end - start) == method) return true;
    start = end + 1;
  }
  return false;
}

bool IsPlaceholder(std::string_view part) {
  return part.size() > 2 && part.front() == '<' && part.back() == '>';
}

// Whether `segments` match `pattern`; sets `*id` to the index of the "<id>" segment (or npos).
bool PathMatches(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
                 size_t* id) {
  *id = std::string::npos;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "**" && i + 1 == pattern.size()) return true;
    if (i >= segments.size()) return false;
    if (IsPlaceholder(pattern[i])) {
      if (pattern[i] == "<id>") *id = i;
    } else if (pattern[i] != segments[i]) {
      return false;
    }
  }
  return pattern.size() == segments.size();
}

}  // namespace

std::span<const ApiRoute> ApiRoutes() { return kRoutes; }

StatusOr<RouteMatch> ClassifyRoute(std::string_view method, std::string_view target) {
  RouteMatch match;
  const std::vector<std::string> segments = SplitPath(target.substr(0, target.find('?')), true);
  for (const ApiRoute& route : ApiRoutes()) {
    size_t id = std::string::npos;
    if (!MethodMatches(route.methods, method) ||
        !PathMatches(SplitPath(route.pattern, false), segments, &id)) {
      continue;
    }
    match.event = route.event;
    match.zone_from_body = route.zone == ZoneSource::kBody;
    if (route.zone == ZoneSource::kPath && id != std::string::npos) {
      auto decoded = ApiIdToZoneName(segments[id]);
      if (!decoded.ok())
        return Status::InvalidArgument("zone id in the path: " + decoded.status().message());
      auto zone = NormalizeZoneName(*decoded);
      if (!zone.ok())
        return Status::InvalidArgument("zone in the path: " + zone.status().message());
      match.zone = *zone;
    }
    return match;
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

StatusOr<std::optional<std::string>> QueryParameter(std::string_view target,
                                                    std::string_view name) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return std::optional<std::string>();
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) != name) continue;
    const std::string_view raw =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    std::string value;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '%') {
        value += raw[i];
        continue;
      }
      const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (i + 2 >= raw.size()) {
        return Status::InvalidArgument("query parameter " + std::string(name) +
                                       ": a cut-short %-escape");
      }
      const int high = hex(raw[i + 1]), low = hex(raw[i + 2]);
      if (high < 0 || low < 0) {
        return Status::InvalidArgument("query parameter " + std::string(name) + ": a bad %-escape");
      }
      value += static_cast<char>(high * 16 + low);
      i += 2;
    }
    return std::optional<std::string>(std::move(value));
  }
  return std::optional<std::string>();
}

StatusOr<std::chrono::milliseconds> ParseChangeWait(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("wait must be seconds from 0 to " +
                                   std::to_string(kMaxChangeWait.count()) + ", not \"" +
                                   std::string(text.substr(0, 32)) + "\"");
  };
  if (text.empty() || text.size() > 12) return bad();
  int64_t whole = 0, millis = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] != '.'; ++i) {
    if (text[i] < '0' || text[i] > '9') return bad();
    whole = whole * 10 + (text[i] - '0');
  }
  if (i == 0) return bad();
  if (i < text.size()) {
    int64_t scale = 100;
    if (++i == text.size()) return bad();
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return bad();
      millis += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  const std::chrono::milliseconds wait(whole * 1000 + millis);
  if (wait > kMaxChangeWait) return bad();
  return wait;
}

}  // namespace pdnsd
