// Zone versions (src/distribution/zone_version.h) without a server: the writer's manifest and
// chunks go to memory, the decoder and the assembler take them back, and every corruption a
// peer could send is refused with its own error.
#include "distribution/zone_version.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bus/framing.h"
#include "core/digest.h"

namespace pdnsd::distribution {
namespace {

using nlohmann::json;

// A zone text of `records` A records after the SOA, as the zone-provider's AXFR gives it.
std::string ZoneText(std::string_view zone, int records) {
  std::string text = std::string(zone) +
                     "\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. 2026120101 "
                     "10800 3600 604800 3600\n";
  for (int i = 0; i < records; ++i) {
    text += "host" + std::to_string(i) + "." + std::string(zone) + "\t3600\tIN\tA\t192.0.2." +
            std::to_string(i % 250) + "\n";
  }
  return text;
}

constexpr char kSoaLine[] =
    "example.org.\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. 1 10800 3600 604800 "
    "3600";

// An SOA line and then bytes zstd cannot shrink, so that a small text still makes many chunks.
std::string Incompressible(size_t size) {
  std::string out(size, '\0');
  uint32_t state = 2463534242u;
  for (char& c : out) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    c = static_cast<char>(state & 0xff);
  }
  return std::string(kSoaLine) + "\n" + out;
}

ZoneVersion Build(std::string_view text, size_t chunk_bytes = kDefaultChunkBytes,
                  std::string_view zone = "example.org.") {
  StatusOr<ZoneVersion> version = BuildZoneVersion(
      {.zone = zone, .serial = 2026120101, .dnssec = true, .version = "v1", .text = text},
      chunk_bytes);
  EXPECT_TRUE(version.ok()) << version.status().ToString();
  return version.ok() ? std::move(version).value() : ZoneVersion{};
}

// The text the assembler rebuilds from `version`'s chunks in order, or its error.
StatusOr<std::string> Assemble(const CatalogEntry& entry, const ZoneVersion& version) {
  ZoneTextAssembler assembler(entry);
  for (uint32_t i = 1; i <= version.entry.chunks; ++i) {
    if (Status s = assembler.Add(i, version.chunk(i)); !s.ok()) return s;
  }
  return assembler.Finish();
}

TEST(ZoneVersion, RoundTripsThroughManifestAndChunks) {
  struct Row {
    const char* name;
    std::string zone;
    std::string text;
    size_t chunk_bytes;
    uint32_t chunks;  // 0: do not check the count
  };
  const std::string big = ZoneText("example.org.", 20000);
  const std::string random = Incompressible(300 * 1024);
  const ZoneVersion one = Build(big, 4096);
  const std::vector<Row> rows = {
      {"one small chunk", "example.org.", ZoneText("example.org.", 3), kDefaultChunkBytes, 1},
      {"a large zone in one default chunk", "example.org.", big, kDefaultChunkBytes, 1},
      {"a large zone in 4 KiB chunks", "example.org.", big, 4096, 0},
      {"chunks of exactly the compressed size", "example.org.", big,
       static_cast<size_t>(one.entry.compressed_size), 1},
      {"a last chunk of one byte", "example.org.", big,
       static_cast<size_t>(one.entry.compressed_size - 1), 2},
      {"incompressible bytes in 4 KiB chunks", "example.org.", random, 4096, 0},
      {"chunks of one byte", "example.org.", ZoneText("example.org.", 1), 1, 0},
      {"RFC 2317 zone name", "0/25.2.0.192.in-addr.arpa.",
       ZoneText("0/25.2.0.192.in-addr.arpa.", 5), kDefaultChunkBytes, 1},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const ZoneVersion version = Build(row.text, row.chunk_bytes, row.zone);
    EXPECT_EQ(version.entry.size, row.text.size());
    EXPECT_EQ(version.entry.digest, Sha256Hex(row.text));
    EXPECT_EQ(version.entry.soa, row.text.substr(0, row.text.find('\n')));
    EXPECT_EQ(version.chunks.size(), version.entry.chunks);
    if (row.chunks != 0) {
      EXPECT_EQ(version.entry.chunks, row.chunks);
    }
    uint64_t joined = 0;
    for (uint32_t i = 1; i <= version.entry.chunks; ++i) {
      EXPECT_LE(version.chunk(i).size(), row.chunk_bytes);
      joined += version.chunk(i).size();
    }
    EXPECT_EQ(joined, version.entry.compressed_size);
    // What a reader gets: the manifest as JSON, decoded.
    StatusOr<CatalogEntry> decoded = DecodeCatalogEntry(EncodeCatalogEntry(version.entry));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, version.entry);
    StatusOr<std::string> text = Assemble(*decoded, version);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    EXPECT_EQ(*text, row.text);
  }
  // The large zone is laid out compressed, in more than one chunk.
  EXPECT_LT(one.entry.compressed_size, one.entry.size / 4);
  EXPECT_GT(one.entry.chunks, 1u) << one.entry.compressed_size;
}

// The provider's way: the text line by line as its transfer arrives. The same entry as the
// text in one piece (the compressed bytes may differ), and the same text read back.
TEST(ZoneVersionBuilder, LineByLineGivesTheVersionOfTheWholeText) {
  const std::string text = ZoneText("example.org.", 20000);
  for (const size_t chunk_bytes : {size_t{1}, size_t{13}, size_t{4096}, kDefaultChunkBytes}) {
    SCOPED_TRACE(chunk_bytes);
    ZoneVersionBuilder builder(chunk_bytes);
    for (size_t at = 0; at < text.size();) {
      const size_t end = text.find('\n', at);
      ASSERT_TRUE(builder.AppendLine(std::string_view(text).substr(at, end - at)).ok());
      at = end + 1;
    }
    EXPECT_EQ(builder.size(), text.size());
    StatusOr<ZoneVersion> version = builder.Finish(
        {.zone = "example.org.", .serial = 2026120101, .dnssec = true, .version = "v1"});
    ASSERT_TRUE(version.ok()) << version.status().ToString();
    const ZoneVersion whole = Build(text, chunk_bytes);
    CatalogEntry expected = whole.entry;
    expected.compressed_size = version->entry.compressed_size;
    expected.chunks = version->entry.chunks;
    EXPECT_EQ(version->entry, expected);
    EXPECT_EQ(version->chunks.size(), version->entry.chunks);
    for (uint32_t i = 1; i < version->entry.chunks; ++i) {
      EXPECT_EQ(version->chunk(i).size(), chunk_bytes);
    }
    StatusOr<std::string> back = Assemble(version->entry, *version);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == text);
  }
}

TEST(ZoneVersionBuilder, RefusesAFirstLineLongerThanAnSoaRecordAtOnce) {
  ZoneVersionBuilder builder;
  EXPECT_TRUE(builder.Append(std::string(kMaxSoaBytes, 'x')).ok());
  EXPECT_EQ(builder.Append("x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.AppendLine("www A 192.0.2.1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(builder.Finish({.zone = "example.org.", .version = "v1"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ZoneVersion, TombstoneRoundTripsWithoutContent) {
  const CatalogEntry tombstone = Tombstone("example.org.", 7, "gone-1");
  const std::string encoded = EncodeCatalogEntry(tombstone);
  EXPECT_EQ(json::parse(encoded),
            json::parse(R"({"format":1,"zone":"example.org.","serial":7,"version":"gone-1",
                            "deleted":true})"));
  StatusOr<CatalogEntry> decoded = DecodeCatalogEntry(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, tombstone);
  // An assembler for a tombstone has nothing to assemble.
  ZoneTextAssembler assembler(tombstone);
  EXPECT_EQ(assembler.Add(1, "x").code(), StatusCode::kInvalidArgument);
}

TEST(ZoneVersion, WriterRefusesBadInput) {
  const std::string long_soa = std::string(kSoaLine) + std::string(kMaxSoaBytes, ' ');
  const struct {
    const char* name;
    ZoneVersionSource source;
    size_t chunk_bytes;
  } rows[] = {
      {"zone not in normal form",
       {.zone = "Example.org.", .serial = 1, .version = "v1", .text = kSoaLine},
       kDefaultChunkBytes},
      {"bad zone name", {.zone = "a..b.", .serial = 1, .version = "v1", .text = kSoaLine}, 1},
      {"version with a dot", {.zone = "a.", .serial = 1, .version = "v.1", .text = kSoaLine}, 1},
      {"empty version", {.zone = "a.", .serial = 1, .version = "", .text = kSoaLine}, 1},
      {"empty text", {.zone = "a.", .serial = 1, .version = "v1", .text = ""}, 1},
      {"chunk size 0", {.zone = "a.", .serial = 1, .version = "v1", .text = kSoaLine}, 0},
      {"first line not an SOA record",
       {.zone = "a.", .serial = 1, .version = "v1", .text = "a.\t3600\tIN\tA\t192.0.2.1\n"},
       kDefaultChunkBytes},
      {"SOA line too long",
       {.zone = "a.", .serial = 1, .version = "v1", .text = long_soa},
       kDefaultChunkBytes},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(BuildZoneVersion(row.source, row.chunk_bytes).status().code(),
              StatusCode::kInvalidArgument);
  }
}

// Each way a peer's manifest can be wrong, and the words its error says.
TEST(ZoneVersion, DecoderRefusesEveryBadManifest) {
  const ZoneVersion version = Build(ZoneText("example.org.", 2000), 1000);
  const json valid = json::parse(EncodeCatalogEntry(version.entry));
  ASSERT_TRUE(DecodeCatalogEntry(valid.dump()).ok());
  const json tombstone = json::parse(EncodeCatalogEntry(Tombstone("example.org.", 1, "t")));
  const auto with = [](json doc, const char* field, json value) {
    doc[field] = std::move(value);
    return doc.dump();
  };
  const auto without = [](json doc, const char* field) {
    doc.erase(field);
    return doc.dump();
  };
  const struct {
    const char* name;
    std::string text;
    const char* error;
  } rows[] = {
      {"not JSON", "{\"format\":1,", "malformed JSON"},
      {"not an object", "[1,2]", "not an object"},
      {"no format", without(valid, "format"), "missing field \"format\""},
      {"format 2", with(valid, "format", 2), "format 2 is not 1"},
      {"format as string", with(valid, "format", "1"), "\"format\" is not an integer"},
      {"no zone", without(valid, "zone"), "missing field \"zone\""},
      {"zone not a string", with(valid, "zone", 5), "\"zone\" is not a string"},
      {"bad zone name", with(valid, "zone", "a..b."), "field \"zone\""},
      {"zone in upper case", with(valid, "zone", "EXAMPLE.org."), "not in normal form"},
      {"zone without the dot", with(valid, "zone", "example.org"), "not in normal form"},
      {"no serial", without(valid, "serial"), "missing field \"serial\""},
      {"negative serial", with(valid, "serial", -1), "\"serial\" is not an integer"},
      {"serial over 2^32", with(valid, "serial", 4294967296ull), "\"serial\" is not an integer"},
      {"fractional serial", with(valid, "serial", 1.5), "\"serial\" is not an integer"},
      {"no version", without(valid, "version"), "missing field \"version\""},
      {"version with a dot", with(valid, "version", "a.b"), "\"version\" is not 1 to 64"},
      {"version with a wildcard", with(valid, "version", "*"), "\"version\" is not 1 to 64"},
      {"version of 65 bytes", with(valid, "version", std::string(65, 'a')),
       "\"version\" is not 1 to 64"},
      {"no deleted", without(valid, "deleted"), "missing field \"deleted\""},
      {"deleted as string", with(valid, "deleted", "false"), "\"deleted\" is not a boolean"},
      {"no dnssec", without(valid, "dnssec"), "missing field \"dnssec\""},
      {"dnssec as number", with(valid, "dnssec", 1), "\"dnssec\" is not a boolean"},
      {"no soa", without(valid, "soa"), "missing field \"soa\""},
      {"soa not a record", with(valid, "soa", "example.org. 3600 IN A 192.0.2.1"),
       "\"soa\" is not one SOA record"},
      {"soa with a line break", with(valid, "soa", std::string(kSoaLine) + "\nx IN A 1.2.3.4"),
       "\"soa\" is not one SOA record"},
      {"no digest", without(valid, "digest"), "missing field \"digest\""},
      {"short digest", with(valid, "digest", "abc"), "\"digest\" is not 64"},
      {"upper-case digest", with(valid, "digest", std::string(64, 'A')), "\"digest\" is not 64"},
      {"no encoding", without(valid, "encoding"), "missing field \"encoding\""},
      {"gzip encoding", with(valid, "encoding", "gzip"), "\"encoding\" is not \"zstd\""},
      {"no size", without(valid, "size"), "missing field \"size\""},
      {"size 0", with(valid, "size", 0), "\"size\" is 0"},
      {"size over the limit", with(valid, "size", (uint64_t{1} << 30) + 1),
       "\"size\" is not an integer"},
      {"no compressed_size", without(valid, "compressed_size"),
       "missing field \"compressed_size\""},
      {"compressed_size 0", with(valid, "compressed_size", 0), "\"compressed_size\" is 0"},
      {"no chunk_bytes", without(valid, "chunk_bytes"), "missing field \"chunk_bytes\""},
      {"chunk_bytes 0", with(valid, "chunk_bytes", 0), "\"chunk_bytes\" is 0"},
      {"chunk_bytes over the limit", with(valid, "chunk_bytes", 1024 * 1024 + 1),
       "\"chunk_bytes\" is not an integer"},
      {"no chunks", without(valid, "chunks"), "missing field \"chunks\""},
      {"one chunk too few", with(valid, "chunks", version.entry.chunks - 1), "\"chunks\" is"},
      {"one chunk too many", with(valid, "chunks", version.entry.chunks + 1), "\"chunks\" is"},
      {"more chunks than the limit", with(valid, "chunks", (1u << 20) + 1),
       "\"chunks\" is not an integer"},
      {"tombstone with chunks", with(tombstone, "chunks", 1), "tombstone with field \"chunks\""},
      {"tombstone with a digest", with(tombstone, "digest", version.entry.digest),
       "tombstone with field \"digest\""},
      {"tombstone with dnssec", with(tombstone, "dnssec", false),
       "tombstone with field \"dnssec\""},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    StatusOr<CatalogEntry> decoded = DecodeCatalogEntry(row.text);
    if (decoded.ok()) {
      ADD_FAILURE() << "accepted";
      continue;
    }
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(decoded.status().message().find(row.error), std::string::npos)
        << decoded.status().message();
  }
  // Unknown fields are ignored: a later writer may add some within format 1.
  EXPECT_TRUE(DecodeCatalogEntry(with(valid, "published_at", "2026-12-01T00:00:00Z")).ok());
}

TEST(ZoneVersion, DecoderAppliesTheCallersLimits) {
  const ZoneVersion version = Build(ZoneText("example.org.", 2000), 1000);
  const std::string text = EncodeCatalogEntry(version.entry);
  EXPECT_TRUE(DecodeCatalogEntry(text, {.max_zone_bytes = version.entry.size,
                                        .max_chunk_bytes = 1000,
                                        .max_chunks = version.entry.chunks})
                  .ok());
  EXPECT_FALSE(DecodeCatalogEntry(text, {.max_zone_bytes = version.entry.size - 1}).ok());
  EXPECT_FALSE(DecodeCatalogEntry(text, {.max_chunk_bytes = 999}).ok());
  EXPECT_FALSE(DecodeCatalogEntry(text, {.max_chunks = version.entry.chunks - 1}).ok());
}

// Each way the chunks can disagree with a valid manifest, and the words its error says.
TEST(ZoneVersion, AssemblerRefusesEveryBadChunkSequence) {
  const std::string text = ZoneText("example.org.", 2000);
  const ZoneVersion version = Build(text, 1000);
  const CatalogEntry& entry = version.entry;
  const uint32_t n = entry.chunks;
  ASSERT_GE(n, 3u);
  std::string flipped(version.chunk(2));
  flipped[flipped.size() / 2] ^= 0x55;
  // Another text's frame where this one's should be: valid zstd, wrong content.
  const auto entry_with = [&](const std::function<void(CatalogEntry&)>& change) {
    CatalogEntry changed = entry;
    change(changed);
    return changed;
  };
  // A version of another text under this entry's sizes: each check after the sizes must hold.
  const auto frame_of = [&](std::string_view other) {
    CatalogEntry changed = entry;
    const std::string compressed = *framing::ZstdCompress(other);
    changed.compressed_size = compressed.size();
    changed.chunk_bytes = compressed.size();
    changed.chunks = 1;
    return std::make_pair(changed, compressed);
  };
  const auto longer = frame_of(text + "extra.example.org.\t3600\tIN\tA\t192.0.2.1\n");
  const auto shorter = frame_of(text.substr(0, text.size() - 1));
  const auto same_size = frame_of(std::string(text.size(), 'x'));
  using Feed = std::function<Status(ZoneTextAssembler&)>;
  const auto feed = [&](std::vector<std::pair<uint32_t, std::string_view>> chunks) -> Feed {
    return [chunks](ZoneTextAssembler& a) {
      for (const auto& [index, body] : chunks) {
        if (Status s = a.Add(index, body); !s.ok()) return s;
      }
      return a.Finish().status();
    };
  };
  const auto all_but = [&](uint32_t skip, std::string_view replacement = {}) {
    std::vector<std::pair<uint32_t, std::string_view>> chunks;
    for (uint32_t i = 1; i <= n; ++i) {
      if (i != skip) chunks.push_back({i, version.chunk(i)});
      if (i == skip && !replacement.empty()) chunks.push_back({i, replacement});
    }
    return chunks;
  };
  const std::string short_chunk(version.chunk(1).substr(1));
  const std::string long_last = std::string(version.chunk(n)) + "x";
  const struct {
    const char* name;
    CatalogEntry entry;
    Feed feed;
    const char* error;
  } rows[] = {
      {"starts at chunk 2", entry, feed({{2, version.chunk(2)}}), "chunk 2 where chunk 1"},
      {"starts at chunk 0", entry, feed({{0, version.chunk(1)}}), "chunk 0 where chunk 1"},
      {"a chunk twice", entry, feed({{1, version.chunk(1)}, {1, version.chunk(1)}}),
       "chunk 1 where chunk 2"},
      {"a chunk left out", entry, feed(all_but(2)), "chunk 3 where chunk 2"},
      {"swapped chunks", entry, feed({{1, version.chunk(1)}, {3, version.chunk(3)}}),
       "chunk 3 where chunk 2"},
      {"the last chunk missing", entry, feed(all_but(n)), "finished after"},
      {"a chunk after the last", entry,
       [&](ZoneTextAssembler& a) {
         for (uint32_t i = 1; i <= n; ++i) (void)a.Add(i, version.chunk(i));
         return a.Add(n + 1, "x");
       },
       "after the last"},
      {"a short chunk", entry, feed(all_but(1, short_chunk)), "chunk 1 has 999 bytes, not 1000"},
      {"a long last chunk", entry, feed(all_but(n, long_last)), "bytes, not"},
      {"a flipped byte", entry, feed(all_but(2, flipped)), ""},
      {"a digest of other text", entry_with([](CatalogEntry& e) { e.digest.assign(64, '0'); }),
       feed(all_but(0)), "does not match its digest"},
      {"a frame that expands beyond the size", longer.first, feed({{1, longer.second}}),
       "expands to"},
      {"a frame that expands to less than the size", shorter.first, feed({{1, shorter.second}}),
       "bytes, not"},
      {"another text of the same size", same_size.first, feed({{1, same_size.second}}),
       "does not match its digest"},
      {"not zstd", entry_with([](CatalogEntry& e) {
         e.compressed_size = 4;
         e.chunk_bytes = 4;
         e.chunks = 1;
       }),
       feed({{1, "abcd"}}), "bad zstd"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ZoneTextAssembler assembler(row.entry);
    const Status status = row.feed(assembler);
    if (status.ok()) {
      ADD_FAILURE() << "accepted";
      continue;
    }
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(row.error), std::string::npos) << status.message();
    // Once failed, it stays failed.
    EXPECT_FALSE(assembler.Add(assembler.next_index(), version.chunk(1)).ok());
    EXPECT_FALSE(assembler.Finish().ok());
  }
}

TEST(ZoneVersion, CatalogKeysAreLegalJetStreamKeysAndInvert) {
  const struct {
    const char* zone;
    const char* key;
  } rows[] = {
      {"example.org.", "example.org"},
      {"0/25.2.0.192.in-addr.arpa.", "0=2F25.2.0.192.in-addr.arpa"},
      {"a_b.example.", "a=5Fb.example"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.zone);
    EXPECT_EQ(CatalogKey(row.zone), row.key);
    StatusOr<std::string> zone = CatalogKeyToZone(row.key);
    ASSERT_TRUE(zone.ok()) << zone.status().ToString();
    EXPECT_EQ(*zone, row.zone);
  }
  for (const char* bad : {"", "example.org.", "EXAMPLE.org", "a..b", "=2", "=zz", "a=2Eb", "=2E"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(CatalogKeyToZone(bad).ok());
  }
}

TEST(ZoneVersion, ChunkSubjectsShareTheVersionsPrefix) {
  EXPECT_EQ(ChunkSubject("pdnsd.chunks", "v1", 1), "pdnsd.chunks.v1.1");
  EXPECT_EQ(ChunkSubject("pdnsd.chunks", "v1", 12), "pdnsd.chunks.v1.12");
  EXPECT_TRUE(IsValidVersionId("0123456789abcdefABCDEF_-"));
  EXPECT_FALSE(IsValidVersionId("a b"));
  EXPECT_FALSE(IsValidVersionId("a>"));
}

}  // namespace
}  // namespace pdnsd::distribution
