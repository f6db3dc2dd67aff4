// Batch creation of new zones through a catalog zone (RFC 9432, version 2) that the syncer's
// own SOA/AXFR endpoint serves to its own PowerDNS, a catalog consumer since 4.7.
//
// Creating a zone through the API costs the local PowerDNS 1.2-2 ms of CPU (it builds a backend
// per call; bench/api_call_cost.py), and its first transfer another API call. A consumer zone whose
// catalog lists a thousand new zones makes PowerDNS create them in one transaction and transfer
// each from the catalog's primary (our endpoint) at once, without any per-zone call
// (docs/architecture.md, "Batch creation"). Each batch has a catalog of its own, never changed:
// PowerDNS deletes the members a changed catalog no longer lists, so a catalog that only ever lists
// its one batch can never delete a zone. The syncer deletes the consumer zone once the batch is
// done, which leaves its members as they are.
//
// Pure functions, tested as tables in tests/unit/batch_catalog_test.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pdnsd {

// Every batch catalog is named <label>.batch.pdns-distribute.invalid. (".invalid" never
// delegates: RFC 6761), so it can never be a real zone.
inline constexpr std::string_view kBatchCatalogSuffix = ".batch.pdns-distribute.invalid.";

// True for a normalised zone name under kBatchCatalogSuffix: the syncer's own catalog zones,
// never reported, reconciled or deleted as zones of the primary.
bool IsBatchCatalog(std::string_view zone);

// The name of batch `sequence` of the syncer run identified by `run` (letters and digits).
std::string BatchCatalogName(uint64_t sequence, std::string_view run);

// The catalog's zone text as the endpoint serves it (one record a line, the apex SOA first):
// SOA, NS invalid., version TXT "2" and one PTR per member under zones.<catalog>, whose
// unique label is a digest of the member's name (stable: the same zone, the same label).
std::string BatchCatalogText(std::string_view catalog, const std::vector<std::string>& members);

// Whether `new_zones` zones missing locally at once are created through a batch catalog:
// `threshold` 0 means never; a TSIG key on the endpoint means never too (PowerDNS 4.7 cannot
// give a consumer's members a transfer key before their first transfer, which our endpoint
// would then refuse).
bool CreateAsBatch(size_t new_zones, size_t threshold, bool endpoint_needs_tsig);

// How long a batch of `members` zones may take before a member PowerDNS has not transferred
// yet is reconciled one by one after all: 10 s plus 10 ms a member (PowerDNS 4.7 with its 2
// default retrieval threads transferred ~400 small zones/s here, so this is 4x slack).
std::chrono::milliseconds BatchTransferDeadline(size_t members);

}  // namespace pdnsd
