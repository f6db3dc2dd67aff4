#include "pdns/api_client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "model/json_fields.h"
#include "model/zone_name.h"

namespace pdnsd {
namespace {

using nlohmann::json;

// doc[field] when it has the expected type, else `fallback`. json::value() would throw
// type_error 302 on an answer whose field has another type.
std::string StringOr(const json& doc, const char* field, const std::string& fallback) {
  auto it = doc.find(field);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : fallback;
}
bool BoolOr(const json& doc, const char* field, bool fallback) {
  auto it = doc.find(field);
  return it != doc.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

StatusOr<PdnsZone> ZoneFromJson(const json& doc) {
  if (!doc.is_object() || !doc.contains("name") || !doc["name"].is_string()) {
    return Status::Unavailable("PowerDNS answered a zone without a name");
  }
  PdnsZone zone;
  auto name = NormalizeZoneName(doc["name"].get<std::string>());
  if (!name.ok()) return name.status();
  zone.name = *name;
  zone.kind = StringOr(doc, "kind", "");
  if (doc.contains("serial") && doc["serial"].is_number()) {
    zone.serial = static_cast<uint32_t>(doc["serial"].get<uint64_t>());
  }
  zone.dnssec = BoolOr(doc, "dnssec", false);
  if (doc.contains("nsec3param") && doc["nsec3param"].is_string()) {
    zone.nsec3param = doc["nsec3param"].get<std::string>();
  }
  zone.nsec3narrow = BoolOr(doc, "nsec3narrow", false);
  if (doc.contains("last_check") && doc["last_check"].is_number()) {
    zone.last_check = doc["last_check"].get<int64_t>();
  }
  if (doc.contains("masters") && doc["masters"].is_array()) {
    for (const auto& master : doc["masters"]) {
      if (master.is_string()) zone.masters.push_back(master.get<std::string>());
    }
  }
  return zone;
}

std::string ErrorText(const std::string& body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
    return doc["error"].get<std::string>();
  }
  return TruncateUtf8(body, 200);
}

}  // namespace

PdnsApiClient::PdnsApiClient(PdnsApiOptions options, CallObserver observer)
    : options_(std::move(options)), observer_(std::move(observer)) {}

std::string PdnsApiClient::ZonePath(const std::string& zone) const {
  return "/api/v1/servers/" + options_.server_id + "/zones/" + ZoneNameToApiId(zone);
}

StatusOr<PdnsApiClient::Response> PdnsApiClient::Call(const char* call, const std::string& method,
                                                      const std::string& path,
                                                      const std::string& body) const {
  httplib::Client client(options_.url.Origin());
  const auto seconds = options_.timeout.count() / 1000;
  const auto micros = (options_.timeout.count() % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  httplib::Headers headers = {{"X-API-Key", options_.api_key}, {"Accept", "application/json"}};
  httplib::Request request;
  request.method = method;
  request.path = options_.url.path + path;
  request.headers = headers;
  if (!body.empty()) {
    request.body = body;
    request.set_header("Content-Type", "application/json");
  }
  httplib::Result result = client.send(request);
  if (!result) {
    if (observer_) observer_(call, false);
    return Status::Unavailable("PowerDNS API at " + options_.url.Origin() +
                               " not reachable: " + httplib::to_string(result.error()));
  }
  Response response{result->status, result->body};
  const bool ok = response.status >= 200 && response.status < 300;
  const bool not_found =
      response.status == 404 ||
      (response.status == 422 && response.body.find("Could not find domain") != std::string::npos);
  const std::string_view kind = call;
  if (observer_) observer_(call, ok || (not_found && (kind == "get" || kind == "delete")));
  if (ok) return response;
  const std::string text = method + " " + path + ": PowerDNS answered " +
                           std::to_string(response.status) + ": " + ErrorText(response.body);
  if (not_found) return Status::NotFound(text);
  if (response.status == 409) return Status::AlreadyExists(text);
  if (response.status >= 500) return Status::Unavailable(text);
  return Status::InvalidArgument(text);
}

Status PdnsApiClient::Ping() const {
  return Call("ping", "GET", "/api/v1/servers/" + options_.server_id, "").status();
}

StatusOr<std::vector<PdnsZone>> PdnsApiClient::ListZones() const {
  auto response = Call("list", "GET", "/api/v1/servers/" + options_.server_id + "/zones", "");
  if (!response.ok()) return response.status();
  json doc = json::parse(response->body, nullptr, false);
  if (!doc.is_array()) return Status::Unavailable("PowerDNS zone list is not a JSON array");
  std::vector<PdnsZone> zones;
  zones.reserve(doc.size());
  for (const auto& entry : doc) {
    auto zone = ZoneFromJson(entry);
    if (zone.ok()) zones.push_back(std::move(*zone));
  }
  return zones;
}

StatusOr<PdnsZone> PdnsApiClient::GetZone(const std::string& zone) const {
  auto response = Call("get", "GET", ZonePath(zone) + "?rrsets=false", "");
  if (!response.ok()) return response.status();
  json doc = json::parse(response->body, nullptr, false);
  return ZoneFromJson(doc);
}

Status PdnsApiClient::CreateZone(const std::string& zone, const char* kind,
                                 const std::vector<std::string>& masters) const {
  json body = {{"name", zone}, {"kind", kind}, {"masters", masters}};
  return Call("create", "POST", "/api/v1/servers/" + options_.server_id + "/zones",
              EncodeJson(body))
      .status();
}

Status PdnsApiClient::CreateSecondaryZone(const std::string& zone,
                                          const std::vector<std::string>& masters) const {
  return CreateZone(zone, "Slave", masters);
}

Status PdnsApiClient::CreateCatalogConsumer(const std::string& zone,
                                            const std::vector<std::string>& masters) const {
  return CreateZone(zone, "Consumer", masters);
}

Status PdnsApiClient::SetMasters(const std::string& zone,
                                 const std::vector<std::string>& masters) const {
  json body = {{"kind", "Slave"}, {"masters", masters}};
  return Call("update", "PUT", ZonePath(zone), EncodeJson(body)).status();
}

Status PdnsApiClient::SetNsec3Param(const std::string& zone, const std::string& param) const {
  json body = {{"nsec3param", param}, {"nsec3narrow", false}};
  return Call("nsec3", "PUT", ZonePath(zone), EncodeJson(body)).status();
}

Status PdnsApiClient::DeleteZone(const std::string& zone) const {
  return Call("delete", "DELETE", ZonePath(zone), "").status();
}

Status PdnsApiClient::RetrieveFromPrimary(const std::string& zone) const {
  return Call("retrieve", "PUT", ZonePath(zone) + "/axfr-retrieve", "").status();
}

Status PdnsApiClient::FlushCache(const std::string& zone) const {
  return Call("flush", "PUT",
              "/api/v1/servers/" + options_.server_id +
                  "/cache/flush?domain=" + httplib::detail::encode_query_param(zone),
              "")
      .status();
}

Status PdnsApiClient::PurgeMetadataCache(const std::string& zone) const {
  return Call("purge_metadata", "DELETE", ZonePath(zone) + "/metadata/X-PDNSD-CACHE-PURGE", "")
      .status();
}

Status PdnsApiClient::PutTsigKey(const std::string& name, const std::string& algorithm,
                                 const std::string& secret) const {
  const std::string keys = "/api/v1/servers/" + options_.server_id + "/tsigkeys";
  json body = {{"name", name}, {"algorithm", algorithm}, {"key", secret}};
  Status created = Call("tsig_key", "POST", keys, EncodeJson(body)).status();
  if (created.code() != StatusCode::kAlreadyExists) return created;
  // PowerDNS's id of a key is its name with the trailing dot.
  std::string id = name;
  if (id.empty() || id.back() != '.') id += '.';
  return Call("tsig_key", "PUT", keys + "/" + httplib::detail::encode_query_param(id),
              EncodeJson(json{{"algorithm", algorithm}, {"key", secret}}))
      .status();
}

Status PdnsApiClient::SetTransferKey(const std::string& zone, const std::string& key_name) const {
  std::string id = key_name;
  if (id.empty() || id.back() != '.') id += '.';
  json body = {{"slave_tsig_key_ids", json::array({id})}};
  if (Status s = Call("transfer_key", "PUT", ZonePath(zone), EncodeJson(body)).status(); !s.ok()) {
    return s;
  }
  return PurgeMetadataCache(zone);
}

}  // namespace pdnsd
