#include "model/messages.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "model/zone_name.h"

namespace pdnsd {
namespace {

using nlohmann::json;

const char* EventTimeField(ZoneEventType type) {
  switch (type) {
    case ZoneEventType::kAdd:
      return "created_at";
    case ZoneEventType::kChange:
      return "changed_at";
    case ZoneEventType::kDelete:
      return "deleted_at";
  }
  return "changed_at";
}

Status ReadZone(const json& doc, bool required, std::string* out) {
  std::string raw;
  if (Status s = ReadStringField(doc, "zone", required, &raw); !s.ok()) return s;
  if (raw.empty() && !required && doc.find("zone") == doc.end()) return Status::Ok();
  auto normalized = NormalizeZoneName(raw);
  if (!normalized.ok())
    return Status::InvalidArgument("field \"zone\": " + normalized.status().message());
  *out = *normalized;
  return Status::Ok();
}

std::string NowRfc3339() { return FormatRfc3339(std::chrono::system_clock::now()); }

}  // namespace

const char* ZoneEventTypeLabel(ZoneEventType type) {
  switch (type) {
    case ZoneEventType::kAdd:
      return "create";
    case ZoneEventType::kChange:
      return "change";
    case ZoneEventType::kDelete:
      return "delete";
  }
  return "change";
}

std::string FormatRfc3339(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  const size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%06lldZ",
                static_cast<long long>(micros % 1000000));
  return buffer;
}

std::string EncodeZoneEvent(const ZoneEvent& event) {
  json doc = {{"zone", event.zone},
              {EventTimeField(event.type), event.time.empty() ? NowRfc3339() : event.time}};
  return EncodeJson(doc);
}

StatusOr<ZoneEvent> DecodeZoneEvent(ZoneEventType type, std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneEvent event;
  event.type = type;
  if (Status s = ReadZone(*doc, true, &event.zone); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, EventTimeField(type), false, &event.time); !s.ok()) return s;
  return event;
}

std::string EncodeZoneDataRequest(const ZoneDataRequest& request) {
  json doc = {{"zone", request.zone},
              {"only_soa", request.only_soa},
              {"requested_at", request.requested_at.empty() ? NowRfc3339() : request.requested_at}};
  if (request.accept_error_reply) doc["accept_error_reply"] = true;
  return EncodeJson(doc);
}

bool AcceptsErrorReply(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return false;
  auto field = doc->find("accept_error_reply");
  return field != doc->end() && field->is_boolean() && field->get<bool>();
}

StatusOr<ZoneDataRequest> DecodeZoneDataRequest(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneDataRequest request;
  if (Status s = ReadZone(*doc, true, &request.zone); !s.ok()) return s;
  if (Status s = ReadBoolField(*doc, "only_soa", &request.only_soa); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "requested_at", false, &request.requested_at); !s.ok())
    return s;
  if (Status s = ReadBoolField(*doc, "accept_error_reply", &request.accept_error_reply); !s.ok())
    return s;
  return request;
}

std::string EncodeZoneDataReply(const ZoneDataReply& reply) {
  json doc = {{"zone", reply.zone},
              {"zone_data", reply.zone_data},
              {"dnssec_enabled", reply.dnssec_enabled},
              {"presigned_records", reply.presigned_records},
              {"replied_at", reply.replied_at.empty() ? NowRfc3339() : reply.replied_at}};
  return EncodeJson(doc);
}

std::string EncodeErrorReply(std::string_view zone, const Status& error) {
  const char* code = "unavailable";
  if (error.code() == StatusCode::kNotFound) code = "not_found";
  if (error.code() == StatusCode::kInvalidArgument) code = "bad_request";
  json doc = {{"zone", zone}, {"error", error.message()}, {"error_code", code}};
  return EncodeJson(doc);
}

StatusOr<ZoneDataReply> DecodeZoneDataReply(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneDataReply reply;
  if (doc->contains("error_code") || (doc->contains("error") && !doc->contains("zone_data"))) {
    std::string error, code;
    ReadStringField(*doc, "error", false, &error);
    ReadStringField(*doc, "error_code", false, &code);
    if (code == "not_found") return Status::NotFound(error);
    if (code == "bad_request") return Status::InvalidArgument(error);
    return Status::Unavailable(error.empty() ? "zone provider replied with an error" : error);
  }
  if (Status s = ReadZone(*doc, true, &reply.zone); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "zone_data", true, &reply.zone_data); !s.ok()) return s;
  if (Status s = ReadBoolField(*doc, "dnssec_enabled", &reply.dnssec_enabled); !s.ok()) return s;
  if (Status s = ReadBoolField(*doc, "presigned_records", &reply.presigned_records); !s.ok())
    return s;
  if (Status s = ReadStringField(*doc, "replied_at", false, &reply.replied_at); !s.ok()) return s;
  return reply;
}

std::string EncodeZoneStateRequest(const ZoneStateRequest& request) {
  json doc = {{"requested_at", request.requested_at.empty() ? NowRfc3339() : request.requested_at}};
  if (request.zone) doc["zone"] = *request.zone;
  if (request.accept_error_reply) doc["accept_error_reply"] = true;
  return EncodeJson(doc);
}

StatusOr<ZoneStateRequest> DecodeZoneStateRequest(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneStateRequest request;
  auto zone = doc->find("zone");
  if (zone != doc->end() && !zone->is_null() &&
      !(zone->is_string() && zone->get<std::string>().empty())) {
    std::string normalized;
    if (Status s = ReadZone(*doc, true, &normalized); !s.ok()) return s;
    request.zone = normalized;
  }
  if (Status s = ReadStringField(*doc, "requested_at", false, &request.requested_at); !s.ok())
    return s;
  if (Status s = ReadBoolField(*doc, "accept_error_reply", &request.accept_error_reply); !s.ok())
    return s;
  return request;
}

std::string EncodeZoneStateReply(const ZoneStateReply& reply) {
  json map = json::object();
  for (const auto& [zone, serial] : reply.statemap) map[zone] = serial;
  json doc = {{"statemap", map},
              {"created_at", reply.created_at.empty() ? NowRfc3339() : reply.created_at}};
  return EncodeJson(doc);
}

StatusOr<ZoneStateReply> DecodeZoneStateReply(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneStateReply reply;
  auto map = doc->find("statemap");
  if (map == doc->end()) return Status::InvalidArgument("missing field \"statemap\"");
  if (!map->is_object()) return Status::InvalidArgument("field \"statemap\" is not an object");
  for (const auto& [zone, serial] : map->items()) {
    if (!serial.is_number_unsigned() || serial.get<uint64_t>() > UINT32_MAX) {
      return Status::InvalidArgument("serial of \"" + zone + "\" is not a uint32");
    }
    auto normalized = NormalizeZoneName(zone);
    if (!normalized.ok())
      return Status::InvalidArgument("statemap: " + normalized.status().message());
    reply.statemap[*normalized] = static_cast<uint32_t>(serial.get<uint64_t>());
  }
  if (Status s = ReadStringField(*doc, "created_at", false, &reply.created_at); !s.ok()) return s;
  return reply;
}

bool SerialGreater(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(a - b) < (1u << 31);
}

}  // namespace pdnsd
