#include "model/messages.h"

#include <cstdio>
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
  if (!event.change_id.empty()) doc["change_id"] = event.change_id;
  return EncodeJson(doc);
}

StatusOr<ZoneEvent> DecodeZoneEvent(ZoneEventType type, std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneEvent event;
  event.type = type;
  if (Status s = ReadZone(*doc, true, &event.zone); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, EventTimeField(type), false, &event.time); !s.ok()) return s;
  if (Status s = ReadStringField(*doc, "change_id", false, &event.change_id); !s.ok()) return s;
  if (!event.change_id.empty() && !IsValidChangeId(event.change_id)) {
    return Status::InvalidArgument("field \"change_id\" is not a change id");
  }
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
  if (!reply.read_at.empty()) doc["read_at"] = reply.read_at;
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
  if (Status s = ReadStringField(*doc, "read_at", false, &reply.read_at); !s.ok()) return s;
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

StatusOr<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument("\"" + std::string(text.substr(0, 64)) +
                                   "\" is not an RFC 3339 time");
  };
  // Fixed positions: YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20) return bad();
  const auto digits = [&](size_t at, size_t n, int* out) {
    int value = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || text[4] != '-' || !digits(5, 2, &month) || text[7] != '-' ||
      !digits(8, 2, &day) || (text[10] != 'T' && text[10] != 't') || !digits(11, 2, &hour) ||
      text[13] != ':' || !digits(14, 2, &minute) || text[16] != ':' || !digits(17, 2, &second)) {
    return bad();
  }
  static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDaysIn[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  size_t at = 19;
  int64_t nanos = 0;
  if (text[at] == '.') {
    ++at;
    size_t n = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (++n > 9) return bad();
      nanos = nanos * 10 + (text[at] - '0');
      ++at;
    }
    if (n == 0) return bad();
    for (; n < 9; ++n) nanos *= 10;
  }
  int offset_minutes = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-')) {
    int oh, om;
    if (!digits(at + 1, 2, &oh) || text[at + 3] != ':' || !digits(at + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return bad();
    }
    offset_minutes = (text[at] == '+' ? 1 : -1) * (oh * 60 + om);
    at += 6;
  } else {
    return bad();
  }
  if (at != text.size()) return bad();
  std::tm utc{};
  utc.tm_year = year - 1900;
  utc.tm_mon = month - 1;
  utc.tm_mday = day;
  utc.tm_hour = hour;
  utc.tm_min = minute;
  utc.tm_sec = second;
  const std::time_t seconds = timegm(&utc) - offset_minutes * 60;
  // What a system_clock time point holds (nanoseconds in 64 bits: up to 2262-04-11) and
  // FormatRfc3339 prints again: from 1970 on. A year beyond it overflowed the conversion
  // (found by fuzz/decoders_fuzz.cc: "7158-12-03T12:00:00.123456789+01:00").
  constexpr std::time_t kLastSecond = 9223372035;  // 2262-04-11T23:47:15Z
  if (seconds < 0 || seconds > kLastSecond) return bad();
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

bool IsValidChangeId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

std::string MakeChangeId(std::chrono::system_clock::time_point written_at, uint32_t random) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(written_at.time_since_epoch()).count();
  char text[40];
  std::snprintf(text, sizeof text, "%llx-%08x", static_cast<unsigned long long>(micros),
                static_cast<unsigned>(random));
  return text;
}

std::optional<std::chrono::system_clock::time_point> ChangeIdTime(std::string_view id) {
  const size_t dash = id.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash > 15 || id.size() != dash + 9) {
    return std::nullopt;
  }
  unsigned long long micros = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == dash) continue;
    const char c = id[i];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return std::nullopt;
    if (i < dash) micros = micros * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  // Beyond what a system_clock time point holds (nanoseconds in 64 bits): not a write time.
  if (micros > 9223372036854775ULL) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(micros)));
}

namespace {
const char* OutcomeName(ZoneSyncReport::Outcome outcome) {
  switch (outcome) {
    case ZoneSyncReport::Outcome::kSynced:
      return "synced";
    case ZoneSyncReport::Outcome::kDeleted:
      return "deleted";
    case ZoneSyncReport::Outcome::kFailed:
      return "failed";
  }
  return "failed";
}
}  // namespace

std::string EncodeZoneSyncReport(const ZoneSyncReport& report) {
  json doc = {{"zone", report.zone},
              {"outcome", OutcomeName(report.outcome)},
              {"reported_at", report.reported_at.empty() ? NowRfc3339() : report.reported_at}};
  if (report.outcome == ZoneSyncReport::Outcome::kSynced) doc["serial"] = report.serial;
  if (!report.read_at.empty()) doc["read_at"] = report.read_at;
  if (report.outcome == ZoneSyncReport::Outcome::kFailed) doc["error"] = report.error;
  return EncodeJson(doc);
}

StatusOr<ZoneSyncReport> DecodeZoneSyncReport(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ZoneSyncReport report;
  if (Status s = ReadZone(*doc, true, &report.zone); !s.ok()) return s;
  std::string outcome;
  if (Status s = ReadStringField(*doc, "outcome", true, &outcome); !s.ok()) return s;
  if (outcome == "synced") {
    report.outcome = ZoneSyncReport::Outcome::kSynced;
    uint64_t serial = 0;
    if (Status s = ReadUintField(*doc, "serial", UINT32_MAX, &serial); !s.ok()) return s;
    report.serial = static_cast<uint32_t>(serial);
  } else if (outcome == "deleted") {
    report.outcome = ZoneSyncReport::Outcome::kDeleted;
  } else if (outcome == "failed") {
    report.outcome = ZoneSyncReport::Outcome::kFailed;
    if (Status s = ReadStringField(*doc, "error", false, &report.error); !s.ok()) return s;
  } else {
    return Status::InvalidArgument("field \"outcome\" is not synced, deleted or failed");
  }
  if (Status s = ReadStringField(*doc, "read_at", false, &report.read_at); !s.ok()) return s;
  if (!report.read_at.empty()) {
    if (auto at = ParseRfc3339(report.read_at); !at.ok()) {
      return Status::InvalidArgument("field \"read_at\": " + at.status().message());
    }
  }
  if (Status s = ReadStringField(*doc, "reported_at", false, &report.reported_at); !s.ok())
    return s;
  return report;
}

std::string EncodeChangeStatusRequest(const ChangeStatusRequest& request) {
  json doc = json::object();
  if (!request.id.empty()) doc["id"] = request.id;
  if (!request.zone.empty()) {
    doc["zone"] = request.zone;
    doc["limit"] = request.limit;
  }
  return EncodeJson(doc);
}

StatusOr<ChangeStatusRequest> DecodeChangeStatusRequest(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ChangeStatusRequest request;
  if (Status s = ReadStringField(*doc, "id", false, &request.id); !s.ok()) return s;
  if (Status s = ReadZone(*doc, false, &request.zone); !s.ok()) return s;
  if (request.id.empty() == request.zone.empty()) {
    return Status::InvalidArgument("give either \"id\" or \"zone\"");
  }
  if (!request.id.empty() && !IsValidChangeId(request.id)) {
    return Status::InvalidArgument("field \"id\" is not a change id");
  }
  if (doc->contains("limit")) {
    uint64_t limit = 0;
    if (Status s = ReadUintField(*doc, "limit", 1000, &limit); !s.ok()) return s;
    if (limit == 0) return Status::InvalidArgument("field \"limit\" must be at least 1");
    request.limit = static_cast<uint32_t>(limit);
  }
  return request;
}

bool SerialGreater(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(a - b) < (1u << 31);
}

}  // namespace pdnsd
