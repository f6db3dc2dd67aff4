// JetStream storage of the catalog (src/distribution/catalog.h) on a real nats-server, for
// docs/operations.md ("JetStream storage"): the bytes one zone version costs (measured and
// printed for zones of 10, 1,000 and 50,000 records, unsigned and with signatures), that a new
// version frees the old one's chunks and a tombstone keeps only its entry, and what a
// publisher gets when the chunk stream or the server's store is full.
//
// The sizes: ctest --test-dir build/test -R jetstream_storage_test -V
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

struct StreamState {
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

// A nats-server with JetStream and a monitoring port, and a catalog on it.
class StorageTest : public ::testing::Test {
 protected:
  void StartServer(NatsOptions options) {
    monitor_port_ = FreePort();
    options.WithJetStream().WithConfig("http: \"127.0.0.1:" + std::to_string(monitor_port_) + "\"");
    PDNSD_ASSERT_OK(nats_.Start(options));
    auto bus = Bus::Connect(TestBusOptions(nats_, "storage-test"), MakeTestLogger("storage"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    bus_ = std::move(bus).value();
    ASSERT_TRUE(WaitFor([&] { return bus_->IsConnected(); }));
  }

  std::unique_ptr<distribution::ZoneCatalog> OpenCatalog(
      const distribution::CatalogOptions& options) {
    auto catalog = distribution::ZoneCatalog::Open(*bus_, options);
    EXPECT_TRUE(catalog.ok()) << catalog.status().ToString();
    return catalog.ok() ? std::move(catalog).value() : nullptr;
  }

  // The stream's state as the server's /jsz reports it.
  StreamState State(const std::string& stream) {
    const HttpResponse response =
        HttpCall("GET", "http://127.0.0.1:" + std::to_string(monitor_port_) +
                            "/jsz?accounts=true&streams=true");
    const nlohmann::json jsz = nlohmann::json::parse(response.body, nullptr, false);
    if (jsz.is_object() && jsz.contains("account_details")) {
      for (const auto& account : jsz["account_details"]) {
        for (const auto& detail : account.value("stream_detail", nlohmann::json::array())) {
          if (detail.value("name", "") != stream) continue;
          return {detail["state"].value("messages", uint64_t{0}),
                  detail["state"].value("bytes", uint64_t{0})};
        }
      }
    }
    ADD_FAILURE() << "stream " << stream << " not in /jsz: " << response.body.substr(0, 300);
    return {};
  }

  // Bytes of files under the server's JetStream store dir.
  uint64_t DiskBytes() {
    const std::string dir = nats_.config_path().substr(0, nats_.config_path().rfind('/'));
    const std::string out = RunCommand("du -sb " + ShellQuote(dir + "/jetstream") + " | cut -f1");
    return std::strtoull(out.c_str(), nullptr, 10);
  }

  NatsServer nats_;
  uint16_t monitor_port_ = 0;
  std::unique_ptr<Bus> bus_;
};

// A zone of `records` records: A, AAAA, MX and TXT in turn under names of their own; with
// `signed_zone`, each record followed by an RRSIG line carrying 64 random bytes in base64 (as
// an ECDSA P-256 signature is: incompressible). Deterministic for a given seed.
std::string MakeZone(const std::string& zone, uint32_t serial, int records, bool signed_zone,
                     uint32_t seed) {
  std::mt19937 random(seed);
  static const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text = zone + "\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. " +
                     std::to_string(serial) + " 10800 3600 604800 3600\n";
  char line[512];
  for (int i = 1; i < records; ++i) {
    const std::string name = "host" + std::to_string(i) + "." + zone;
    const unsigned value = random();
    switch (i % 4) {
      case 0:
        std::snprintf(line, sizeof line, "%s\t3600\tIN\tA\t198.51.%u.%u\n", name.c_str(),
                      (value >> 8) & 255, value & 255);
        break;
      case 1:
        std::snprintf(line, sizeof line, "%s\t3600\tIN\tAAAA\t2001:db8::%x:%x\n", name.c_str(),
                      value >> 16, value & 0xffff);
        break;
      case 2:
        std::snprintf(line, sizeof line, "%s\t3600\tIN\tMX\t10 mx%u.example.net.\n", name.c_str(),
                      value % 100);
        break;
      default:
        std::snprintf(line, sizeof line, "%s\t3600\tIN\tTXT\t\"v=spf1 ip4:192.0.2.%u -all\"\n",
                      name.c_str(), value & 255);
        break;
    }
    text += line;
    if (signed_zone) {
      std::string signature;
      for (int b = 0; b < 88; ++b) signature += kBase64[random() % 64];  // 64 bytes
      text += name + "\t3600\tIN\tRRSIG\tA 13 3 3600 20270101000000 20261201000000 12345 " + zone +
              " " + signature + "\n";
    }
  }
  return text;
}

TEST_F(StorageTest, BytesPerZoneVersionRetentionAndTombstones) {
  StartServer(NatsOptions());
  distribution::CatalogOptions options;
  auto catalog = OpenCatalog(options);
  ASSERT_TRUE(catalog);
  const std::string kv = "KV_" + options.bucket;
  std::printf(
      "\nrecords  signed  text bytes  entry bytes  chunks  chunk bytes  ratio  | stream bytes "
      "after v1: chunks  catalog | after v2: chunks  catalog | after tombstone: chunks  "
      "catalog\n");
  for (const bool signed_zone : {false, true}) {
    for (const int records : {10, 1000, 50000}) {
      const std::string zone =
          "z" + std::to_string(records) + (signed_zone ? "-signed" : "") + ".example.";
      const StreamState chunks_before = State(options.stream);
      const StreamState kv_before = State(kv);
      const std::string text1 = MakeZone(zone, 1, records, signed_zone, 1);
      const std::string id1 = distribution::ZoneCatalog::NewVersionId();
      auto v1 = distribution::BuildZoneVersion(
          {.zone = zone, .serial = 1, .version = id1, .text = text1});
      PDNSD_ASSERT_OK(StatusOf(v1));
      auto r1 = catalog->Publish(*v1, 0, "");
      PDNSD_ASSERT_OK(StatusOf(r1));
      const StreamState chunks1 = State(options.stream);
      const StreamState kv1 = State(kv);
      EXPECT_EQ(chunks1.messages - chunks_before.messages, v1->entry.chunks);

      // A new version replaces the old one: its chunks are purged.
      const std::string id2 = distribution::ZoneCatalog::NewVersionId();
      auto v2 =
          distribution::BuildZoneVersion({.zone = zone,
                                          .serial = 2,
                                          .version = id2,
                                          .text = MakeZone(zone, 2, records, signed_zone, 2)});
      PDNSD_ASSERT_OK(StatusOf(v2));
      auto r2 = catalog->Publish(*v2, *r1, id1);
      PDNSD_ASSERT_OK(StatusOf(r2));
      const StreamState chunks2 = State(options.stream);
      const StreamState kv2 = State(kv);
      EXPECT_EQ(chunks2.messages - chunks_before.messages, v2->entry.chunks);
      EXPECT_EQ(kv2.messages, kv1.messages) << "history 1: one entry per zone";

      // A tombstone keeps a small entry and no chunks.
      auto r3 = catalog->PublishTombstone(
          distribution::Tombstone(zone, 2, distribution::ZoneCatalog::NewVersionId()), *r2, id2);
      PDNSD_ASSERT_OK(StatusOf(r3));
      const StreamState chunks3 = State(options.stream);
      const StreamState kv3 = State(kv);
      EXPECT_EQ(chunks3.messages, chunks_before.messages);
      EXPECT_EQ(kv3.messages, kv1.messages);

      const size_t entry_bytes = distribution::EncodeCatalogEntry(v1->entry).size();
      std::printf(
          "%7d  %6s  %10zu  %11zu  %6u  %11llu  %5.2f  |      %12llu  %7llu |     %12llu  "
          "%7llu |           %12llu  %7llu\n",
          records, signed_zone ? "yes" : "no", text1.size(), entry_bytes, v1->entry.chunks,
          static_cast<unsigned long long>(v1->entry.compressed_size),
          static_cast<double>(text1.size()) / static_cast<double>(v1->entry.compressed_size),
          static_cast<unsigned long long>(chunks1.bytes - chunks_before.bytes),
          static_cast<unsigned long long>(kv1.bytes - kv_before.bytes),
          static_cast<unsigned long long>(chunks2.bytes - chunks_before.bytes),
          static_cast<unsigned long long>(kv2.bytes - kv_before.bytes),
          static_cast<unsigned long long>(chunks3.bytes - chunks_before.bytes),
          static_cast<unsigned long long>(kv3.bytes - kv_before.bytes));
    }
  }
  std::printf(
      "store dir on disk: %llu bytes (purged messages stay in block files until the "
      "server compacts them)\n",
      static_cast<unsigned long long>(DiskBytes()));
}

// Random bytes in the zone's TXT records: zstd cannot shrink them, so the version's size in
// the stream is known in advance.
std::string IncompressibleZone(const std::string& zone, uint32_t serial, size_t bytes,
                               uint32_t seed) {
  std::mt19937 random(seed);
  std::string text = zone + "\t3600\tIN\tSOA\tns1.example.net. h.example.net. " +
                     std::to_string(serial) + " 1 1 1 1\n";
  static const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; text.size() < bytes; ++i) {
    std::string value;
    for (int b = 0; b < 200; ++b) value += kBase64[random() % 64];
    text += "t" + std::to_string(i) + "." + zone + "\t60\tIN\tTXT\t\"" + value + "\"\n";
  }
  return text;
}

// Publishes `zone` (no entry yet) with about `bytes` of incompressible text; the result.
StatusOr<uint64_t> PublishNew(distribution::ZoneCatalog& catalog, const std::string& zone,
                              size_t bytes, uint32_t seed) {
  const std::string text = IncompressibleZone(zone, 1, bytes, seed);
  auto version =
      distribution::BuildZoneVersion({.zone = zone,
                                      .serial = 1,
                                      .version = distribution::ZoneCatalog::NewVersionId(),
                                      .text = text},
                                     catalog.options().chunk_bytes);
  if (!version.ok()) return version.status();
  return catalog.Publish(*version, 0, "");
}

// Every zone in `zones` still reads back (its chunks are all there).
void ExpectReadable(distribution::ZoneCatalog& catalog, const std::vector<std::string>& zones) {
  for (const std::string& zone : zones) {
    auto record = catalog.Get(zone);
    ASSERT_TRUE(record.ok()) << zone << ": " << record.status().ToString();
    auto text = catalog.ReadText(record->entry);
    EXPECT_TRUE(text.ok()) << zone << " lost its chunks: " << text.status().ToString();
  }
}

// The chunk stream at its max_bytes ([JetStream] MaxBytes): a version that does not fit is
// refused, and the versions stored before stay whole.
TEST_F(StorageTest, ChunkStreamAtMaxBytesRefusesTheNewVersionAndKeepsTheOthers) {
  StartServer(NatsOptions());
  distribution::CatalogOptions options;
  options.chunk_bytes = 32 * 1024;
  options.max_bytes = 400 * 1024;
  auto catalog = OpenCatalog(options);
  ASSERT_TRUE(catalog);
  std::vector<std::string> stored;
  StatusOr<uint64_t> refused = Status::Internal("never refused");
  for (int i = 0; i < 10; ++i) {
    const std::string zone = "full" + std::to_string(i) + ".example.";
    StatusOr<uint64_t> result = PublishNew(*catalog, zone, 100 * 1024, i);
    if (!result.ok()) {
      refused = result;
      break;
    }
    stored.push_back(zone);
  }
  std::fprintf(stderr, "stream max_bytes %lld: %zu versions of ~100 KiB stored; the next: %s\n",
               static_cast<long long>(options.max_bytes), stored.size(),
               refused.status().ToString().c_str());
  EXPECT_FALSE(refused.ok()) << "the stream took more than its max_bytes";
  // Retry later (space can be freed), not a bad input.
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  EXPECT_EQ(catalog->Get("full" + std::to_string(stored.size()) + ".example.").status().code(),
            StatusCode::kNotFound)
      << "the refused version has no entry";
  ExpectReadable(*catalog, stored);
  // Space comes back with a tombstone (its chunks are purged): the refused zone fits then.
  auto first = catalog->Get(stored.front());
  PDNSD_ASSERT_OK(StatusOf(first));
  PDNSD_ASSERT_OK(StatusOf(catalog->PublishTombstone(
      distribution::Tombstone(stored.front(), 1, distribution::ZoneCatalog::NewVersionId()),
      first->revision, first->entry.version)));
  PDNSD_ASSERT_OK(StatusOf(PublishNew(*catalog, "after.example.", 100 * 1024, 99)));
  ExpectReadable(*catalog, std::vector<std::string>(stored.begin() + 1, stored.end()));
}

// The server's JetStream store full (jetstream { max_file_store }): publishes are refused —
// tombstones too — and the stored versions stay whole.
TEST_F(StorageTest, ServerStoreFullRefusesPublishesAndKeepsStoredVersions) {
  StartServer(NatsOptions().WithMaxFileStore(1024 * 1024));
  distribution::CatalogOptions options;
  options.chunk_bytes = 32 * 1024;
  auto catalog = OpenCatalog(options);
  ASSERT_TRUE(catalog);
  std::vector<std::string> stored;
  StatusOr<uint64_t> refused = Status::Internal("never refused");
  for (int i = 0; i < 40; ++i) {
    const std::string zone = "disk" + std::to_string(i) + ".example.";
    StatusOr<uint64_t> result = PublishNew(*catalog, zone, 100 * 1024, i);
    if (!result.ok()) {
      refused = result;
      break;
    }
    stored.push_back(zone);
  }
  std::fprintf(stderr, "max_file_store 1 MiB: %zu versions of ~100 KiB stored; the next: %s\n",
               stored.size(), refused.status().ToString().c_str());
  EXPECT_FALSE(refused.ok()) << "the server stored more than its max_file_store";
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
  ExpectReadable(*catalog, stored);
  // The catalog entry of a stored zone can still be replaced by a tombstone.
  auto first = catalog->Get(stored.front());
  PDNSD_ASSERT_OK(StatusOf(first));
  auto tombstone = catalog->PublishTombstone(
      distribution::Tombstone(stored.front(), 1, distribution::ZoneCatalog::NewVersionId()),
      first->revision, first->entry.version);
  std::fprintf(stderr, "tombstone with the store full: %s\n",
               tombstone.status().ToString().c_str());
  // The entry is a message of the catalog's stream, which shares the store: refused as well.
  EXPECT_EQ(tombstone.status().code(), StatusCode::kUnavailable) << tombstone.status().ToString();
  ExpectReadable(*catalog, stored);
}

}  // namespace
}  // namespace pdnsd::testing
