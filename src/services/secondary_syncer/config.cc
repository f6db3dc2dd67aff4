#include "services/secondary_syncer/config.h"

#include <algorithm>

#include "model/zone_name.h"

namespace pdnsd {

std::vector<std::string> DefaultAxfrAllowFrom(const std::string& powerdns_host,
                                              const std::string& endpoint_host) {
  std::vector<std::string> entries = {"127.0.0.1", "::1"};
  for (const std::string& host : {powerdns_host, endpoint_host}) {
    auto address = ClientAddress::Parse(host);
    if (!address.ok()) continue;  // a name, or empty (the wildcard)
    const std::string text = address->ToString();
    if (text == "0.0.0.0" || text == "::") continue;
    if (std::find(entries.begin(), entries.end(), text) == entries.end()) entries.push_back(text);
  }
  return entries;
}

SecondarySyncerConfig ReadSecondarySyncerConfig(ConfigReader& reader, const CommonConfig& common) {
  SecondarySyncerConfig config;
  // The original's key for the syncer's own SOA/AXFR listener. [PowerDNS] AXFRAddress, our
  // earlier spelling, is the zone-provider's key (the primary's DNS): alone it would leave the
  // listener silently on the default, so it is an error.
  const bool old_spelling = reader.Has("PowerDNS", "AXFRAddress");
  if (old_spelling && !reader.Has("AXFRPrimary", "Address")) {
    reader.Fail("PowerDNS", "AXFRAddress",
                "is the zone-provider's key (the primary's DNS); the syncer's own SOA/AXFR "
                "listener is [AXFRPrimary] Address, as in the original");
  } else if (old_spelling) {
    reader.Warn("PowerDNS", "AXFRAddress",
                "ignored: the syncer's own SOA/AXFR listener is [AXFRPrimary] Address");
  }
  config.axfr_address = ReadAddress(reader, "AXFRPrimary", "Address", "127.0.0.1:20102");
  config.axfr_timeout = reader.Duration("PowerDNS", "AXFRTimeout", config.axfr_timeout);
  config.event_delay = reader.Duration("PowerDNS", "EventDelay", config.event_delay);
  config.retry_max = reader.Duration("PowerDNS", "RetryMaxDelay", config.retry_max);
  if (!reader.String("PowerDNS", "DNSAddress", "").empty()) {
    config.local_dns = ReadAddress(reader, "PowerDNS", "DNSAddress", "");
  }
  config.api_workers =
      static_cast<int>(reader.Int("PowerDNS", "APIWorker", config.api_workers, 1, 256));
  config.batch_create_from = static_cast<int>(
      reader.Int("PowerDNS", "BatchCreateFrom", config.batch_create_from, 0, 1 << 30));
  config.zone_data_prefix = ReadSubjectPrefix(reader, "ZoneDataTopics", config.zone_data_prefix);
  config.zone_state_prefix = ReadSubjectPrefix(reader, "ZoneStateTopics", config.zone_state_prefix);

  std::vector<std::string> allow = reader.StringList("AXFRPrimary", "AllowFrom");
  if (reader.Has("AXFRPrimary", "AllowFrom") && allow.empty()) {
    reader.Warn("AXFRPrimary", "AllowFrom",
                "is empty: every query is REFUSED, the local PowerDNS's too");
  } else if (!reader.Has("AXFRPrimary", "AllowFrom")) {
    allow = DefaultAxfrAllowFrom(common.powerdns.url.host_port.host, config.axfr_address.host);
  }
  if (auto list = ClientAllowList::Parse(allow); list.ok()) {
    config.axfr_allow = *list;
  } else {
    reader.Fail("AXFRPrimary", "AllowFrom", list.status().message());
  }

  const bool has_name = reader.Has("AXFRPrimary", "TSIGKeyName");
  const bool has_secret = reader.Has("AXFRPrimary", "TSIGSecret");
  TsigKey key;
  key.name = reader.String("AXFRPrimary", "TSIGKeyName", "");
  key.algorithm = reader.String("AXFRPrimary", "TSIGAlgorithm", key.algorithm);
  key.secret = reader.String("AXFRPrimary", "TSIGSecret", "");
  if (has_name != has_secret) {
    reader.Fail("AXFRPrimary", has_name ? "TSIGSecret" : "TSIGKeyName",
                "TSIGKeyName and TSIGSecret go together (the key's name and its base64 secret)");
  } else if (has_name) {
    if (auto valid = ValidateTsigKey(key); valid.ok()) {
      config.axfr_tsig = *valid;
    } else {
      reader.Fail("AXFRPrimary", "TSIGKeyName", valid.status().message());
    }
  }
  return config;
}

}  // namespace pdnsd
