#include "services/secondary_syncer/batch_catalog.h"

#include "core/digest.h"

namespace pdnsd {

bool IsBatchCatalog(std::string_view zone) {
  return zone.size() > kBatchCatalogSuffix.size() && zone.ends_with(kBatchCatalogSuffix);
}

std::string BatchCatalogName(uint64_t sequence, std::string_view run) {
  return "b" + std::to_string(sequence) + "-" + std::string(run) + std::string(kBatchCatalogSuffix);
}

std::string BatchCatalogText(std::string_view catalog, const std::vector<std::string>& members) {
  const std::string apex(catalog);
  // RFC 9432, 4.1: the SOA's values are of no use to a consumer but must be valid; TTL 0.
  std::string text = apex + " 0 IN SOA invalid. invalid. 1 86400 3600 2419200 0\n";
  text += apex + " 0 IN NS invalid.\n";
  text += "version." + apex + " 0 IN TXT \"2\"\n";
  text.reserve(text.size() + members.size() * (apex.size() + 64));
  for (const std::string& member : members) {
    text += Sha256Hex(member).substr(0, 16) + ".zones." + apex + " 0 IN PTR " + member + "\n";
  }
  return text;
}

std::chrono::milliseconds BatchTransferDeadline(size_t members) {
  return std::chrono::seconds(10) + std::chrono::milliseconds(10) * static_cast<int64_t>(members);
}

bool CreateAsBatch(size_t new_zones, size_t threshold, bool endpoint_needs_tsig) {
  return threshold > 0 && new_zones >= threshold && !endpoint_needs_tsig;
}

}  // namespace pdnsd
