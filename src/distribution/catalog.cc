#include "distribution/catalog.h"

#include <random>
#include <utility>

namespace pdnsd::distribution {

StatusOr<std::unique_ptr<ZoneCatalog>> ZoneCatalog::Open(Bus& bus, const CatalogOptions& options) {
  StatusOr<std::unique_ptr<JetStream>> jetstream = JetStream::Open(bus, options.timeout);
  if (!jetstream.ok()) return jetstream.status();
  const StreamSpec chunks{.name = options.stream,
                          .subjects = {options.chunk_prefix + ".>"},
                          .replicas = options.replicas,
                          .storage = options.storage,
                          // Every chunk subject is used once: one message each.
                          .max_messages_per_subject = 1,
                          .max_bytes = options.max_bytes,
                          // A full stream refuses the new version: dropping the oldest chunks
                          // would take the current version of another zone apart
                          // (jetstream_storage_test).
                          .discard_new = true};
  if (Status s = (*jetstream)->EnsureStream(chunks); !s.ok()) return s;
  StatusOr<std::unique_ptr<KvBucket>> bucket = (*jetstream)
                                                   ->OpenBucket(KvSpec{.bucket = options.bucket,
                                                                       .replicas = options.replicas,
                                                                       .storage = options.storage,
                                                                       .history = 1});
  if (!bucket.ok()) return bucket.status();
  return std::unique_ptr<ZoneCatalog>(
      new ZoneCatalog(options, std::move(*jetstream), std::move(*bucket)));
}

StatusOr<std::unique_ptr<ZoneCatalog>> ZoneCatalog::Bind(std::unique_ptr<JetStream> jetstream,
                                                         const CatalogOptions& options) {
  // The writer makes the stream before the bucket (Open): a bucket without its stream is a
  // catalog half made, as good as none.
  StatusOr<std::unique_ptr<KvBucket>> bucket = jetstream->BindBucket(options.bucket);
  if (!bucket.ok()) return bucket.status();
  if (Status s = jetstream->CheckStream(options.stream); !s.ok()) return s;
  return std::unique_ptr<ZoneCatalog>(
      new ZoneCatalog(options, std::move(jetstream), std::move(*bucket)));
}

ZoneCatalog::ZoneCatalog(CatalogOptions options, std::unique_ptr<JetStream> jetstream,
                         std::unique_ptr<KvBucket> bucket)
    : options_(std::move(options)), jetstream_(std::move(jetstream)), bucket_(std::move(bucket)) {}

ZoneCatalog::~ZoneCatalog() = default;

StatusOr<CatalogRecord> ZoneCatalog::Get(const std::string& zone) {
  StatusOr<KvEntry> stored = bucket_->Get(CatalogKey(zone));
  if (!stored.ok()) return stored.status();
  StatusOr<CatalogEntry> entry = DecodeCatalogEntry(stored->value, options_.limits);
  if (!entry.ok()) {
    return Status::InvalidArgument("catalog entry of " + zone + ": " + entry.status().message());
  }
  if (entry->zone != zone) {
    return Status::InvalidArgument("catalog entry under the key of " + zone + " names " +
                                   entry->zone);
  }
  return CatalogRecord{.entry = std::move(*entry), .revision = stored->revision};
}

Status ZoneCatalog::PurgeVersion(std::string_view version) {
  return jetstream_->Purge(options_.stream,
                           options_.chunk_prefix + "." + std::string(version) + ".>");
}

bool EntryWriteIsAmbiguous(StatusCode write) {
  return write == StatusCode::kTimeout || write == StatusCode::kUnavailable;
}

EntryWriteFate DecideEntryWriteFate(const Status& write, const StatusOr<std::string>& read_back,
                                    std::string_view written) {
  if (write.ok()) return EntryWriteFate::kStored;
  if (!EntryWriteIsAmbiguous(write.code())) return EntryWriteFate::kNotStored;
  if (read_back.ok()) {
    // Version ids are new for every version: only this write can have stored this one.
    return *read_back == written ? EntryWriteFate::kStored : EntryWriteFate::kNotStored;
  }
  if (read_back.status().code() == StatusCode::kNotFound) return EntryWriteFate::kNotStored;
  return EntryWriteFate::kUnknown;
}

StatusOr<uint64_t> ZoneCatalog::PutEntry(const CatalogEntry& entry, uint64_t expected_revision,
                                         std::string_view previous_version, EntryWriteFate* fate) {
  StatusOr<uint64_t> revision =
      bucket_->Put(CatalogKey(entry.zone), EncodeCatalogEntry(entry), expected_revision);
  StatusOr<std::string> read_back = Status::Internal("not read back");
  uint64_t read_revision = 0;
  if (!revision.ok() && EntryWriteIsAmbiguous(revision.status().code())) {
    StatusOr<CatalogRecord> record = Get(entry.zone);
    if (record.ok()) {
      read_back = record->entry.version;
      read_revision = record->revision;
    } else {
      read_back = record.status();
    }
  }
  *fate = DecideEntryWriteFate(revision.status(), read_back, entry.version);
  if (*fate != EntryWriteFate::kStored) return revision;
  if (!revision.ok()) revision = read_revision;  // stored although the reply was lost
  if (!previous_version.empty() && previous_version != entry.version) {
    // A failed purge leaves orphan chunks (space, not correctness); the entry is written.
    (void)PurgeVersion(previous_version);
  }
  return revision;
}

StatusOr<uint64_t> ZoneCatalog::Publish(const ZoneVersion& version, uint64_t expected_revision,
                                        std::string_view previous_version) {
  const CatalogEntry& entry = version.entry;
  for (uint32_t i = 1; i <= entry.chunks; ++i) {
    StatusOr<uint64_t> stored = jetstream_->Publish(
        ChunkSubject(options_.chunk_prefix, entry.version, i), version.chunk(i));
    if (!stored.ok()) {
      // No entry names this version yet: its chunks go whatever became of this one.
      (void)PurgeVersion(entry.version);
      return stored.status();
    }
  }
  EntryWriteFate fate = EntryWriteFate::kUnknown;
  StatusOr<uint64_t> revision = PutEntry(entry, expected_revision, previous_version, &fate);
  if (fate == EntryWriteFate::kNotStored) (void)PurgeVersion(entry.version);
  return revision;
}

StatusOr<uint64_t> ZoneCatalog::PublishTombstone(const CatalogEntry& tombstone,
                                                 uint64_t expected_revision,
                                                 std::string_view previous_version) {
  if (!tombstone.deleted) return Status::InvalidArgument("not a tombstone");
  EntryWriteFate fate = EntryWriteFate::kUnknown;
  return PutEntry(tombstone, expected_revision, previous_version, &fate);
}

StatusOr<std::string> ZoneCatalog::ReadText(const CatalogEntry& entry) {
  if (entry.deleted) return Status::InvalidArgument(entry.zone + " is a tombstone");
  ZoneTextAssembler assembler(entry);
  for (uint32_t i = 1; i <= entry.chunks; ++i) {
    StatusOr<StoredMessage> chunk =
        jetstream_->GetLast(options_.stream, ChunkSubject(options_.chunk_prefix, entry.version, i));
    if (!chunk.ok()) {
      if (chunk.status().code() == StatusCode::kNotFound) {
        return Status::NotFound("chunk " + std::to_string(i) + " of " + entry.zone + " version " +
                                entry.version + " is gone (replaced by a newer version?)");
      }
      return chunk.status();
    }
    if (Status s = assembler.Add(i, chunk->data); !s.ok()) return s;
  }
  return assembler.Finish();
}

StatusOr<std::unique_ptr<CatalogWatcher>> ZoneCatalog::Watch(uint64_t after_revision) {
  StatusOr<std::unique_ptr<KvWatcher>> watcher = bucket_->Watch(after_revision);
  if (!watcher.ok()) return watcher.status();
  return std::unique_ptr<CatalogWatcher>(new CatalogWatcher(std::move(*watcher), options_.limits));
}

std::string ZoneCatalog::NewVersionId() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::random_device random;
  std::uniform_int_distribution<int> pick(0, 61);
  std::string id(22, '0');
  for (char& c : id) c = kAlphabet[pick(random)];
  return id;
}

CatalogWatcher::CatalogWatcher(std::unique_ptr<KvWatcher> watcher, ZoneVersionLimits limits)
    : watcher_(std::move(watcher)), limits_(limits) {}

uint64_t CatalogWatcher::last_revision() const { return watcher_->last_revision(); }

StatusOr<std::optional<CatalogChange>> CatalogWatcher::Next(std::chrono::milliseconds timeout) {
  StatusOr<std::optional<KvEntry>> next = watcher_->Next(timeout);
  if (!next.ok()) return next.status();
  if (!next->has_value()) return std::optional<CatalogChange>();
  KvEntry& stored = **next;
  StatusOr<std::string> zone = CatalogKeyToZone(stored.key);
  if (!zone.ok()) {
    return Status::InvalidArgument("catalog key \"" + stored.key +
                                   "\" is not a zone's: " + zone.status().message());
  }
  CatalogChange change;
  change.zone = std::move(*zone);
  change.revision = stored.revision;
  change.pending = stored.pending;
  if (stored.operation == KvOperation::kPut) {
    StatusOr<CatalogEntry> entry = DecodeCatalogEntry(stored.value, limits_);
    if (!entry.ok()) {
      return Status::InvalidArgument("catalog entry of " + change.zone + " at revision " +
                                     std::to_string(stored.revision) + ": " +
                                     entry.status().message());
    }
    if (entry->zone != change.zone) {
      return Status::InvalidArgument("catalog entry under the key of " + change.zone + " names " +
                                     entry->zone);
    }
    change.entry = std::move(*entry);
  }
  return std::optional<CatalogChange>(std::move(change));
}

}  // namespace pdnsd::distribution
