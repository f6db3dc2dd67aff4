#include "services/common/service_config.h"

#include <unistd.h>

#include "core/digest.h"
#include "model/subjects.h"
#include "model/zone_name.h"

namespace pdnsd {

std::string DefaultServiceId(const std::string& service_name) {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const std::string host_hash = Sha256Hex(host);
  if (service_name == "pdns-secondary-syncer") return host_hash;
  return service_name + "-" + host_hash.substr(0, 12);
}

std::string DefaultInboxPrefix(const std::string& username) {
  return IsValidSubjectToken(username) ? "_INBOX." + username : "_INBOX";
}

CommonConfig ReadCommonConfig(ConfigReader& reader, const std::string& service_name) {
  CommonConfig config;
  config.id = reader.String("Service", "ID", "");
  if (config.id.empty()) config.id = DefaultServiceId(service_name);
  if (!IsValidSubjectToken(config.id)) {
    reader.Fail("Service", "ID", "must be one NATS subject token (no '.', '*', '>' or spaces)");
  }
  config.tags = reader.StringList("Service", "Tags");
  // The original's microservice base reads these for every service (its example files carry
  // them all); the services that use them read them themselves.
  reader.Accept("Service", "URL");
  reader.Accept("Secondaries", "Hosts");
  reader.AcceptSection("ServiceMetaData");
  config.ping_interval =
      reader.Duration("ServiceDiscovery", "HealthPingIntervall", config.ping_interval);
  if (config.ping_interval.count() <= 0) {
    reader.Fail("ServiceDiscovery", "HealthPingIntervall", "must be a positive duration");
  }
  config.heartbeat_prefix = reader.String("ServiceDiscovery", "Subject", config.heartbeat_prefix);
  config.advertised_dns = reader.String("PowerDNS", "DNSAddress", "");
  if (!config.advertised_dns.empty()) ReadAddress(reader, "PowerDNS", "DNSAddress", "");
  config.log.name = service_name;
  config.log.debug = reader.Bool("Log", "DEBUG", false);
  config.log.syslog = reader.Bool("Log", "Syslog", false);
  config.prometheus_address = reader.String("Prometheus", "Address", "");
  if (!config.prometheus_address.empty()) {
    ReadAddress(reader, "Prometheus", "Address", "");
  }
  config.broker.name = service_name;
  config.broker.url = reader.RequiredString("MessageBroker", "URL");
  config.broker.username = reader.String("MessageBroker", "Username", "");
  config.broker.password = reader.String("MessageBroker", "Password", "");
  config.broker.tls = reader.Bool("MessageBroker", "TLS", false);
  config.broker.tls_ca_file = reader.String("MessageBroker", "TLSCAFile", "");
  config.broker.tls_cert_file = reader.String("MessageBroker", "TLSCertFile", "");
  config.broker.tls_key_file = reader.String("MessageBroker", "TLSKeyFile", "");
  config.broker.tls_hostname = reader.String("MessageBroker", "TLSHostname", "");
  config.broker.inbox_prefix =
      reader.String("MessageBroker", "InboxPrefix", DefaultInboxPrefix(config.broker.username));
  if (!IsValidSubject(config.broker.inbox_prefix)) {
    reader.Fail("MessageBroker", "InboxPrefix", "must be a subject without wildcards");
  }
  if (config.broker.tls_cert_file.empty() != config.broker.tls_key_file.empty()) {
    reader.Fail("MessageBroker", "TLSKeyFile", "TLSCertFile and TLSKeyFile go together");
  }
  config.powerdns = ReadPdnsApiOptions(reader);
  config.subjects = ReadZoneEventSubjects(reader);
  config.jetstream = ReadJetStreamOptions(reader);
  return config;
}

JetStreamOptions ReadJetStreamOptions(ConfigReader& reader) {
  JetStreamOptions options;
  distribution::CatalogOptions& catalog = options.catalog;
  const std::string mode = reader.String("JetStream", "Mode", "auto");
  if (mode == "off") {
    options.mode = JetStreamMode::kOff;
  } else if (mode != "auto") {
    reader.Fail("JetStream", "Mode", "must be \"auto\" or \"off\"");
  }
  // Bucket and stream names: what JetStream accepts in both ([A-Za-z0-9_-]).
  const auto name = [&reader](const char* key, const std::string& fallback) {
    std::string value = reader.String("JetStream", key, fallback);
    const bool ok = !value.empty() && value.find_first_not_of(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_-") == std::string::npos;
    if (!ok) reader.Fail("JetStream", key, "must be letters, digits, '_' and '-'");
    return value;
  };
  catalog.bucket = name("CatalogBucket", catalog.bucket);
  catalog.stream = name("ChunkStream", catalog.stream);
  catalog.chunk_prefix = reader.String("JetStream", "ChunkSubjectPrefix", catalog.chunk_prefix);
  if (!IsValidSubject(catalog.chunk_prefix)) {
    reader.Fail("JetStream", "ChunkSubjectPrefix", "must be a subject without wildcards");
  }
  catalog.replicas = static_cast<int>(reader.Int("JetStream", "Replicas", catalog.replicas, 1, 5));
  const std::string storage = reader.String("JetStream", "Storage", "file");
  if (storage == "memory") {
    catalog.storage = JsStorage::kMemory;
  } else if (storage != "file") {
    reader.Fail("JetStream", "Storage", "must be \"file\" or \"memory\"");
  }
  // Under NATS's default max_payload (1 MiB) with room for headers.
  catalog.chunk_bytes = static_cast<size_t>(reader.Int(
      "JetStream", "ChunkSize", static_cast<int64_t>(catalog.chunk_bytes), 1024, 960 * 1024));
  catalog.max_bytes = reader.Int("JetStream", "MaxBytes", catalog.max_bytes, -1, INT64_MAX);
  catalog.timeout = reader.Duration("JetStream", "RequestTimeout", catalog.timeout);
  if (catalog.timeout.count() <= 0) {
    reader.Fail("JetStream", "RequestTimeout", "must be a positive duration");
  }
  return options;
}

PdnsApiOptions ReadPdnsApiOptions(ConfigReader& reader) {
  PdnsApiOptions options;
  const std::string url = reader.RequiredString("PowerDNS", "URL");
  if (!url.empty()) {
    auto parsed = ParseHttpUrl(url);
    if (parsed.ok()) {
      options.url = *parsed;
    } else {
      reader.Fail("PowerDNS", "URL", parsed.status().message());
    }
  }
  options.api_key = reader.String("PowerDNS", "APIToken", "");
  options.server_id = reader.String("PowerDNS", "ServerID", "localhost");
  if (!IsValidSubjectToken(options.server_id) || options.server_id.find('/') != std::string::npos) {
    reader.Fail("PowerDNS", "ServerID", "must be a plain PowerDNS server id such as \"localhost\"");
  }
  return options;
}

const std::string& ZoneEventSubjects::For(ZoneEventType type) const {
  switch (type) {
    case ZoneEventType::kAdd:
      return add;
    case ZoneEventType::kChange:
      return change;
    case ZoneEventType::kDelete:
      return remove;
  }
  return change;
}

std::string ZoneEventSubjects::For(ZoneEventType type, std::string_view id) const {
  if (id.empty()) return For(type);
  return For(type) + "." + std::string(id);
}

std::optional<ZoneEventType> ZoneEventSubjects::TypeOf(std::string_view subject) const {
  if (subject == add) return ZoneEventType::kAdd;
  if (subject == remove) return ZoneEventType::kDelete;
  if (subject == change) return ZoneEventType::kChange;
  return std::nullopt;
}

std::array<std::pair<ZoneEventType, std::string>, 3> ZoneEventSubjects::All() const {
  return {{{ZoneEventType::kAdd, add},
           {ZoneEventType::kChange, change},
           {ZoneEventType::kDelete, remove}}};
}

ZoneEventSubjects ReadZoneEventSubjects(ConfigReader& reader) {
  ZoneEventSubjects subjects;
  subjects.add = reader.String("ZoneEventTopics", "Add", subjects.add);
  subjects.change = reader.String("ZoneEventTopics", "Mod", subjects.change);
  subjects.remove = reader.String("ZoneEventTopics", "Del", subjects.remove);
  return subjects;
}

HostPort ReadPrimaryDnsAddress(ConfigReader& reader, const PdnsApiOptions& api) {
  const bool old_spelling = reader.Has("AXFRPrimary", "Address");
  if (old_spelling && !reader.Has("PowerDNS", "AXFRAddress")) {
    reader.Fail("AXFRPrimary", "Address",
                "is the secondary-syncer's own SOA/AXFR listener; the primary's DNS is "
                "[PowerDNS] AXFRAddress, as in the original");
    return {};
  }
  if (old_spelling) {
    reader.Warn("AXFRPrimary", "Address",
                "ignored: the primary's DNS is [PowerDNS] AXFRAddress ([AXFRPrimary] Address is "
                "the secondary-syncer's own listener)");
  }
  const std::string fallback = HostPort{api.url.host_port.host, 53}.ToString();
  return ReadAddress(reader, "PowerDNS", "AXFRAddress", fallback);
}

std::string ReadSubjectPrefix(ConfigReader& reader, const char* section,
                              const std::string& fallback) {
  std::string prefix = reader.String(section, "Prefix", fallback);
  if (!IsValidSubject(PeerSubject(prefix, "id"))) {
    reader.Fail(section, "Prefix",
                "\"" + prefix + "\" + <ID> is not a NATS subject (e.g. \"" + fallback + "\")");
  }
  return prefix;
}

HostPort ReadAddress(ConfigReader& reader, const char* section, const char* key,
                     const std::string& fallback) {
  std::string text = reader.String(section, key, fallback);
  if (!text.empty() && text.front() == ':') text = "0.0.0.0" + text;
  auto parsed = ParseHostPort(text);
  if (!parsed.ok()) {
    reader.Fail(section, key, parsed.status().message());
    return {};
  }
  return *parsed;
}

}  // namespace pdnsd
