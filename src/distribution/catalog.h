// ZoneCatalog: the zone versions of the JetStream distribution on a real broker
// (docs/architecture.md, "Zone versions"). The catalog is a key-value bucket with one entry per
// zone (CatalogKey(zone) -> EncodeCatalogEntry), history 1; the chunks of each version are
// messages of one stream, chunk i of version v on "<chunk prefix>.<v>.<i>"
// (zone_version.h). The zone-provider is the one writer; syncers and the health-checker read.
//
// Writing a version: chunks first, then the entry with the revision the writer read (so a
// writer that read an older entry never overwrites a newer one: Conflict, and the chunks it
// wrote are purged), then the previous version's chunks are purged. A reader that fetched an
// entry and finds a chunk gone (NotFound) lost a race with the next version: it reads the
// entry again.
//
// Errors as JetStream's (bus/jetstream.h): NotFound from Open() when the broker has no
// JetStream; Unavailable/Timeout when the broker cannot be asked; InvalidArgument for an entry
// or chunk that does not decode (a peer's bad data, named in the message). Thread-safe, except
// CatalogWatcher (one reader). REQUIRES: the Bus outlives the catalog and its watchers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bus/jetstream.h"
#include "core/status.h"
#include "distribution/zone_version.h"

namespace pdnsd::distribution {

// [JetStream] in every service's config (docs/configuration.md); the writer and its readers
// must agree on bucket, stream and prefix.
struct CatalogOptions {
  std::string bucket = "pdns_distribute_catalog";  // key-value bucket of the entries
  std::string stream = "PDNS_DISTRIBUTE_ZONES";    // stream of the chunks
  std::string chunk_prefix = "pdns-distribute.zone";
  int replicas = 1;  // 3 on a three-node cluster
  JsStorage storage = JsStorage::kFile;
  size_t chunk_bytes = kDefaultChunkBytes;
  // Of the chunk stream; -1: the broker's limits. A version that does not fit is refused
  // (Publish fails), never stored by dropping older chunks.
  int64_t max_bytes = -1;
  ZoneVersionLimits limits = {};
  std::chrono::milliseconds timeout{5000};  // each JetStream request
};

// An entry as the catalog holds it: the entry and the revision it was written with.
struct CatalogRecord {
  CatalogEntry entry;
  uint64_t revision = 0;
};

// One change of the catalog as a watcher sees it.
struct CatalogChange {
  std::string zone;
  uint64_t revision = 0;
  // The entry (a version or a tombstone); nullopt when the key was deleted or purged by hand
  // (the provider writes tombstones, never deletes).
  std::optional<CatalogEntry> entry;
  uint64_t pending = 0;  // later changes the broker had when it sent this one (0: caught up)
};

class CatalogWatcher;

// What became of a catalog entry write (ZoneCatalog::Publish, PublishTombstone).
enum class EntryWriteFate {
  kStored,     // the entry is the one written: its chunks stay, the previous version's go
  kNotStored,  // it is not: the new version's chunks are purged
  kUnknown,    // cannot tell: nothing is purged (orphan chunks cost space, not correctness)
};

// True for a write failure after which the entry may have been stored all the same: Timeout
// and Unavailable (the broker may have applied the write and the reply was lost, or the
// connection dropped after the request went out). Conflict and the other errors are refusals.
bool EntryWriteIsAmbiguous(StatusCode write);

// The fate of a write of the entry naming version `written`, from the write's outcome and,
// after an ambiguous one, the entry read back then: the version id it names, NotFound when the
// zone has no entry, another error when it could not be read. `read_back` is not looked at
// after a write that succeeded or was refused.
EntryWriteFate DecideEntryWriteFate(const Status& write, const StatusOr<std::string>& read_back,
                                    std::string_view written);

class ZoneCatalog {
 public:
  // Binds to (creating when absent) the bucket and the stream. NotFound: no JetStream.
  static StatusOr<std::unique_ptr<ZoneCatalog>> Open(Bus& bus, const CatalogOptions& options);
  // Binds to the catalog that its writer made, creating nothing (readers: a syncer must keep
  // working with a writer that never makes one). NotFound when the bucket or the chunk stream
  // does not exist. `jetstream` from JetStream::Open on the same Bus: a caller tells a broker
  // without JetStream (NotFound there) from one without the catalog (NotFound here).
  static StatusOr<std::unique_ptr<ZoneCatalog>> Bind(std::unique_ptr<JetStream> jetstream,
                                                     const CatalogOptions& options);
  ~ZoneCatalog();
  ZoneCatalog(const ZoneCatalog&) = delete;
  ZoneCatalog& operator=(const ZoneCatalog&) = delete;

  const CatalogOptions& options() const { return options_; }

  // The current record of `zone` (NotFound when the catalog has none).
  StatusOr<CatalogRecord> Get(const std::string& zone);
  // Publishes `version` (BuildZoneVersion with options().chunk_bytes or less) as the zone's
  // entry, expecting the zone's entry to be at `expected_revision` (0: none). Returns the new
  // revision. On success the chunks of `previous_version` (when not empty) are purged; on
  // failure the chunks of `version`, except after an entry write whose outcome is ambiguous
  // (EntryWriteIsAmbiguous): then the entry is read back, and when it names `version` the
  // write happened (its revision is returned); when it cannot be read nothing is purged and the
  // write's error returned (DecideEntryWriteFate). REQUIRES: version.entry.version was never
  // published before (NewVersionId).
  StatusOr<uint64_t> Publish(const ZoneVersion& version, uint64_t expected_revision,
                             std::string_view previous_version);
  // Writes a tombstone (zone_version.h, Tombstone) under the same rule.
  StatusOr<uint64_t> PublishTombstone(const CatalogEntry& tombstone, uint64_t expected_revision,
                                      std::string_view previous_version);
  // The zone text of a version entry, its chunks fetched in order and checked
  // (ZoneTextAssembler). NotFound when a chunk is gone (the version was replaced).
  StatusOr<std::string> ReadText(const CatalogEntry& entry);
  // Every change above `after_revision` in revision order (0: the whole catalog, then live).
  StatusOr<std::unique_ptr<CatalogWatcher>> Watch(uint64_t after_revision);

  // A new version id: 22 characters of [A-Za-z0-9], random (as the Object Store's nuid).
  static std::string NewVersionId();

 private:
  ZoneCatalog(CatalogOptions options, std::unique_ptr<JetStream> jetstream,
              std::unique_ptr<KvBucket> bucket);
  // Writes the entry and, when it was stored, purges previous_version's chunks; *fate says
  // what became of it. After an ambiguous failure stored by the broker all the same, returns
  // the revision read back.
  StatusOr<uint64_t> PutEntry(const CatalogEntry& entry, uint64_t expected_revision,
                              std::string_view previous_version, EntryWriteFate* fate);
  Status PurgeVersion(std::string_view version);

  const CatalogOptions options_;
  std::unique_ptr<JetStream> jetstream_;
  std::unique_ptr<KvBucket> bucket_;
};

// Follows the catalog (ZoneCatalog::Watch). Not thread-safe: one reader.
class CatalogWatcher {
 public:
  // The next change, waiting up to `timeout`; nullopt when none came. Unavailable when the
  // subscription failed (it is made again from last_revision(); call again). InvalidArgument
  // for an entry that does not decode or a key that is not a zone's: the change is skipped
  // (last_revision() moves past it) and the next call goes on.
  StatusOr<std::optional<CatalogChange>> Next(std::chrono::milliseconds timeout);
  uint64_t last_revision() const;

 private:
  friend class ZoneCatalog;
  CatalogWatcher(std::unique_ptr<KvWatcher> watcher, ZoneVersionLimits limits);

  std::unique_ptr<KvWatcher> watcher_;
  const ZoneVersionLimits limits_;
};

}  // namespace pdnsd::distribution
