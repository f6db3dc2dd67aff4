// PdnsApiClient: the calls pdns-distribute makes to a PowerDNS Authoritative HTTP API.
//
// Zones are passed as normalised names and addressed in URLs by their PowerDNS id
// ("0/25.2.0.192.in-addr.arpa." -> "0=2F25.2.0.192.in-addr.arpa."), never pasted raw.
// Errors: Unavailable when PowerDNS cannot be reached or answers 5xx; NotFound when it does
// not have the zone; InvalidArgument for other 4xx answers (the message carries PowerDNS's
// "error" text). Thread-safe: each call uses its own connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/net.h"
#include "core/status.h"

namespace pdnsd {

struct PdnsZone {
  std::string name;     // normalised
  std::string kind;     // "Native", "Master", "Slave", ...
  uint32_t serial = 0;  // the API's serial: ignores SOA-EDIT (docs/architecture.md, "The
                        // health-checker"); fine for secondaries
  bool dnssec = false;
  std::vector<std::string> masters;
  int64_t last_check = 0;  // secondaries: unix time of the last transfer check
  std::string nsec3param;  // "" for NSEC (only filled by GetZone)
  bool nsec3narrow = false;
};

struct PdnsApiOptions {
  Url url;                              // [PowerDNS] URL, e.g. http://127.0.0.1:8081
  std::string api_key;                  // [PowerDNS] APIToken
  std::string server_id = "localhost";  // [PowerDNS] ServerID
  std::chrono::milliseconds timeout{5000};
};

class PdnsApiClient {
 public:
  // Called after every API call with its kind ("ping", "list", "get", "create", "update", "delete",
  // "retrieve", "flush", "nsec3", "purge_metadata", "tsig_key", "transfer_key") and whether
  // PowerDNS gave a definitive answer; feeds the services' metrics. "No such zone" (404) to a "get"
  // or "delete" is an answer, not a failure: it is what a normal deletion produces, and an alert on
  // failed calls must not fire on it.
  using CallObserver = std::function<void(const char* call, bool ok)>;

  explicit PdnsApiClient(PdnsApiOptions options, CallObserver observer = nullptr);

  // GET /api/v1/servers/<ServerID>: whether the API answers at all (one small call).
  Status Ping() const;
  StatusOr<std::vector<PdnsZone>> ListZones() const;
  StatusOr<PdnsZone> GetZone(const std::string& zone) const;  // without rrsets
  // Creates `zone` as kind Slave transferring from `masters` ("127.0.0.1:20102").
  // AlreadyExists when PowerDNS has the zone (409).
  Status CreateSecondaryZone(const std::string& zone,
                             const std::vector<std::string>& masters) const;
  // Creates `zone` as kind Consumer (a catalog consumer, PowerDNS 4.7) of `masters`: PowerDNS
  // creates the zones its catalog lists as Slaves of the same masters and transfers them.
  Status CreateCatalogConsumer(const std::string& zone,
                               const std::vector<std::string>& masters) const;
  // Sets the masters of an existing secondary zone.
  Status SetMasters(const std::string& zone, const std::vector<std::string>& masters) const;
  Status DeleteZone(const std::string& zone) const;
  // PUT .../zones/Z {"nsec3param": param, "nsec3narrow": false} (the metadata endpoint refuses
  // NSEC3PARAM; narrow zones transfer empty, so never narrow).
  Status SetNsec3Param(const std::string& zone, const std::string& param) const;
  // PUT .../axfr-retrieve: PowerDNS queues a transfer from the zone's masters.
  Status RetrieveFromPrimary(const std::string& zone) const;
  // PUT .../cache/flush?domain=Z: drops the zone's entries from the packet and query caches.
  Status FlushCache(const std::string& zone) const;
  // Drops the zone's entry from PowerDNS's zone-metadata cache (PRESIGNED, NSEC3PARAM, ...),
  // which FlushCache does not reach: DELETE .../metadata/X-PDNSD-CACHE-PURGE, a kind nothing
  // stores. Measured on 4.7.3: any write through the metadata endpoint purges the zone's
  // entry; PUT .../zones/Z does not, and neither it nor POST .../zones sets `presigned` on a
  // Slave zone, and PRESIGNED itself is refused there (422).
  Status PurgeMetadataCache(const std::string& zone) const;
  // Makes PowerDNS hold the TSIG key `name` with `algorithm` ("hmac-sha256") and `secret`
  // (base64): POST .../tsigkeys, or PUT .../tsigkeys/<name> when it has a key of that name.
  Status PutTsigKey(const std::string& name, const std::string& algorithm,
                    const std::string& secret) const;
  // Makes secondary zone `zone` sign its SOA and AXFR requests with the TSIG key `key_name`
  // (its AXFR-MASTER-TSIG metadata): PUT .../zones/Z {"slave_tsig_key_ids": [key]} (the
  // metadata endpoint refuses that kind: 422 "Unsupported metadata kind"), then
  // PurgeMetadataCache, because PUT .../zones/Z leaves the zone-metadata cache as it was.
  Status SetTransferKey(const std::string& zone, const std::string& key_name) const;

 private:
  struct Response {
    int status = 0;
    std::string body;
  };
  StatusOr<Response> Call(const char* call, const std::string& method, const std::string& path,
                          const std::string& body) const;
  std::string ZonePath(const std::string& zone) const;
  // POST .../zones {"name": zone, "kind": kind, "masters": masters}.
  Status CreateZone(const std::string& zone, const char* kind,
                    const std::vector<std::string>& masters) const;

  PdnsApiOptions options_;
  CallObserver observer_;
};

}  // namespace pdnsd
