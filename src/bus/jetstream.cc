#include "bus/jetstream.h"

#include <nats/nats.h>

#include <utility>

namespace pdnsd {
namespace {

// How a KV entry's marker is written by nats.c and nats-server (header "KV-Operation").
constexpr char kKvOperationHeader[] = "KV-Operation";

// A nats.c JetStream result as a Status. The library's last error text (thread-local) carries
// the broker's own words ("wrong last sequence: 4"), so it goes into the message.
Status JsStatus(natsStatus status, jsErrCode code, const std::string& what) {
  if (status == NATS_OK) return Status::Ok();
  std::string message = what + ": " + natsStatus_GetText(status);
  if (const char* detail = nats_GetLastError(nullptr); detail != nullptr && *detail != '\0') {
    message += std::string(" (") + detail + ")";
  }
  if (code != 0) message += " [JetStream error " + std::to_string(static_cast<int>(code)) + "]";
  if (code == JSStreamWrongLastSequenceErr) return Status::Conflict(message);
  // Open() told a broker without JetStream apart already; later, a request no one answers
  // means the stream has no leader right now (an election after a cluster node's loss), which
  // nats.c's js_Publish reports as JSNotEnabledErr: retry, not "no JetStream"
  // (jetstream_cluster_test).
  if (status == NATS_NO_RESPONDERS) return Status::Unavailable(message);
  // A full store (the stream's max_bytes, the server's max_file_store or the account's limit)
  // refuses writes until space is freed or the limit raised: retry later, the input is fine
  // (jetstream_storage_test).
  if (code == JSStreamStoreFailedErr || code == JSInsufficientResourcesErr ||
      code == JSStorageResourcesExceededErr || code == JSAccountResourcesExceededErr) {
    return Status::Unavailable(message + " (the JetStream store is full)");
  }
  if (code == JSStreamNotFoundErr || code == JSNoMessageFoundErr || status == NATS_NOT_FOUND) {
    return Status::NotFound(message);
  }
  if (code == JSNotEnabledErr || code == JSNotEnabledForAccountErr) {
    return Status::NotFound(message);
  }
  if (status == NATS_TIMEOUT) return Status::Timeout(message);
  if (status == NATS_NO_RESPONDERS || status == NATS_CONNECTION_CLOSED ||
      status == NATS_CONNECTION_DISCONNECTED || status == NATS_NO_SERVER ||
      status == NATS_NOT_YET_CONNECTED) {
    return Status::Unavailable(message);
  }
  if (code != 0 || status == NATS_INVALID_ARG || status == NATS_INVALID_SUBJECT) {
    return Status::InvalidArgument(message);
  }
  return Status::Internal(message);
}

jsStorageType StorageOf(JsStorage storage) {
  return storage == JsStorage::kMemory ? js_MemoryStorage : js_FileStorage;
}

// nats.c refuses bad keys in its kvStore_* calls; Put with a revision publishes itself.
bool IsValidKvKey(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '/' || c == '_' || c == '=' || c == '.';
    if (!ok) return false;
  }
  return true;
}

KvOperation OperationOf(natsMsg* msg) {
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg, kKvOperationHeader, &value) != NATS_OK || value == nullptr) {
    return KvOperation::kPut;
  }
  const std::string_view op(value);
  if (op == "DEL") return KvOperation::kDelete;
  if (op == "PURGE") return KvOperation::kPurge;
  return KvOperation::kPut;
}

std::string DataOf(natsMsg* msg) {
  const int length = natsMsg_GetDataLength(msg);
  return length > 0 ? std::string(natsMsg_GetData(msg), static_cast<size_t>(length))
                    : std::string();
}

std::string KvStreamName(std::string_view bucket) { return "KV_" + std::string(bucket); }
std::string KvSubject(std::string_view bucket, std::string_view key) {
  return "$KV." + std::string(bucket) + "." + std::string(key);
}

}  // namespace

// --- JetStream ------------------------------------------------------------------------------

JetStream::JetStream(jsCtx* context, std::chrono::milliseconds timeout)
    : context_(context), timeout_(timeout) {}

JetStream::~JetStream() { jsCtx_Destroy(context_); }

StatusOr<std::unique_ptr<JetStream>> JetStream::Open(Bus& bus, std::chrono::milliseconds timeout) {
  if (!bus.IsConnected()) return Status::Unavailable("JetStream: the broker is not connected");
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = timeout.count();
  jsCtx* context = nullptr;
  if (natsStatus s = natsConnection_JetStream(&context, bus.connection_, &options); s != NATS_OK) {
    return JsStatus(s, static_cast<jsErrCode>(0), "JetStream context");
  }
  std::unique_ptr<JetStream> jetstream(new JetStream(context, timeout));
  jsAccountInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetAccountInfo(&info, context, nullptr, &code);
  if (info != nullptr) jsAccountInfo_Destroy(info);
  // A broker without JetStream has no responder for $JS.API.INFO; one with JetStream but not
  // for this account answers with an error code.
  if (s == NATS_NO_RESPONDERS || code == JSNotEnabledErr || code == JSNotEnabledForAccountErr) {
    return Status::NotFound(
        "the message broker has no JetStream for this account (nats-server -js or a jetstream "
        "{} block)");
  }
  if (Status status = JsStatus(s, code, "JetStream account info"); !status.ok()) return status;
  return jetstream;
}

Status JetStream::EnsureStream(const StreamSpec& spec) {
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  std::vector<const char*> subjects;
  for (const std::string& subject : spec.subjects) subjects.push_back(subject.c_str());
  config.Name = spec.name.c_str();
  config.Subjects = subjects.data();
  config.SubjectsLen = static_cast<int>(subjects.size());
  config.Storage = StorageOf(spec.storage);
  config.Replicas = spec.replicas;
  config.MaxMsgsPerSubject = spec.max_messages_per_subject;
  config.MaxBytes = spec.max_bytes;
  config.Discard = spec.discard_new ? js_DiscardNew : js_DiscardOld;
  config.AllowDirect = true;
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&info, context_, &config, nullptr, &code);
  if (s != NATS_OK && code == JSStreamNameExistErr) {
    code = static_cast<jsErrCode>(0);
    s = js_UpdateStream(&info, context_, &config, nullptr, &code);
  }
  if (info != nullptr) jsStreamInfo_Destroy(info);
  return JsStatus(s, code, "stream " + spec.name);
}

StatusOr<uint64_t> JetStream::Publish(std::string_view subject, std::string_view data,
                                      std::optional<uint64_t> expected_last_subject_sequence) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  if (expected_last_subject_sequence) {
    if (*expected_last_subject_sequence == 0) {
      options.ExpectNoMessage = true;
    } else {
      options.ExpectLastSubjectSeq = *expected_last_subject_sequence;
    }
  }
  const std::string subject_text(subject);
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_Publish(&ack, context_, subject_text.c_str(), data.data(),
                                  static_cast<int>(data.size()), &options, &code);
  const uint64_t sequence = ack != nullptr ? ack->Sequence : 0;
  if (ack != nullptr) jsPubAck_Destroy(ack);
  if (Status status = JsStatus(s, code, "publish to " + subject_text); !status.ok()) {
    return status;
  }
  return sequence;
}

StatusOr<StoredMessage> JetStream::GetLast(const std::string& stream, const std::string& subject) {
  natsMsg* msg = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s =
      js_GetLastMsg(&msg, context_, stream.c_str(), subject.c_str(), nullptr, &code);
  if (Status status = JsStatus(s, code, "last message on " + subject + " in " + stream);
      !status.ok()) {
    if (msg != nullptr) natsMsg_Destroy(msg);
    return status;
  }
  StoredMessage stored{.subject = natsMsg_GetSubject(msg),
                       .data = DataOf(msg),
                       .sequence = natsMsg_GetSequence(msg)};
  natsMsg_Destroy(msg);
  return stored;
}

Status JetStream::Purge(const std::string& stream, const std::string& subject_filter) {
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = timeout_.count();
  options.Stream.Purge.Subject = subject_filter.c_str();
  jsErrCode code = static_cast<jsErrCode>(0);
  return JsStatus(js_PurgeStream(context_, stream.c_str(), &options, &code), code,
                  "purge " + subject_filter + " in " + stream);
}

StatusOr<std::unique_ptr<KvBucket>> JetStream::OpenBucket(const KvSpec& spec) {
  kvConfig config;
  kvConfig_Init(&config);
  config.Bucket = spec.bucket.c_str();
  config.Replicas = spec.replicas;
  config.StorageType = StorageOf(spec.storage);
  config.History = static_cast<uint8_t>(spec.history);
  config.MaxValueSize = spec.max_value_bytes;
  config.MaxBytes = spec.max_bytes;
  kvStore* store = nullptr;
  // Creating is idempotent for the same settings; other settings are refused by the broker.
  const natsStatus s = js_CreateKeyValue(&store, context_, &config);
  if (s != NATS_OK) {
    const Status status = JsStatus(s, static_cast<jsErrCode>(0), "bucket " + spec.bucket);
    jsStreamInfo* info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const bool exists = js_GetStreamInfo(&info, context_, KvStreamName(spec.bucket).c_str(),
                                         nullptr, &code) == NATS_OK;
    if (info != nullptr) jsStreamInfo_Destroy(info);
    if (exists) {
      return Status::InvalidArgument("bucket " + spec.bucket +
                                     " exists with other settings: " + status.message());
    }
    return status;
  }
  return std::unique_ptr<KvBucket>(new KvBucket(*this, store, spec.bucket));
}

StatusOr<std::unique_ptr<KvBucket>> JetStream::BindBucket(const std::string& bucket) {
  kvStore* store = nullptr;
  // js_KeyValue asks for the bucket's stream's info: NATS_NOT_FOUND when there is none.
  const natsStatus s = js_KeyValue(&store, context_, bucket.c_str());
  if (Status status = JsStatus(s, static_cast<jsErrCode>(0), "bucket " + bucket); !status.ok()) {
    if (store != nullptr) kvStore_Destroy(store);
    return status;
  }
  return std::unique_ptr<KvBucket>(new KvBucket(*this, store, bucket));
}

Status JetStream::CheckStream(const std::string& stream) {
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&info, context_, stream.c_str(), nullptr, &code);
  if (info != nullptr) jsStreamInfo_Destroy(info);
  return JsStatus(s, code, "stream " + stream);
}

// --- KvBucket -------------------------------------------------------------------------------

KvBucket::KvBucket(JetStream& jetstream, kvStore* store, std::string name)
    : jetstream_(jetstream), store_(store), name_(std::move(name)) {}

KvBucket::~KvBucket() { kvStore_Destroy(store_); }

StatusOr<KvEntry> KvBucket::Get(const std::string& key) {
  kvEntry* entry = nullptr;
  const natsStatus s = kvStore_Get(&entry, store_, key.c_str());
  if (Status status = JsStatus(s, static_cast<jsErrCode>(0), "get " + key + " in " + name_);
      !status.ok()) {
    return status;
  }
  KvEntry out{.key = key, .revision = kvEntry_Revision(entry)};
  const int length = kvEntry_ValueLen(entry);
  if (length > 0) {
    out.value.assign(static_cast<const char*>(kvEntry_Value(entry)), static_cast<size_t>(length));
  }
  kvEntry_Destroy(entry);
  return out;
}

StatusOr<uint64_t> KvBucket::Put(const std::string& key, std::string_view value,
                                 std::optional<uint64_t> expected_revision) {
  if (!IsValidKvKey(key)) return Status::InvalidArgument("bad key \"" + key + "\"");
  if (!expected_revision) {
    uint64_t revision = 0;
    const natsStatus s =
        kvStore_Put(&revision, store_, key.c_str(), value.data(), static_cast<int>(value.size()));
    if (Status status = JsStatus(s, static_cast<jsErrCode>(0), "put " + key + " in " + name_);
        !status.ok()) {
      return status;
    }
    return revision;
  }
  const std::string subject = KvSubject(name_, key);
  StatusOr<uint64_t> revision = jetstream_.Publish(subject, value, *expected_revision);
  if (revision.ok() || *expected_revision != 0 ||
      revision.status().code() != StatusCode::kConflict) {
    return revision;
  }
  // "No value" also holds for a key whose last entry is a delete or purge marker: expect that.
  natsMsg* last = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetLastMsg(&last, jetstream_.context_, KvStreamName(name_).c_str(),
                                     subject.c_str(), nullptr, &code);
  if (s != NATS_OK) return revision;  // the Conflict
  const bool marker = OperationOf(last) != KvOperation::kPut;
  const uint64_t marker_revision = natsMsg_GetSequence(last);
  natsMsg_Destroy(last);
  if (!marker) return revision;
  return jetstream_.Publish(subject, value, marker_revision);
}

Status KvBucket::Delete(const std::string& key) {
  return JsStatus(kvStore_Delete(store_, key.c_str()), static_cast<jsErrCode>(0),
                  "delete " + key + " in " + name_);
}

Status KvBucket::Purge(const std::string& key) {
  return JsStatus(kvStore_Purge(store_, key.c_str(), nullptr), static_cast<jsErrCode>(0),
                  "purge " + key + " in " + name_);
}

StatusOr<std::unique_ptr<KvWatcher>> KvBucket::Watch(uint64_t after_revision) {
  std::unique_ptr<KvWatcher> watcher(new KvWatcher(jetstream_, name_, after_revision));
  if (Status s = watcher->Subscribe(); !s.ok()) return s;
  return watcher;
}

// --- KvWatcher ------------------------------------------------------------------------------

KvWatcher::KvWatcher(JetStream& jetstream, std::string bucket, uint64_t after_revision)
    : jetstream_(jetstream),
      bucket_(std::move(bucket)),
      key_prefix_(KvSubject(bucket_, "")),
      last_revision_(after_revision) {}

// Destroyed at once, unlike the Bus's own subscriptions (bus.cc, RetiredSubscriptions): putting
// it aside needs an unsubscribe first, which for a JetStream subscription also deletes its
// consumer, a JetStream request that can wait its whole timeout when the broker is in trouble.
// The race that putting aside avoids needs a message for this subscription in nats.c's read
// thread at the moment of the destroy; an idle watcher gets one heartbeat a second.
KvWatcher::~KvWatcher() {
  if (subscription_ != nullptr) natsSubscription_Destroy(subscription_);
}

Status KvWatcher::Subscribe() {
  const std::string stream = KvStreamName(bucket_);
  const std::string subject = key_prefix_ + ">";
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = stream.c_str();
  // An ordered consumer: flow control and heartbeats, and nats.c makes it again from the last
  // sequence it delivered when it sees a gap or misses heartbeats.
  options.Ordered = true;
  // Heartbeats every second (nats.c's default for ordered consumers: 5 s): a consumer lost with
  // its cluster node is noticed and made again sooner (jetstream_cluster_test,
  // ReplicatedCatalogWatcherSurvivesTheKillOfItsConsumersNode).
  options.Config.Heartbeat = int64_t{1000} * 1000 * 1000;
  if (last_revision_ > 0) {
    options.Config.DeliverPolicy = js_DeliverByStartSequence;
    options.Config.OptStartSeq = last_revision_ + 1;
  } else {
    options.Config.DeliverPolicy = js_DeliverAll;
  }
  jsErrCode code = static_cast<jsErrCode>(0);
  natsSubscription* subscription = nullptr;
  const natsStatus s = js_SubscribeSync(&subscription, jetstream_.context_, subject.c_str(),
                                        nullptr, &options, &code);
  if (Status status = JsStatus(s, code, "watch " + bucket_); !status.ok()) {
    if (subscription != nullptr) natsSubscription_Destroy(subscription);
    return status;
  }
  subscription_ = subscription;
  return Status::Ok();
}

StatusOr<std::optional<KvEntry>> KvWatcher::Next(std::chrono::milliseconds timeout) {
  if (subscription_ == nullptr) {
    if (Status s = Subscribe(); !s.ok()) return Status::Unavailable(s.message());
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    natsMsg* msg = nullptr;
    const natsStatus s =
        natsSubscription_NextMsg(&msg, subscription_, std::max<int64_t>(left.count(), 1));
    if (s == NATS_TIMEOUT) return std::optional<KvEntry>();
    if (s != NATS_OK) {
      const Status failed = JsStatus(s, static_cast<jsErrCode>(0), "watch " + bucket_);
      natsSubscription_Destroy(subscription_);
      subscription_ = nullptr;
      (void)Subscribe();  // from last_revision_; if this fails too, the next call tries again
      return Status::Unavailable(failed.message());
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {  // not a stream message
      natsMsg_Destroy(msg);
      continue;
    }
    const uint64_t revision = meta->Sequence.Stream;
    const uint64_t pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    const std::string_view subject = natsMsg_GetSubject(msg);
    if (revision <= last_revision_ || subject.substr(0, key_prefix_.size()) != key_prefix_) {
      natsMsg_Destroy(msg);  // seen before a consumer was made again
      continue;
    }
    KvEntry entry{.key = std::string(subject.substr(key_prefix_.size())),
                  .value = DataOf(msg),
                  .revision = revision,
                  .operation = OperationOf(msg),
                  .pending = pending};
    natsMsg_Destroy(msg);
    last_revision_ = revision;
    return std::optional<KvEntry>(std::move(entry));
  }
}

}  // namespace pdnsd
