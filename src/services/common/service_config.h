// The config sections every service shares: [Log], [Prometheus], [MessageBroker], [Service]
// ID/Tags, [ServiceDiscovery], [PowerDNS] (API part) and [ZoneEventTopics]. Read once by
// RunServiceMain and handed to the service in its ServiceEnvironment (service_main.h). Keys
// and meaning: docs/configuration.md.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bus/bus.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/net.h"
#include "distribution/catalog.h"
#include "model/messages.h"
#include "pdns/api_client.h"

namespace pdnsd {

// The subjects zone events travel on ([ZoneEventTopics]); the one mapping between an event's
// type and its subject. Targeted events go to "<subject>.<syncer ID>".
struct ZoneEventSubjects {
  std::string add = "zone.add";
  std::string change = "zone.modified";
  std::string remove = "zone.delete";

  // The subject events of `type` are published on.
  const std::string& For(ZoneEventType type) const;
  // The subject of an event of `type` targeted at the syncer `id`: "<For(type)>.<id>"; `id` ""
  // means every syncer, For(type).
  std::string For(ZoneEventType type, std::string_view id) const;
  // The type of an event that arrived on `subject`, one of the three (when two are configured
  // alike, add wins over delete, delete over change); nullopt for any other subject.
  std::optional<ZoneEventType> TypeOf(std::string_view subject) const;
  // The three types with their subjects, add, change, delete: what a listener subscribes to.
  std::array<std::pair<ZoneEventType, std::string>, 3> All() const;
};

// [JetStream] (docs/configuration.md): whether the zone versions travel through JetStream
// (docs/architecture.md, "Zone versions"), and where.
enum class JetStreamMode {
  kAuto,  // use it when the broker has JetStream; else core NATS with one warning
  kOff,   // core NATS only (the original's flows)
};

struct JetStreamOptions {
  JetStreamMode mode = JetStreamMode::kAuto;  // [JetStream] Mode: "auto" or "off"
  // [JetStream] CatalogBucket, ChunkStream, ChunkSubjectPrefix, Replicas, Storage ("file" or
  // "memory"), ChunkSize, MaxBytes, RequestTimeout.
  distribution::CatalogOptions catalog;
};

struct CommonConfig {
  LogOptions log;
  std::string prometheus_address;  // "" = no metrics endpoint
  BusOptions broker;
  // Liveness (docs/architecture.md, "Liveness"): who this instance is and how often it says so.
  std::string id;                                  // [Service] ID; default see DefaultServiceId()
  std::vector<std::string> tags;                   // [Service] Tags
  std::chrono::milliseconds ping_interval{10000};  // [ServiceDiscovery] HealthPingIntervall
  std::string heartbeat_prefix = "heartbeat";      // [ServiceDiscovery] Subject
  std::string advertised_dns;  // [PowerDNS] DNSAddress (syncers): sent in heartbeats
  PdnsApiOptions powerdns;     // [PowerDNS] URL, APIToken, ServerID: the service's PowerDNS
  ZoneEventSubjects subjects;  // [ZoneEventTopics]
  JetStreamOptions jetstream;  // [JetStream]
};

// A syncer's ID is the SHA-256 hex of the hostname, as the original's; other services are
// "<service>-<first 12 hex digits of that>", so services sharing a host stay apart.
std::string DefaultServiceId(const std::string& service_name);

// [MessageBroker] InboxPrefix when not set: "_INBOX.<username>" when `username` is one subject
// token, else "_INBOX" (nats.c's own). So each NATS user's replies have a subject space of their
// own, which the shipped broker config grants to that user alone (docs/security.md).
std::string DefaultInboxPrefix(const std::string& username);

// Reads [Log], [Prometheus], [MessageBroker], [Service] ID/Tags, [ServiceDiscovery], [PowerDNS]
// URL/APIToken/ServerID, [ZoneEventTopics] and [JetStream]. [MessageBroker] URL and [PowerDNS] URL
// are required; [Service] ID must be one NATS subject token. Accepts without using the keys every
// original service reads whether it needs them or not ([Service] URL, [Secondaries] Hosts,
// [ServiceMetaData]), so that they are not warned about as typos.
CommonConfig ReadCommonConfig(ConfigReader& reader, const std::string& service_name);

// Reads [PowerDNS] URL (required), APIToken, ServerID.
PdnsApiOptions ReadPdnsApiOptions(ConfigReader& reader);

ZoneEventSubjects ReadZoneEventSubjects(ConfigReader& reader);

// Reads [JetStream]; every key has a default.
JetStreamOptions ReadJetStreamOptions(ConfigReader& reader);

// [PowerDNS] AXFRAddress, the primary's DNS as the zone-provider and the health-checker reach
// it (the original provider's key); default: the host of [PowerDNS] URL (`api`) on port 53.
// Our earlier spelling [AXFRPrimary] Address (the syncer's own listener in the original) is
// an error when it stands alone and a warning next to [PowerDNS] AXFRAddress.
HostPort ReadPrimaryDnsAddress(ConfigReader& reader, const PdnsApiOptions& api);

// [<section>] Prefix of a per-secondary subject, joined with an ID by PeerSubject(): "zonedata."
// (the original's spelling) or "zonedata". Must make a valid subject.
std::string ReadSubjectPrefix(ConfigReader& reader, const char* section,
                              const std::string& fallback);

// Reads an address key ("127.0.0.1:20102", "[::1]:20102"); Go-style ":port" means every
// interface.
HostPort ReadAddress(ConfigReader& reader, const char* section, const char* key,
                     const std::string& fallback);

}  // namespace pdnsd
