#include "distribution/zone_version.h"

#include <algorithm>
#include <utility>

#include "bus/framing.h"
#include "core/digest.h"
#include "model/json_fields.h"
#include "model/messages.h"
#include "model/zone_name.h"

namespace pdnsd::distribution {
namespace {

using nlohmann::json;

constexpr size_t kMaxVersionIdBytes = 64;
constexpr size_t kDigestHexDigits = 64;
// The fields only a version has; a tombstone carrying one is malformed.
constexpr const char* kContentFields[] = {
    "dnssec", "soa", "digest", "size", "encoding", "compressed_size", "chunk_bytes", "chunks"};

// A one-line SOA record of a sane length: "<owner> <ttl> IN SOA <mname> <rname> <5 numbers>"
// (the class and type as tokens; the rest is the zone text's business).
bool IsSoaLine(std::string_view line) {
  if (line.empty() || line.size() > kMaxSoaBytes) return false;
  if (line.find_first_of("\r\n") != std::string_view::npos) return false;
  return line.find("\tSOA\t") != std::string_view::npos ||
         line.find(" SOA ") != std::string_view::npos;
}

bool IsLowerHex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

uint64_t ChunkCount(uint64_t bytes, uint64_t chunk_bytes) {
  return bytes / chunk_bytes + (bytes % chunk_bytes != 0 ? 1 : 0);
}

// Reads the content fields of a version (not a tombstone) into `entry`.
Status DecodeContent(const json& doc, const ZoneVersionLimits& limits, CatalogEntry* entry) {
  if (doc.find("dnssec") == doc.end()) return Status::InvalidArgument("missing field \"dnssec\"");
  if (Status s = ReadBoolField(doc, "dnssec", &entry->dnssec); !s.ok()) return s;
  if (Status s = ReadStringField(doc, "soa", /*required=*/true, &entry->soa); !s.ok()) return s;
  if (!IsSoaLine(entry->soa)) {
    return Status::InvalidArgument("field \"soa\" is not one SOA record of at most " +
                                   std::to_string(kMaxSoaBytes) + " bytes");
  }
  if (Status s = ReadStringField(doc, "digest", /*required=*/true, &entry->digest); !s.ok()) {
    return s;
  }
  if (entry->digest.size() != kDigestHexDigits || !IsLowerHex(entry->digest)) {
    return Status::InvalidArgument("field \"digest\" is not 64 lower-case hex digits");
  }
  std::string encoding;
  if (Status s = ReadStringField(doc, "encoding", /*required=*/true, &encoding); !s.ok()) {
    return s;
  }
  if (encoding != framing::kZstdEncoding) {
    return Status::InvalidArgument("field \"encoding\" is not \"zstd\"");
  }
  if (Status s = ReadUintField(doc, "size", limits.max_zone_bytes, &entry->size); !s.ok()) {
    return s;
  }
  if (entry->size == 0) return Status::InvalidArgument("field \"size\" is 0");
  // A zstd frame of n bytes never holds more than n + a small header, and limits.max_chunks
  // chunks of limits.max_chunk_bytes bound it too; the chunk count check below does that.
  if (Status s = ReadUintField(doc, "compressed_size", UINT64_MAX, &entry->compressed_size);
      !s.ok()) {
    return s;
  }
  if (entry->compressed_size == 0) {
    return Status::InvalidArgument("field \"compressed_size\" is 0");
  }
  if (Status s = ReadUintField(doc, "chunk_bytes", limits.max_chunk_bytes, &entry->chunk_bytes);
      !s.ok()) {
    return s;
  }
  if (entry->chunk_bytes == 0) return Status::InvalidArgument("field \"chunk_bytes\" is 0");
  uint64_t chunks = 0;
  if (Status s = ReadUintField(doc, "chunks", limits.max_chunks, &chunks); !s.ok()) return s;
  if (chunks != ChunkCount(entry->compressed_size, entry->chunk_bytes)) {
    return Status::InvalidArgument(
        "field \"chunks\" is " + std::to_string(chunks) + ", but " +
        std::to_string(entry->compressed_size) + " bytes in chunks of " +
        std::to_string(entry->chunk_bytes) + " make " +
        std::to_string(ChunkCount(entry->compressed_size, entry->chunk_bytes)));
  }
  entry->chunks = static_cast<uint32_t>(chunks);
  return Status::Ok();
}

}  // namespace

bool IsValidVersionId(std::string_view version) {
  if (version.empty() || version.size() > kMaxVersionIdBytes) return false;
  for (const char c : version) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string EncodeCatalogEntry(const CatalogEntry& entry) {
  json doc = {{"format", kCatalogFormat},
              {"zone", entry.zone},
              {"serial", entry.serial},
              {"version", entry.version},
              {"deleted", entry.deleted}};
  if (!entry.read_at.empty()) doc["read_at"] = entry.read_at;
  if (!entry.deleted) {
    doc["dnssec"] = entry.dnssec;
    doc["soa"] = entry.soa;
    doc["digest"] = entry.digest;
    doc["size"] = entry.size;
    doc["encoding"] = framing::kZstdEncoding;
    doc["compressed_size"] = entry.compressed_size;
    doc["chunk_bytes"] = entry.chunk_bytes;
    doc["chunks"] = entry.chunks;
  }
  return EncodeJson(doc);
}

StatusOr<CatalogEntry> DecodeCatalogEntry(std::string_view text, const ZoneVersionLimits& limits) {
  StatusOr<json> parsed = ParseJsonObject(text);
  if (!parsed.ok()) return parsed.status();
  const json& doc = *parsed;
  uint64_t format = 0;
  if (Status s = ReadUintField(doc, "format", UINT32_MAX, &format); !s.ok()) return s;
  if (format != kCatalogFormat) {
    return Status::InvalidArgument("catalog entry format " + std::to_string(format) + " is not " +
                                   std::to_string(kCatalogFormat));
  }
  CatalogEntry entry;
  std::string zone;
  if (Status s = ReadStringField(doc, "zone", /*required=*/true, &zone); !s.ok()) return s;
  StatusOr<std::string> normal = NormalizeZoneName(zone);
  if (!normal.ok()) return Status::InvalidArgument("field \"zone\": " + normal.status().message());
  if (*normal != zone) return Status::InvalidArgument("field \"zone\" is not in normal form");
  entry.zone = std::move(zone);
  uint64_t serial = 0;
  if (Status s = ReadUintField(doc, "serial", UINT32_MAX, &serial); !s.ok()) return s;
  entry.serial = static_cast<uint32_t>(serial);
  if (Status s = ReadStringField(doc, "version", /*required=*/true, &entry.version); !s.ok()) {
    return s;
  }
  if (!IsValidVersionId(entry.version)) {
    return Status::InvalidArgument("field \"version\" is not 1 to 64 of [A-Za-z0-9_-]");
  }
  if (Status s = ReadStringField(doc, "read_at", /*required=*/false, &entry.read_at); !s.ok()) {
    return s;
  }
  if (!entry.read_at.empty() && !ParseRfc3339(entry.read_at).ok()) {
    return Status::InvalidArgument("field \"read_at\" is not an RFC 3339 time");
  }
  if (doc.find("deleted") == doc.end()) return Status::InvalidArgument("missing field \"deleted\"");
  if (Status s = ReadBoolField(doc, "deleted", &entry.deleted); !s.ok()) return s;
  if (entry.deleted) {
    for (const char* field : kContentFields) {
      if (doc.contains(field)) {
        return Status::InvalidArgument(std::string("tombstone with field \"") + field + "\"");
      }
    }
    return entry;
  }
  if (Status s = DecodeContent(doc, limits, &entry); !s.ok()) return s;
  return entry;
}

std::string ChunkSubject(std::string_view prefix, std::string_view version, uint32_t index) {
  std::string subject(prefix);
  subject += '.';
  subject += version;
  subject += '.';
  subject += std::to_string(index);
  return subject;
}

std::string CatalogKey(std::string_view zone) {
  std::string id = ZoneNameToApiId(zone);
  if (!id.empty() && id.back() == '.') id.pop_back();
  return id;
}

StatusOr<std::string> CatalogKeyToZone(std::string_view key) {
  if (key.empty() || key.back() == '.') {
    return Status::InvalidArgument("catalog key is empty or ends with '.'");
  }
  StatusOr<std::string> zone = ApiIdToZoneName(std::string(key) + ".");
  if (!zone.ok()) return zone.status();
  StatusOr<std::string> normal = NormalizeZoneName(*zone);
  if (!normal.ok()) return normal.status();
  // Only the key CatalogKey gives: one spelling per zone (no upper case, no needless escape).
  if (CatalogKey(*normal) != key) {
    return Status::InvalidArgument("catalog key is not the key of a zone in normal form");
  }
  return normal;
}

std::string_view ZoneVersion::chunk(uint32_t index) const {
  if (index == 0 || index > chunks.size()) return {};
  return chunks[index - 1];
}

ZoneVersionBuilder::ZoneVersionBuilder(size_t chunk_bytes) : chunk_bytes_(chunk_bytes) {
  if (chunk_bytes_ == 0) {
    failed_ = Status::InvalidArgument("chunk size 0");
    return;
  }
  // Room for the frame's header, which is known only at the end (framing.h, ZstdFrameWriter).
  Cut(std::string(framing::ZstdFrameWriter::kHeaderBytes, '\0'));
}

void ZoneVersionBuilder::Cut(std::string_view compressed) {
  compressed_bytes_ += compressed.size();
  while (!compressed.empty()) {
    if (chunks_.empty() || chunks_.back().size() == chunk_bytes_) {
      chunks_.emplace_back().reserve(chunk_bytes_);
    }
    std::string& chunk = chunks_.back();
    const size_t take = std::min(compressed.size(), chunk_bytes_ - chunk.size());
    chunk.append(compressed.substr(0, take));
    compressed.remove_prefix(take);
  }
}

Status ZoneVersionBuilder::Append(std::string_view text) {
  if (!failed_.ok()) return failed_;
  if (!first_line_done_) {
    const size_t end = text.find('\n');
    first_line_.append(text.substr(0, end));
    first_line_done_ = end != std::string_view::npos;
    if (first_line_.size() > kMaxSoaBytes) {
      failed_ = Status::InvalidArgument("the zone text's first line is not one SOA record");
      return failed_;
    }
  }
  hasher_.Update(text);
  failed_ = writer_.Add(text, [this](std::string_view compressed) { Cut(compressed); });
  return failed_;
}

Status ZoneVersionBuilder::AppendLine(std::string_view line) {
  if (Status s = Append(line); !s.ok()) return s;
  return Append("\n");
}

StatusOr<ZoneVersion> ZoneVersionBuilder::Finish(const ZoneVersionInfo& info) {
  StatusOr<std::string> normal = NormalizeZoneName(info.zone);
  if (!normal.ok()) return normal.status();
  if (*normal != info.zone) return Status::InvalidArgument("zone name is not in normal form");
  if (!IsValidVersionId(info.version)) {
    return Status::InvalidArgument("version id is not 1 to 64 of [A-Za-z0-9_-]");
  }
  if (!failed_.ok()) return failed_;
  if (size() == 0) return Status::InvalidArgument("empty zone text");
  if (!IsSoaLine(first_line_)) {
    return Status::InvalidArgument("the zone text's first line is not one SOA record");
  }
  StatusOr<std::string> header =
      writer_.Finish([this](std::string_view compressed) { Cut(compressed); });
  failed_ = Status::InvalidArgument("zone version builder spent");
  if (!header.ok()) return header.status();
  // The header in the room left for it at the front (which may span chunks if they are tiny).
  size_t at = 0;
  for (std::string& chunk : chunks_) {
    for (size_t i = 0; i < chunk.size() && at < header->size(); ++i) chunk[i] = (*header)[at++];
    if (at == header->size()) break;
  }
  std::string digest = hasher_.FinishHex();
  if (digest.empty()) return Status::Internal("cannot hash the zone text");
  if (!chunks_.empty()) chunks_.back().shrink_to_fit();
  ZoneVersion version;
  CatalogEntry& entry = version.entry;
  entry.zone = std::move(*normal);
  entry.serial = info.serial;
  entry.version = std::string(info.version);
  entry.dnssec = info.dnssec;
  entry.soa = std::move(first_line_);
  entry.digest = std::move(digest);
  entry.size = size();
  entry.compressed_size = compressed_bytes_;
  entry.chunk_bytes = chunk_bytes_;
  entry.chunks = static_cast<uint32_t>(chunks_.size());
  version.chunks = std::move(chunks_);
  return version;
}

StatusOr<ZoneVersion> BuildZoneVersion(const ZoneVersionSource& source, size_t chunk_bytes) {
  ZoneVersionBuilder builder(chunk_bytes);
  (void)builder.Append(source.text);  // a failure is Finish()'s result
  return builder.Finish({.zone = source.zone,
                         .serial = source.serial,
                         .dnssec = source.dnssec,
                         .version = source.version});
}

CatalogEntry Tombstone(std::string_view zone, uint32_t last_serial, std::string_view version) {
  CatalogEntry entry;
  entry.zone = std::string(zone);
  entry.serial = last_serial;
  entry.version = std::string(version);
  entry.deleted = true;
  return entry;
}

ZoneTextAssembler::ZoneTextAssembler(CatalogEntry entry) : entry_(std::move(entry)) {
  if (entry_.deleted || entry_.chunks == 0) failed_ = Status::InvalidArgument("no chunks");
}

Status ZoneTextAssembler::Fail(std::string message) {
  failed_ = Status::InvalidArgument(entry_.zone + " version " + entry_.version + ": " +
                                    std::move(message));
  compressed_.clear();
  compressed_.shrink_to_fit();
  return failed_;
}

Status ZoneTextAssembler::Add(uint32_t index, std::string_view chunk) {
  if (!failed_.ok()) return failed_;
  if (next_ > entry_.chunks) {
    return Fail("chunk " + std::to_string(index) + " after the last of " +
                std::to_string(entry_.chunks));
  }
  if (index != next_) {
    return Fail("chunk " + std::to_string(index) + " where chunk " + std::to_string(next_) +
                " was expected");
  }
  const uint64_t expected = index < entry_.chunks
                                ? entry_.chunk_bytes
                                : entry_.compressed_size - uint64_t{index - 1} * entry_.chunk_bytes;
  if (chunk.size() != expected) {
    return Fail("chunk " + std::to_string(index) + " has " + std::to_string(chunk.size()) +
                " bytes, not " + std::to_string(expected));
  }
  if (index == 1) compressed_.reserve(entry_.compressed_size);
  compressed_ += chunk;
  ++next_;
  return Status::Ok();
}

StatusOr<std::string> ZoneTextAssembler::Finish() {
  if (!failed_.ok()) return failed_;
  if (!complete()) {
    return Fail("finished after " + std::to_string(next_ - 1) + " of " +
                std::to_string(entry_.chunks) + " chunks");
  }
  StatusOr<std::string> text = framing::ZstdDecompress(compressed_, entry_.size);
  compressed_.clear();
  compressed_.shrink_to_fit();
  if (!text.ok()) return Fail(text.status().message());
  if (text->size() != entry_.size) {
    return Fail("zone text has " + std::to_string(text->size()) + " bytes, not " +
                std::to_string(entry_.size));
  }
  if (Sha256Hex(*text) != entry_.digest) return Fail("zone text does not match its digest");
  failed_ = Status::InvalidArgument("assembler spent");
  return text;
}

}  // namespace pdnsd::distribution
