// Fuzz target: a zone version as a peer publishes it (src/distribution/zone_version.h) — the
// catalog entry (JSON) and the chunks its reader fetches, in the order fetched.
//
// Input: records separated by the byte 0x1e. The first record is the catalog entry; each later
// record is one chunk, <index byte><body>, handed to the assembler with that index (so the
// fuzzer can send chunks out of order, twice or past the last). Whatever the input, decoder and
// assembler return OK or InvalidArgument; an accepted entry decodes again, unchanged, after
// encoding; a zone text the assembler yields has the entry's size and digest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "distribution/zone_version.h"
#include "fuzz_input.h"

namespace {

using pdnsd::fuzz::Check;
using pdnsd::fuzz::Take;

// Small limits keep a zstd bomb or a huge claimed size within the fuzzer's memory.
constexpr pdnsd::distribution::ZoneVersionLimits kLimits{
    .max_zone_bytes = 1024 * 1024, .max_chunk_bytes = 64 * 1024, .max_chunks = 4096};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pdnsd;
  using namespace pdnsd::distribution;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  StatusOr<CatalogEntry> entry = DecodeCatalogEntry(Take(input, '\x1e'), kLimits);
  if (!entry.ok()) {
    Check(entry.status().code() == StatusCode::kInvalidArgument);
    return 0;
  }
  StatusOr<CatalogEntry> again = DecodeCatalogEntry(EncodeCatalogEntry(*entry), kLimits);
  Check(again.ok() && *again == *entry);
  if (entry->deleted) return 0;
  ZoneTextAssembler assembler(*entry);
  while (!input.empty()) {
    std::string_view record = Take(input, '\x1e');
    if (record.empty()) continue;
    const auto index = static_cast<uint8_t>(record.front());
    record.remove_prefix(1);
    const Status status = assembler.Add(index, record);
    Check(status.ok() || status.code() == StatusCode::kInvalidArgument);
    if (!status.ok()) return 0;
  }
  StatusOr<std::string> text = assembler.Finish();
  if (!text.ok()) {
    Check(text.status().code() == StatusCode::kInvalidArgument);
    return 0;
  }
  Check(text->size() == entry->size && Sha256Hex(*text) == entry->digest);
  return 0;
}
