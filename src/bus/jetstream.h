// JetStream: the persistent side of NATS that the zone-version distribution will use
// (docs/architecture.md, "Zone versions"), on a Bus's connection; src/distribution/catalog.h
// builds the catalog on it.
//
// What nats.c 3.4 offers and this wraps: streams (for the chunks of zone versions), key-value
// buckets (for the catalog) with puts that expect a revision, watches that resume from a
// revision, last-message-by-subject gets and purges by subject. nats.c 3.4 has no Object
// Store; src/distribution/zone_version.h lays versions out as it does.
//
// Errors: Unavailable when the broker is not connected, or no stream leader answers (for a
// few seconds while a cluster elects a new one after a node's loss), or a write finds the store
// full (a stream's max_bytes, the server's max_file_store: until space is freed); Timeout when it
// did not answer within the timeout given to Open(); NotFound for a stream, key or message that is
// not there — and from Open() for a broker without JetStream (nats-server without -js / jetstream
// {}), so a service can fall back to core NATS with one warning; Conflict when a put's expected
// revision is not the key's; InvalidArgument for names the broker refuses or a stream that exists
// with other settings. nats.c's JetStream calls are thread-safe and so is every method here, except
// KvWatcher (one reader).
//
// Lifetimes: REQUIRES the Bus outlives the JetStream, its KvBuckets and KvWatchers, and every
// KvWatcher is destroyed before the Bus (as Subscriptions are).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/bus.h"
#include "core/status.h"

struct __jsCtx;
struct __kvStore;
struct __natsSubscription;

namespace pdnsd {

enum class JsStorage { kFile, kMemory };

struct StreamSpec {
  std::string name = {};                   // [A-Za-z0-9_-]
  std::vector<std::string> subjects = {};  // wildcards allowed
  int replicas = 1;                        // 3 on a three-node cluster; > 1 needs a cluster
  JsStorage storage = JsStorage::kFile;
  int64_t max_messages_per_subject = -1;  // -1: unlimited; 1 keeps the last message only
  int64_t max_bytes = -1;                 // -1: unlimited (the server's limits apply)
  // At max_bytes: false, the broker drops the stream's OLDEST messages to take a new one;
  // true, it refuses the new one (the publisher gets an error) and keeps what it has.
  bool discard_new = false;
};

struct KvSpec {
  std::string bucket = {};  // [A-Za-z0-9_-]; its stream is "KV_<bucket>"
  int replicas = 1;
  JsStorage storage = JsStorage::kFile;
  int history = 1;               // values kept per key, 1..64
  int32_t max_value_bytes = -1;  // -1: the broker's payload limit
  int64_t max_bytes = -1;
};

struct StoredMessage {
  std::string subject = {};
  std::string data = {};
  uint64_t sequence = 0;  // in its stream
};

enum class KvOperation { kPut, kDelete, kPurge };

struct KvEntry {
  std::string key = {};
  std::string value = {};  // empty for a delete or purge
  uint64_t revision = 0;
  KvOperation operation = KvOperation::kPut;
  // Watch only: how many later changes the broker had when it sent this one (0: caught up).
  uint64_t pending = 0;
};

class KvBucket;
class KvWatcher;

class JetStream {
 public:
  // Checks that the broker has JetStream for this account (NotFound if not); `timeout` bounds
  // each JetStream request made later through this object.
  static StatusOr<std::unique_ptr<JetStream>> Open(
      Bus& bus, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~JetStream();
  JetStream(const JetStream&) = delete;
  JetStream& operator=(const JetStream&) = delete;

  // Creates the stream, or updates an existing one to `spec` (InvalidArgument when the broker
  // refuses that, e.g. another storage type).
  Status EnsureStream(const StreamSpec& spec);
  // Publishes to a stream and waits for its acknowledgement; returns the sequence. With
  // expected_last_subject_sequence, the broker stores it only if the subject's last message
  // has that sequence (0: the subject has none) — else Conflict.
  StatusOr<uint64_t> Publish(std::string_view subject, std::string_view data,
                             std::optional<uint64_t> expected_last_subject_sequence = {});
  // The last message on `subject` in `stream` (NotFound when there is none).
  StatusOr<StoredMessage> GetLast(const std::string& stream, const std::string& subject);
  // Removes every message of `stream` on subjects matching `subject_filter`.
  Status Purge(const std::string& stream, const std::string& subject_filter);

  // Creates the bucket or binds to an existing one with the same settings (InvalidArgument
  // when it exists with other settings).
  StatusOr<std::unique_ptr<KvBucket>> OpenBucket(const KvSpec& spec);
  // Binds to an existing bucket, never creating it (NotFound when it does not exist): for a
  // reader that must not make what its writer owns.
  StatusOr<std::unique_ptr<KvBucket>> BindBucket(const std::string& bucket);
  // Ok when `stream` exists (NotFound when not).
  Status CheckStream(const std::string& stream);

 private:
  friend class KvBucket;
  friend class KvWatcher;
  JetStream(__jsCtx* context, std::chrono::milliseconds timeout);

  __jsCtx* const context_;  // made from the Bus's connection; the Bus outlives it
  const std::chrono::milliseconds timeout_;
};

// A key-value bucket. Keys: [-/_=.A-Za-z0-9], not starting or ending with '.'
// (distribution::CatalogKey gives one for a zone).
class KvBucket {
 public:
  ~KvBucket();
  KvBucket(const KvBucket&) = delete;
  KvBucket& operator=(const KvBucket&) = delete;

  const std::string& name() const { return name_; }

  // The key's current value (NotFound when absent, deleted or purged).
  StatusOr<KvEntry> Get(const std::string& key);
  // Writes `value` and returns its revision. With expected_revision the write happens only if
  // the key's revision is that one — 0: the key has no value (absent, deleted or purged) —
  // else Conflict: optimistic concurrency, so that a writer that read an older version cannot
  // overwrite a newer one.
  StatusOr<uint64_t> Put(const std::string& key, std::string_view value,
                         std::optional<uint64_t> expected_revision = {});
  // Delete leaves a marker (a watcher sees it); Purge also drops the key's history.
  Status Delete(const std::string& key);
  Status Purge(const std::string& key);

  // Every change with a revision above after_revision, in revision order: from 0, the whole
  // bucket as it stands (with history 1, each key's last value or marker), then live changes.
  // A watcher resumes from the last revision it returned after a reconnect or a broker restart.
  StatusOr<std::unique_ptr<KvWatcher>> Watch(uint64_t after_revision);

 private:
  friend class JetStream;
  KvBucket(JetStream& jetstream, __kvStore* store, std::string name);

  JetStream& jetstream_;
  __kvStore* const store_;
  const std::string name_;
};

// Follows a bucket's changes (KvBucket::Watch) through an ordered consumer. Not thread-safe:
// one thread calls Next(). Destroying it unsubscribes.
class KvWatcher {
 public:
  ~KvWatcher();
  KvWatcher(const KvWatcher&) = delete;
  KvWatcher& operator=(const KvWatcher&) = delete;

  // The next change after the last one returned, waiting up to `timeout`; nullopt when none
  // came. Each revision is returned once and in order. When the subscription failed (a lost
  // consumer, a slow reader) it is made again from last_revision() and the call returns
  // Unavailable; the next call goes on from there.
  StatusOr<std::optional<KvEntry>> Next(std::chrono::milliseconds timeout);
  uint64_t last_revision() const { return last_revision_; }

 private:
  friend class KvBucket;
  KvWatcher(JetStream& jetstream, std::string bucket, uint64_t after_revision);
  Status Subscribe();

  JetStream& jetstream_;
  const std::string bucket_;
  const std::string key_prefix_;  // "$KV.<bucket>."
  uint64_t last_revision_;
  __natsSubscription* subscription_ = nullptr;
};

}  // namespace pdnsd
