// The JetStream primitives (src/bus/jetstream.h) on a real nats-server with JetStream, its
// storage in the server's temporary directory: revisioned puts, watches that resume, data
// kept over a restart, a zone version's chunks stored and read back, and a broker without
// JetStream told apart (docs/architecture.md, "Zone versions").
#include "bus/jetstream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "support/cluster.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class JetStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions().WithJetStream()));
    auto bus = Bus::Connect(TestBusOptions(nats_, "jetstream-test"), MakeTestLogger("js"));
    PDNSD_ASSERT_OK(StatusOf(bus));
    bus_ = std::move(bus).value();
    ASSERT_TRUE(WaitFor([&] { return bus_->IsConnected(); }));
    auto jetstream = JetStream::Open(*bus_);
    PDNSD_ASSERT_OK(StatusOf(jetstream));
    jetstream_ = std::move(jetstream).value();
  }

  std::unique_ptr<KvBucket> Bucket(const std::string& name = "catalog") {
    auto bucket = jetstream_->OpenBucket(KvSpec{.bucket = name});
    EXPECT_TRUE(bucket.ok()) << bucket.status().ToString();
    return bucket.ok() ? std::move(bucket).value() : nullptr;
  }

  // The next change the watcher returns within `timeout`, riding out Unavailable while the
  // broker comes back.
  static std::optional<KvEntry> NextChange(KvWatcher& watcher, milliseconds timeout = seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto next = watcher.Next(milliseconds(500));
      if (next.ok() && next->has_value()) return **next;
    }
    return std::nullopt;
  }

  NatsServer nats_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<JetStream> jetstream_;
};

TEST(JetStreamBroker, BrokerWithoutJetStreamIsNotFound) {
  NatsServer nats;
  PDNSD_ASSERT_OK(nats.Start(NatsOptions()));
  auto bus = Bus::Connect(TestBusOptions(nats, "no-jetstream"), MakeTestLogger("js"));
  PDNSD_ASSERT_OK(StatusOf(bus));
  ASSERT_TRUE(WaitFor([&] { return (*bus)->IsConnected(); }));
  auto jetstream = JetStream::Open(**bus);
  ASSERT_FALSE(jetstream.ok());
  EXPECT_EQ(jetstream.status().code(), StatusCode::kNotFound) << jetstream.status().ToString();
  EXPECT_NE(jetstream.status().message().find("no JetStream"), std::string::npos);
}

TEST_F(JetStreamTest, PutWithExpectedRevisionRefusesAStaleWriter) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  auto first = bucket->Put("example.org", "v1", /*expected_revision=*/0);
  PDNSD_ASSERT_OK(StatusOf(first));
  // A second creator and a writer that read nothing lose.
  EXPECT_EQ(bucket->Put("example.org", "other", 0).status().code(), StatusCode::kConflict);
  auto second = bucket->Put("example.org", "v2", *first);
  PDNSD_ASSERT_OK(StatusOf(second));
  EXPECT_GT(*second, *first);
  // The stale writer that read v1 cannot overwrite v2.
  auto stale = bucket->Put("example.org", "stale", *first);
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << stale.status().ToString();
  auto got = bucket->Get("example.org");
  PDNSD_ASSERT_OK(StatusOf(got));
  EXPECT_EQ(got->value, "v2");
  EXPECT_EQ(got->revision, *second);
  // Unconditional puts always land.
  auto third = bucket->Put("example.org", "v3");
  PDNSD_ASSERT_OK(StatusOf(third));
  EXPECT_EQ(bucket->Get("example.org")->revision, *third);

  // Deleted: Get says NotFound, and "no value" (0) holds again for a creator.
  PDNSD_ASSERT_OK(bucket->Delete("example.org"));
  EXPECT_EQ(bucket->Get("example.org").status().code(), StatusCode::kNotFound);
  auto recreated = bucket->Put("example.org", "again", 0);
  PDNSD_ASSERT_OK(StatusOf(recreated));
  EXPECT_EQ(bucket->Get("example.org")->value, "again");
  PDNSD_ASSERT_OK(bucket->Purge("example.org"));
  EXPECT_EQ(bucket->Get("example.org").status().code(), StatusCode::kNotFound);
  PDNSD_EXPECT_OK(StatusOf(bucket->Put("example.org", "after purge", 0)));

  EXPECT_EQ(bucket->Get("absent.example").status().code(), StatusCode::kNotFound);
  // The same bucket opened again binds to it; with other settings it is refused.
  auto again = jetstream_->OpenBucket(KvSpec{.bucket = "catalog"});
  PDNSD_ASSERT_OK(StatusOf(again));
  EXPECT_EQ((*again)->Get("example.org")->value, "after purge");
  auto other = jetstream_->OpenBucket(KvSpec{.bucket = "catalog", .history = 5});
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument) << other.status().ToString();
  EXPECT_EQ(bucket->Put("bad key", "x", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bucket->Put("trailing.", "x", 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(JetStreamTest, ZoneVersionChunksAreStoredReadBackAndPurged) {
  const StreamSpec spec{
      .name = "ZONE_CHUNKS", .subjects = {"pdnsd.chunks.>"}, .max_messages_per_subject = 1};
  PDNSD_ASSERT_OK(jetstream_->EnsureStream(spec));
  PDNSD_ASSERT_OK(jetstream_->EnsureStream(spec));  // idempotent
  StreamSpec other_storage = spec;
  other_storage.storage = JsStorage::kMemory;
  EXPECT_EQ(jetstream_->EnsureStream(other_storage).code(), StatusCode::kInvalidArgument);
  // Replication 3 needs a cluster: a single server refuses it.
  StreamSpec replicated{.name = "R3", .subjects = {"r3.>"}, .replicas = 3};
  EXPECT_FALSE(jetstream_->EnsureStream(replicated).ok());

  std::string text = "example.org.\t3600\tIN\tSOA\tns1.example.net. h.example.net. 7 1 1 1 1\n";
  for (int i = 0; i < 5000; ++i) {
    text += "h" + std::to_string(i) + ".example.org.\t3600\tIN\tTXT\t\"" +
            std::to_string(i * 7919) + "\"\n";
  }
  auto version = distribution::BuildZoneVersion(
      {.zone = "example.org.", .serial = 7, .version = "v1", .text = text}, 4096);
  PDNSD_ASSERT_OK(StatusOf(version));
  ASSERT_GT(version->entry.chunks, 2u);
  for (uint32_t i = 1; i <= version->entry.chunks; ++i) {
    PDNSD_ASSERT_OK(StatusOf(jetstream_->Publish(
        distribution::ChunkSubject("pdnsd.chunks", "v1", i), version->chunk(i))));
  }
  auto catalog = Bucket();
  ASSERT_NE(catalog, nullptr);
  PDNSD_ASSERT_OK(StatusOf(catalog->Put(distribution::CatalogKey("example.org."),
                                        distribution::EncodeCatalogEntry(version->entry), 0)));

  // A reader: the manifest from the catalog, then each chunk by its subject.
  auto stored = catalog->Get("example.org");
  PDNSD_ASSERT_OK(StatusOf(stored));
  auto entry = distribution::DecodeCatalogEntry(stored->value);
  PDNSD_ASSERT_OK(StatusOf(entry));
  distribution::ZoneTextAssembler assembler(*entry);
  for (uint32_t i = 1; i <= entry->chunks; ++i) {
    auto chunk = jetstream_->GetLast("ZONE_CHUNKS",
                                     distribution::ChunkSubject("pdnsd.chunks", entry->version, i));
    PDNSD_ASSERT_OK(StatusOf(chunk));
    PDNSD_ASSERT_OK(assembler.Add(i, chunk->data));
  }
  auto assembled = assembler.Finish();
  PDNSD_ASSERT_OK(StatusOf(assembled));
  EXPECT_EQ(*assembled, text);

  PDNSD_ASSERT_OK(jetstream_->Purge("ZONE_CHUNKS", "pdnsd.chunks.v1.>"));
  EXPECT_EQ(jetstream_->GetLast("ZONE_CHUNKS", "pdnsd.chunks.v1.1").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(jetstream_->GetLast("NO_SUCH_STREAM", "x").status().code(), StatusCode::kNotFound);
}

TEST_F(JetStreamTest, WatchReplaysTheBucketThenFollowsAndResumesFromARevision) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  PDNSD_ASSERT_OK(StatusOf(bucket->Put("a.example", "1")));
  PDNSD_ASSERT_OK(StatusOf(bucket->Put("b.example", "1")));
  auto watcher = bucket->Watch(0);
  PDNSD_ASSERT_OK(StatusOf(watcher));
  auto a = NextChange(**watcher);
  auto b = NextChange(**watcher);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->key, "a.example");
  EXPECT_EQ(b->key, "b.example");
  EXPECT_EQ(a->pending, 1u);
  EXPECT_EQ(b->pending, 0u);  // caught up
  auto c = bucket->Put("c.example", "1");
  PDNSD_ASSERT_OK(StatusOf(c));
  auto live = NextChange(**watcher);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->key, "c.example");
  EXPECT_EQ(live->revision, *c);
  const uint64_t applied = (*watcher)->last_revision();
  watcher->reset();  // the follower stops (a restart)

  PDNSD_ASSERT_OK(StatusOf(bucket->Put("d.example", "1")));
  PDNSD_ASSERT_OK(bucket->Delete("a.example"));
  auto resumed = bucket->Watch(applied);
  PDNSD_ASSERT_OK(StatusOf(resumed));
  auto d = NextChange(**resumed);
  auto deleted = NextChange(**resumed);
  ASSERT_TRUE(d && deleted);
  EXPECT_EQ(d->key, "d.example");
  EXPECT_EQ(deleted->key, "a.example");
  EXPECT_EQ(deleted->operation, KvOperation::kDelete);
  // Nothing from before `applied` again.
  auto more = (*resumed)->Next(milliseconds(300));
  PDNSD_ASSERT_OK(StatusOf(more));
  EXPECT_FALSE(more->has_value());
}

TEST_F(JetStreamTest, DataAndWatchSurviveABrokerKillAndRestart) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  auto before = bucket->Put("kept.example", "before");
  PDNSD_ASSERT_OK(StatusOf(before));
  auto watcher = bucket->Watch(0);
  PDNSD_ASSERT_OK(StatusOf(watcher));
  auto first = NextChange(**watcher);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->key, "kept.example");

  nats_.Kill();  // SIGKILL: what JetStream wrote must be there after the restart
  ASSERT_TRUE(WaitFor([&] { return !bus_->IsConnected(); }));
  // While the broker is down: no change, no crash, Unavailable or nothing.
  auto during = (*watcher)->Next(milliseconds(200));
  EXPECT_TRUE(!during.ok() || !during->has_value());
  PDNSD_ASSERT_OK(nats_.Start());
  ASSERT_TRUE(WaitFor([&] { return bus_->IsConnected(); }, seconds(30)));

  // File storage kept the value; JetStream takes a moment to be ready after the restart.
  StatusOr<KvEntry> kept = Status::Unavailable("not read");
  ASSERT_TRUE(WaitFor(
      [&] {
        kept = bucket->Get("kept.example");
        return kept.ok();
      },
      seconds(30)))
      << kept.status().ToString();
  EXPECT_EQ(kept->value, "before");
  EXPECT_EQ(kept->revision, *before);

  StatusOr<uint64_t> after = Status::Unavailable("not written");
  ASSERT_TRUE(WaitFor(
      [&] {
        after = bucket->Put("new.example", "after");
        return after.ok();
      },
      seconds(30)))
      << after.status().ToString();
  auto change = NextChange(**watcher, seconds(60));
  ASSERT_TRUE(change) << "the watcher did not resume after the restart";
  EXPECT_EQ(change->key, "new.example");
  EXPECT_EQ(change->revision, *after);
  EXPECT_EQ((*watcher)->last_revision(), *after);
}

// The consumer behind a watch disappears (as after a cluster failover or an administrator's
// delete): it is made again from the last revision delivered and nothing is missed. Seen here:
// nats.c's ordered consumer resets itself after missed heartbeats, about 20 s after the delete;
// KvWatcher's own re-subscription (on an error from the subscription) was not needed.
TEST_F(JetStreamTest, WatchRecoversWhenItsConsumerIsDeleted) {
  auto bucket = Bucket();
  ASSERT_NE(bucket, nullptr);
  PDNSD_ASSERT_OK(StatusOf(bucket->Put("one.example", "1")));
  auto watcher = bucket->Watch(0);
  PDNSD_ASSERT_OK(StatusOf(watcher));
  ASSERT_TRUE(NextChange(**watcher));

  // Delete every consumer of the bucket's stream through the JetStream API.
  auto names = bus_->Request("$JS.API.CONSUMER.NAMES.KV_catalog", "{}", seconds(5));
  PDNSD_ASSERT_OK(StatusOf(names));
  const auto consumers = nlohmann::json::parse(*names).value("consumers", nlohmann::json::array());
  ASSERT_EQ(consumers.size(), 1u) << *names;
  for (const auto& name : consumers) {
    auto deleted = bus_->Request("$JS.API.CONSUMER.DELETE.KV_catalog." + name.get<std::string>(),
                                 "", seconds(5));
    PDNSD_ASSERT_OK(StatusOf(deleted));
    EXPECT_NE(deleted->find("\"success\":true"), std::string::npos) << *deleted;
  }
  auto two = bucket->Put("two.example", "2");
  PDNSD_ASSERT_OK(StatusOf(two));
  auto three = bucket->Put("three.example", "3");
  PDNSD_ASSERT_OK(StatusOf(three));
  auto first = NextChange(**watcher, seconds(90));
  auto second = NextChange(**watcher, seconds(30));
  ASSERT_TRUE(first && second) << "the watcher did not recover";
  EXPECT_EQ(first->key, "two.example");
  EXPECT_EQ(first->revision, *two);
  EXPECT_EQ(second->key, "three.example");
}

// The catalog as the provider writes it and a syncer reads it: versions replace each other,
// a stale writer is refused, replaced chunks are gone, a watcher sees versions and tombstones.
TEST_F(JetStreamTest, CatalogPublishesVersionsAndTombstonesInRevisionOrder) {
  distribution::CatalogOptions options;
  options.chunk_bytes = 4096;
  auto opened = distribution::ZoneCatalog::Open(*bus_, options);
  PDNSD_ASSERT_OK(StatusOf(opened));
  distribution::ZoneCatalog& catalog = **opened;
  EXPECT_EQ(catalog.Get("example.org.").status().code(), StatusCode::kNotFound);

  const auto zone_text = [](uint32_t serial) {
    std::string text = "example.org.\t3600\tIN\tSOA\tns1.example.net. h.example.net. " +
                       std::to_string(serial) + " 1 1 1 1\n";
    for (int i = 0; i < 3000; ++i) {
      text += "h" + std::to_string(i) + ".example.org.\t3600\tIN\tTXT\t\"" +
              std::to_string(i * 7919 + serial) + "\"\n";
    }
    return text;
  };
  const std::string text1 = zone_text(1);
  const std::string id1 = distribution::ZoneCatalog::NewVersionId();
  auto v1 = distribution::BuildZoneVersion(
      {.zone = "example.org.", .serial = 1, .version = id1, .text = text1}, options.chunk_bytes);
  PDNSD_ASSERT_OK(StatusOf(v1));
  ASSERT_GT(v1->entry.chunks, 1u);
  auto r1 = catalog.Publish(*v1, 0, "");
  PDNSD_ASSERT_OK(StatusOf(r1));
  // A second writer that also read "no entry" is refused, and its chunks are gone again.
  auto stale = distribution::BuildZoneVersion(
      {.zone = "example.org.", .serial = 1, .version = "stale", .text = text1},
      options.chunk_bytes);
  PDNSD_ASSERT_OK(StatusOf(stale));
  EXPECT_EQ(catalog.Publish(*stale, 0, "").status().code(), StatusCode::kConflict);
  EXPECT_EQ(catalog.ReadText(stale->entry).status().code(), StatusCode::kNotFound);

  auto got = catalog.Get("example.org.");
  PDNSD_ASSERT_OK(StatusOf(got));
  EXPECT_EQ(got->revision, *r1);
  EXPECT_EQ(got->entry, v1->entry);
  auto read1 = catalog.ReadText(got->entry);
  PDNSD_ASSERT_OK(StatusOf(read1));
  EXPECT_EQ(*read1, text1);

  const std::string id2 = distribution::ZoneCatalog::NewVersionId();
  EXPECT_NE(id1, id2);
  auto v2 = distribution::BuildZoneVersion(
      {.zone = "example.org.", .serial = 2, .version = id2, .text = zone_text(2)},
      options.chunk_bytes);
  PDNSD_ASSERT_OK(StatusOf(v2));
  auto r2 = catalog.Publish(*v2, *r1, id1);
  PDNSD_ASSERT_OK(StatusOf(r2));
  // The first version's chunks are purged: a reader still holding its entry learns so.
  EXPECT_EQ(catalog.ReadText(v1->entry).status().code(), StatusCode::kNotFound);
  auto r3 = catalog.PublishTombstone(distribution::Tombstone("example.org.", 2, "gone"), *r2, id2);
  PDNSD_ASSERT_OK(StatusOf(r3));
  EXPECT_EQ(catalog.ReadText(v2->entry).status().code(), StatusCode::kNotFound);

  // A watcher from 0 sees the catalog as it stands (history 1: the tombstone), then live.
  auto watcher = catalog.Watch(0);
  PDNSD_ASSERT_OK(StatusOf(watcher));
  auto first = (*watcher)->Next(seconds(10));
  PDNSD_ASSERT_OK(StatusOf(first));
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->zone, "example.org.");
  EXPECT_EQ((*first)->revision, *r3);
  ASSERT_TRUE((*first)->entry.has_value());
  EXPECT_TRUE((*first)->entry->deleted);
  EXPECT_EQ((*first)->pending, 0u);
  auto v4 = distribution::BuildZoneVersion(
      {.zone = "example.org.", .serial = 4, .version = "v4", .text = zone_text(4)},
      options.chunk_bytes);
  PDNSD_ASSERT_OK(StatusOf(v4));
  auto r4 = catalog.Publish(*v4, *r3, "");
  PDNSD_ASSERT_OK(StatusOf(r4));
  auto live = (*watcher)->Next(seconds(10));
  PDNSD_ASSERT_OK(StatusOf(live));
  ASSERT_TRUE(live->has_value());
  EXPECT_EQ((*live)->revision, *r4);
  ASSERT_TRUE((*live)->entry.has_value());
  EXPECT_EQ((*live)->entry->serial, 4u);
  EXPECT_EQ((*watcher)->last_revision(), *r4);
}

TEST_F(JetStreamTest, CatalogBindCreatesNothingAndFindsTheWritersCatalog) {
  distribution::CatalogOptions options;
  const auto bind = [&] {
    auto jetstream = JetStream::Open(*bus_);
    EXPECT_TRUE(jetstream.ok()) << jetstream.status().ToString();
    return distribution::ZoneCatalog::Bind(std::move(jetstream).value(), options);
  };
  auto missing = bind();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  // Binding made nothing: the bucket is still missing.
  EXPECT_EQ(jetstream_->BindBucket(options.bucket).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(jetstream_->CheckStream(options.stream).code(), StatusCode::kNotFound);

  auto writer = distribution::ZoneCatalog::Open(*bus_, options);
  PDNSD_ASSERT_OK(StatusOf(writer));
  const std::string text =
      "example.org.\t3600\tIN\tSOA\tns1.example.net. h.example.net. 7 1 1 1 1\n";
  auto version = distribution::BuildZoneVersion(
      {.zone = "example.org.", .serial = 7, .version = "v7", .text = text});
  PDNSD_ASSERT_OK(StatusOf(version));
  PDNSD_ASSERT_OK(StatusOf((*writer)->Publish(*version, 0, "")));
  auto reader = bind();
  PDNSD_ASSERT_OK(StatusOf(reader));
  auto got = (*reader)->Get("example.org.");
  PDNSD_ASSERT_OK(StatusOf(got));
  EXPECT_EQ(got->entry.serial, 7u);
  auto read = (*reader)->ReadText(got->entry);
  PDNSD_ASSERT_OK(StatusOf(read));
  EXPECT_EQ(*read, text);
}

}  // namespace
}  // namespace pdnsd::testing
