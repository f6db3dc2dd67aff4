// The wire contract between the services (docs/architecture.md, "Subjects and wire contract"),
// compatible with the original Go services: JSON bodies, RFC 3339 times, zone names normalised
// (lower case, trailing dot).
//
// Decode* functions validate: malformed JSON, missing fields, wrong types and invalid zone names
// are InvalidArgument with a message naming the field. Times are kept as the RFC 3339 strings
// they arrived as (they are informational; no logic depends on them).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pdnsd {

enum class ZoneEventType { kAdd, kChange, kDelete };

// Label value used in metrics, as the original: "create", "change", "delete".
const char* ZoneEventTypeLabel(ZoneEventType type);

// "2026-11-25T23:58:49.123456Z"
std::string FormatRfc3339(std::chrono::system_clock::time_point time);
// The inverse, for the times logic depends on (change status: docs/architecture.md, "Change
// status"): "YYYY-MM-DDTHH:MM:SS", an optional fraction of up to 9 digits, then "Z" or an
// offset "+hh:mm"/"-hh:mm" (RFC 3339 section 5.6; "t" and "z" too), from 1970 to 2262-04-11
// in UTC (what a std::chrono::system_clock time point holds).
// Anything else is InvalidArgument.
StatusOr<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

// add {"zone","created_at"} · change {"zone","changed_at"} · delete {"zone","deleted_at"},
// plus (our extension) "change_id" when the api-proxy made the change: the id its answer
// carried as X-Change-Id (an original peer ignores the field).
struct ZoneEvent {
  ZoneEventType type = ZoneEventType::kChange;
  std::string zone;
  std::string time;
  std::string change_id;  // sent only when set; IsValidChangeId
};
std::string EncodeZoneEvent(const ZoneEvent& event);
// The type comes from the subject the event arrived on; its time field is optional.
StatusOr<ZoneEvent> DecodeZoneEvent(ZoneEventType type, std::string_view json);

// {"zone","only_soa","requested_at"}, plus (our extension) "accept_error_reply":true when the
// requester reads error replies. An original Go syncer does not: it takes any reply as zone
// data, and an error reply to its only_soa request makes it crash (its SOA handler parses the
// empty zone_data into no record and dereferences it). So a provider answers a request without
// the field with data or not at all, as the original provider does.
struct ZoneDataRequest {
  std::string zone;
  bool only_soa = false;
  std::string requested_at;
  bool accept_error_reply = false;  // sent only when true; absent decodes as false
};
std::string EncodeZoneDataRequest(const ZoneDataRequest& request);
StatusOr<ZoneDataRequest> DecodeZoneDataRequest(std::string_view json);
// For a request DecodeZoneDataRequest rejects: true when it is a JSON object that still says
// "accept_error_reply":true (so the requester learns why it was rejected).
bool AcceptsErrorReply(std::string_view zone_data_request_json);

// {"zone","zone_data","dnssec_enabled","presigned_records","replied_at"}; zone_data holds the
// zone in presentation format, one RR per line, SOA first. Our provider adds "read_at": when it
// began reading the zone from the primary, so the data holds every write answered before
// (an original provider's reply lacks it: empty).
struct ZoneDataReply {
  std::string zone;
  std::string zone_data;
  bool dnssec_enabled = false;
  bool presigned_records = false;
  std::string replied_at;
  std::string read_at;
};
std::string EncodeZoneDataReply(const ZoneDataReply& reply);

// Error reply (our extension): {"zone","error","error_code"}, error_code one of not_found,
// unavailable, bad_request, mapped from the status code.
std::string EncodeErrorReply(std::string_view zone, const Status& error);

// Decodes a zone-data reply. An error reply becomes its Status: not_found -> NotFound,
// unavailable -> Unavailable, bad_request -> InvalidArgument.
StatusOr<ZoneDataReply> DecodeZoneDataReply(std::string_view json);

// {"zone"?,"requested_at"}, plus "accept_error_reply":true as for ZoneDataRequest: the original
// health-checker does not send it, and would read an error reply as an empty state map (and
// announce every zone to that secondary), so a failed request without it gets no reply.
struct ZoneStateRequest {
  std::optional<std::string> zone;
  std::string requested_at;
  bool accept_error_reply = false;  // sent only when true; absent decodes as false
};
std::string EncodeZoneStateRequest(const ZoneStateRequest& request);
StatusOr<ZoneStateRequest> DecodeZoneStateRequest(std::string_view json);

// {"statemap":{"<zone>":<serial>},"created_at"}
struct ZoneStateReply {
  std::map<std::string, uint32_t> statemap;
  std::string created_at;
};
std::string EncodeZoneStateReply(const ZoneStateReply& reply);
StatusOr<ZoneStateReply> DecodeZoneStateReply(std::string_view json);

// Change ids (X-Change-Id, docs/architecture.md "Change status"): 1 to 64 characters of
// [0-9a-z-]. The api-proxy's are "<write time, microseconds since 1970, hex>-<32 random bits,
// hex>"; ChangeIdTime reads the time back (nullopt for an id of another form).
bool IsValidChangeId(std::string_view id);
std::string MakeChangeId(std::chrono::system_clock::time_point written_at, uint32_t random);
std::optional<std::chrono::system_clock::time_point> ChangeIdTime(std::string_view id);

// Our extension: a syncer's report on "pdns-distribute.synced.<ID>" after each sync of a zone
// (the health-checker's change status; docs/architecture.md, "Change status"):
// {"zone","outcome":"synced"|"deleted"|"failed","serial"?,"read_at"?,"error"?,"reported_at"}.
// synced: its PowerDNS committed the zone at `serial` and its cache was flushed; deleted: the
// zone is gone from it (or was never there) because the primary lacks it; failed: the attempt
// failed with `error` and will be retried. `read_at` is when the data applied was read from the
// primary (ZoneDataReply::read_at, a catalog entry's), empty when unknown.
struct ZoneSyncReport {
  enum class Outcome { kSynced, kDeleted, kFailed };
  std::string zone;
  Outcome outcome = Outcome::kSynced;
  uint32_t serial = 0;  // kSynced only
  std::string read_at;
  std::string error;  // kFailed only
  std::string reported_at;
};
std::string EncodeZoneSyncReport(const ZoneSyncReport& report);
StatusOr<ZoneSyncReport> DecodeZoneSyncReport(std::string_view json);

// Our extension: the api-proxy asks the health-checker on "pdns-distribute.changes" for one
// change ({"id"}) or a zone's latest changes ({"zone","limit"}). The reply is the JSON the proxy
// answers GET /changes with (change_tracker.h) or an error reply (EncodeErrorReply; not_found
// for an unknown id).
struct ChangeStatusRequest {
  std::string id;    // IsValidChangeId, or empty with a zone
  std::string zone;  // normal form
  uint32_t limit = 100;
};
std::string EncodeChangeStatusRequest(const ChangeStatusRequest& request);
// Exactly one of id and zone; limit 1..1000 (absent: 100).
StatusOr<ChangeStatusRequest> DecodeChangeStatusRequest(std::string_view json);

// RFC 1982 serial arithmetic: true when a is ahead of b.
bool SerialGreater(uint32_t a, uint32_t b);

}  // namespace pdnsd
