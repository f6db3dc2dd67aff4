// Zone versions: how one version of a zone is laid out for the JetStream distribution
// (docs/architecture.md, "Zone versions"). Pure: no NATS, no I/O; src/distribution/catalog.h
// stores versions on a broker.
//
// A version is a catalog entry (the manifest, small JSON, one per zone in a key-value bucket)
// and the zone text, zstd-compressed and cut into chunks, each stored on a subject of its own.
// This is the layout of NATS's Object Store (which nats.c 3.4 lacks): the manifest names the
// chunks through a version id that is new for every version, so a reader still reading the old
// version's chunks never sees them overwritten, and it carries one digest over the whole text.
// Unlike the Object Store, chunk i of a version has its own subject
// (<prefix>.<version>.<i>), so a reader fetches each with a direct get, no consumer needed.
//
// Peers send manifests and chunks: DecodeCatalogEntry and ZoneTextAssembler check everything
// and return InvalidArgument naming the problem; nothing they are given makes them crash or
// allocate more than the limits allow (tests/unit/zone_version_test.cc,
// fuzz/zone_version_fuzz.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bus/framing.h"
#include "core/digest.h"
#include "core/status.h"

namespace pdnsd::distribution {

// The manifest format written by this code; a decoder refuses any other.
inline constexpr int kCatalogFormat = 1;

// The Object Store's default chunk size. Any chunk size up to the broker's payload limit less
// headroom (framing::ChunkBodyLimit) works.
inline constexpr size_t kDefaultChunkBytes = 128 * 1024;

// The longest SOA record an entry carries (two names of at most 255 bytes, escaped, and five
// numbers fit well within it).
inline constexpr size_t kMaxSoaBytes = 4096;

// What a reader accepts. A peer's manifest outside these is InvalidArgument before anything
// is allocated for it.
struct ZoneVersionLimits {
  uint64_t max_zone_bytes = uint64_t{1} << 30;  // uncompressed text; as framing's reply limit
  uint64_t max_chunk_bytes = 1024 * 1024;       // NATS's default max_payload
  uint32_t max_chunks = 1u << 20;
};

// The catalog entry of one zone: its current version, or a tombstone after its deletion.
struct CatalogEntry {
  std::string zone;     // normal form (model/zone_name.h)
  uint32_t serial = 0;  // the SOA serial the primary served; a tombstone keeps the last one
  // Names this version's chunks: 1..64 of [A-Za-z0-9_-], new for every version (as the
  // Object Store's nuid). Chosen by the writer's caller.
  std::string version;
  bool deleted = false;  // tombstone: the fields below are unset and absent from the JSON
  bool dnssec = false;
  // The SOA record in presentation format, the zone text's first line: a secondary answers SOA
  // queries from the entry without fetching a chunk. At most kMaxSoaBytes, no line break.
  std::string soa;
  std::string digest;            // SHA-256 hex of the uncompressed zone text
  uint64_t size = 0;             // bytes of zone text, >= 1
  uint64_t compressed_size = 0;  // bytes of the zstd frame = the chunks joined
  uint64_t chunk_bytes = 0;      // every chunk but the last has exactly this many bytes
  uint32_t chunks = 0;           // ceil(compressed_size / chunk_bytes)
  // When the writer began reading this version (or the zone's absence) from the primary, RFC
  // 3339: the version holds every write the primary answered before (change status,
  // docs/architecture.md). Optional within format 1: empty in entries of earlier writers.
  std::string read_at;

  friend bool operator==(const CatalogEntry&, const CatalogEntry&) = default;
};

// {"format":1,"zone","serial","version","deleted":false,"dnssec","soa","digest","size",
//  "encoding":"zstd","compressed_size","chunk_bytes","chunks"}; a tombstone has only
// {"format","zone","serial","version","deleted":true}. Either has "read_at" when it is set.
std::string EncodeCatalogEntry(const CatalogEntry& entry);

// Strict: every field of the entry's kind present with its type and in range (the zone name in
// normal form, the digest 64 lower-case hex digits, chunks matching compressed_size and
// chunk_bytes, all within `limits`), a tombstone without content fields. Unknown fields are
// ignored (a later writer may add some without a new format).
StatusOr<CatalogEntry> DecodeCatalogEntry(std::string_view json,
                                          const ZoneVersionLimits& limits = {});

// True when `version` is a valid version id (see CatalogEntry::version).
bool IsValidVersionId(std::string_view version);

// The subject of chunk `index` (1-based) of a version: "<prefix>.<version>.<index>".
// Every chunk of a version matches "<prefix>.<version>.>" (to purge it).
std::string ChunkSubject(std::string_view prefix, std::string_view version, uint32_t index);

// The key of a zone in the catalog bucket. A JetStream key is made of [-/_=.A-Za-z0-9] and
// cannot end with '.': the zone's PowerDNS API id without the trailing dot
// ("0/25.2.0.192.in-addr.arpa." -> "0=2F25.2.0.192.in-addr.arpa"). REQUIRES: `zone` in
// normal form (which is never the root zone: NormalizeZoneName refuses it).
std::string CatalogKey(std::string_view zone);
// The inverse; InvalidArgument for a key that no zone gives.
StatusOr<std::string> CatalogKeyToZone(std::string_view key);

// A version as the writer made it: the entry and the compressed text cut into its chunks.
struct ZoneVersion {
  CatalogEntry entry;
  std::vector<std::string> chunks;  // entry.chunks of them, entry.compressed_size bytes in all

  // Chunk `index` (1-based, <= entry.chunks); empty for any other index.
  std::string_view chunk(uint32_t index) const;
};

// What a version is besides its text.
struct ZoneVersionInfo {
  std::string_view zone = {};  // normal form
  uint32_t serial = 0;
  bool dnssec = false;
  std::string_view version = {};  // a valid version id
};

struct ZoneVersionSource {
  std::string_view zone = {};  // normal form
  uint32_t serial = 0;
  bool dnssec = false;
  std::string_view version = {};  // a valid version id
  std::string_view text = {};     // the zone text, not empty, its first line the SOA record
};

// Lays out one version from its zone text given in pieces (the provider's AXFR as it arrives):
// hashes, compresses and cuts the chunks as the text comes, so that it holds the compressed
// text (and zstd's window), never the text. Not thread-safe: one builder per version.
class ZoneVersionBuilder {
 public:
  explicit ZoneVersionBuilder(size_t chunk_bytes = kDefaultChunkBytes);

  // Appends `text`, any piece of the zone text. InvalidArgument once the first line is longer
  // than kMaxSoaBytes; Internal when zstd fails. A failed builder fails every later call.
  Status Append(std::string_view text);
  // Appends `line` and a line break.
  Status AppendLine(std::string_view line);
  uint64_t size() const { return writer_.content_bytes(); }  // bytes of text appended

  // The version of the text appended, its entry's soa the text's first line. The errors of
  // BuildZoneVersion. The builder is spent.
  StatusOr<ZoneVersion> Finish(const ZoneVersionInfo& info);

 private:
  void Cut(std::string_view compressed);

  const size_t chunk_bytes_;
  Status failed_;
  std::string first_line_;  // until its line break came
  bool first_line_done_ = false;
  Sha256Hasher hasher_;
  framing::ZstdFrameWriter writer_;
  std::vector<std::string> chunks_;
  uint64_t compressed_bytes_ = 0;
};

// Compresses and lays out one version in memory (ZoneVersionBuilder given the whole text).
// InvalidArgument for a bad zone name or version id, an empty text, a first line that is not
// one SOA record of at most kMaxSoaBytes, or chunk_bytes == 0; Internal when zstd fails. Holds
// the compressed text once; the caller's text is not copied.
StatusOr<ZoneVersion> BuildZoneVersion(const ZoneVersionSource& source,
                                       size_t chunk_bytes = kDefaultChunkBytes);

// The tombstone that replaces `zone`'s entry once the primary confirmed the zone is gone.
CatalogEntry Tombstone(std::string_view zone, uint32_t last_serial, std::string_view version);

// Rebuilds a version's zone text from its chunks, given in order 1..chunks.
//
// Add() returns InvalidArgument — and so do all later calls — for a chunk out of order (index
// not the next one), a chunk after the last, or a chunk whose size is not what the entry says.
// Finish() after the last chunk decompresses (refusing a frame that does not state exactly
// entry.size bytes) and checks the digest. Memory held: compressed_size, then size.
//
// REQUIRES: `entry` came from DecodeCatalogEntry (or BuildZoneVersion) and is not a tombstone;
// the assembler keeps its own copy. Not thread-safe: one assembler per read.
class ZoneTextAssembler {
 public:
  explicit ZoneTextAssembler(CatalogEntry entry);

  Status Add(uint32_t index, std::string_view chunk);
  uint32_t next_index() const { return next_; }  // the chunk Add() expects
  bool complete() const { return failed_.ok() && next_ > entry_.chunks; }
  // REQUIRES: complete() (else InvalidArgument). The zone text; the assembler is spent.
  StatusOr<std::string> Finish();

 private:
  Status Fail(std::string message);

  const CatalogEntry entry_;
  Status failed_;
  uint32_t next_ = 1;
  std::string compressed_;
};

}  // namespace pdnsd::distribution
