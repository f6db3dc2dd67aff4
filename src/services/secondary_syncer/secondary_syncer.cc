#include "services/secondary_syncer/secondary_syncer.h"

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <random>

#include "dns/soa_query.h"
#include "model/messages.h"
#include "model/subjects.h"
#include "services/common/zone_event_intake.h"
#include "services/secondary_syncer/batch_catalog.h"
#include "services/secondary_syncer/secondary_syncer_internal.h"

namespace pdnsd {

namespace {
// 64 random bits as hex: names this run's batch catalogs. A catalog name must never come back:
// a consumer made again under an old name deletes the zones still tagged with it that its
// catalog does not list (measured on 4.7.3; batch_catalog.h).
std::string RandomRunId() {
  std::random_device random;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", static_cast<unsigned>(random()),
                static_cast<unsigned>(random()));
  return text;
}

// The type label of secondarysyncer_powerdns_api_call_total: the original's names where it has
// one (docs/configuration.md, "Metrics"), the client's call kind otherwise.
const char* ApiCallType(const char* call) {
  const std::string_view kind = call;
  if (kind == "list") return "get_zones";
  if (kind == "flush") return "clear_cache";
  return call;
}
}  // namespace

SecondarySyncer::SecondarySyncer(SecondarySyncerConfig config,
                                 const ServiceEnvironment& environment)
    : config_(std::move(config)),
      common_(environment.common),
      clock_(environment.clock),
      bus_(environment.bus),
      logger_(environment.logger),
      metrics_(std::make_unique<Metrics>(*environment.registry)),
      powerdns_(common_.powerdns,
                [this](const char* call, bool ok) {
                  metrics_->api_calls
                      .Add({{"state", ok ? "successful" : "failed"}, {"type", ApiCallType(call)}})
                      .Increment();
                }),
      queue_(*clock_),
      run_id_(RandomRunId()) {
  if (common_.jetstream.mode == JetStreamMode::kAuto) {
    follower_ = std::make_unique<CatalogFollower>(
        *bus_, common_.jetstream.catalog, *clock_, logger_, *environment.registry,
        [this](const std::string& zone, bool absent_locally) {
          if (absent_locally) AnnounceNew(zone);
          queue_.Mark(zone);
        },
        [this] { return powerdns_.ListZones(); },
        [this](const std::vector<std::string>& absent, const std::vector<PdnsZone>& local) {
          return BeforeCatalogMarking(absent, local);
        });
  }
}

SecondarySyncer::~SecondarySyncer() { Stop(); }

std::string SecondarySyncer::MasterAddress() const {
  // PowerDNS needs an address it can connect to, not a wildcard listen address.
  HostPort master = zone_server_->address();
  if (master.host == "0.0.0.0") master.host = "127.0.0.1";
  if (master.host == "::") master.host = "::1";
  return master.ToString();
}

Status SecondarySyncer::Start() {
  ZoneServerOptions endpoint;
  endpoint.allow = config_.axfr_allow;
  endpoint.tsig = config_.axfr_tsig;
  zone_server_ = std::make_unique<ZoneServer>(config_.axfr_address, static_cast<ZoneSource*>(this),
                                              static_cast<ZoneServerObserver*>(this), logger_,
                                              std::move(endpoint));
  if (Status s = zone_server_->Start(); !s.ok()) return s;
  for (int i = 0; i < config_.api_workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  local_watch_ = std::thread([this] { LocalPowerDnsWatchLoop(); });

  for (const auto& [type, subject] : common_.subjects.All()) {
    for (const bool targeted : {false, true}) {
      const std::string s = targeted ? common_.subjects.For(type, common_.id) : subject;
      auto subscription =
          bus_->Subscribe(s, "", [this, type = type, targeted](const BusMessage& message) {
            OnEvent(type, targeted, message);
          });
      if (!subscription.ok()) return subscription.status();
      subscriptions_.push_back(std::move(*subscription));
    }
  }
  auto state = bus_->Subscribe(PeerSubject(config_.zone_state_prefix, common_.id), "",
                               [this](const BusMessage& message) { OnStateRequest(message); });
  if (!state.ok()) return state.status();
  subscriptions_.push_back(std::move(*state));
  logger_->info("secondary {} syncing {} through AXFR endpoint {} with {} workers", common_.id,
                common_.powerdns.url.Origin(), MasterAddress(), config_.api_workers);
  if (follower_) follower_->Start();
  return Status::Ok();
}

void SecondarySyncer::Stop() {
  {
    // Under the lock, so that a worker about to wait in WaitForCommit cannot miss the wakeup.
    MutexLock lock(served_mutex_);
    stopping_ = true;
  }
  // Workers and the endpoint's threads may wait on the zone-provider for up to AXFRTimeout:
  // end those waits now, so that they can be joined within Stop()'s second.
  zone_requests_.Cancel();
  if (follower_) follower_->Stop();
  subscriptions_.clear();
  queue_.Close();
  served_cv_.notify_all();
  {
    MutexLock lock(retry_mutex_);
    retry_cv_.notify_all();
  }
  if (local_watch_.joinable()) local_watch_.join();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  if (zone_server_) zone_server_->Stop();
}

void SecondarySyncer::OnRefused(std::string_view reason) {
  metrics_->axfr_refused.Add({{"reason", std::string(reason)}}).Increment();
}

Status SecondarySyncer::EnsureTransferKey(const std::string& zone, bool created) {
  if (!config_.axfr_tsig) return Status::Ok();
  const TsigKey& key = *config_.axfr_tsig;
  {
    MutexLock lock(tsig_mutex_);
    if (!tsig_key_installed_) {
      if (Status s = powerdns_.PutTsigKey(key.name, key.algorithm, key.secret); !s.ok()) {
        return Status(s.code(), "installing the TSIG key " + key.name +
                                    " in the local PowerDNS: " + s.message());
      }
      tsig_key_installed_ = true;
      logger_->info("TSIG key {} ({}) installed in the local PowerDNS", key.name, key.algorithm);
    }
    // Once per zone and run (the zone's metadata may predate the key or name another one),
    // and for every zone just created.
    if (!created && tsig_zones_.contains(zone)) return Status::Ok();
  }
  if (Status s = powerdns_.SetTransferKey(zone, key.name); !s.ok()) {
    return s;
  }
  MutexLock lock(tsig_mutex_);
  tsig_zones_.insert(zone);
  return Status::Ok();
}

void SecondarySyncer::OnEvent(ZoneEventType type, bool targeted, const BusMessage& message) {
  auto event = ReceiveZoneEvent(type, message, logger_, metrics_->invalid);
  if (!event) return;
  metrics_->events.Add({{"event_type", ZoneEventTypeLabel(type)}}).Increment();
  switch (DecideZoneEvent(follower_ != nullptr && follower_->following(), targeted)) {
    case ZoneEventAction::kIgnore:
      // The catalog brings the version and marks the zone; the event still tells its
      // reconcile to create it without looking it up first.
      if (type == ZoneEventType::kAdd) AnnounceNew(event->zone);
      metrics_->broadcasts_ignored.Increment();
      logger_->debug("{} event for {} on {} ignored: the zone catalog brings its version",
                     ZoneEventTypeLabel(type), event->zone, message.subject);
      return;
    case ZoneEventAction::kRereadCatalog: {
      logger_->debug("{} event for {} on {}: reading its catalog entry again",
                     ZoneEventTypeLabel(type), event->zone, message.subject);
      MutexLock lock(reread_mutex_);
      reread_.insert(event->zone);
      break;
    }
    case ZoneEventAction::kMark:
      logger_->debug("{} event for {} on {}", ZoneEventTypeLabel(type), event->zone,
                     message.subject);
      break;
  }
  if (type == ZoneEventType::kAdd) AnnounceNew(event->zone);
  queue_.Mark(event->zone, config_.event_delay);
}

void SecondarySyncer::OnStateRequest(const BusMessage& message) {
  metrics_->state_requests.Increment();
  auto request = DecodeZoneStateRequest(message.data);
  std::string reply;
  if (!request.ok()) {
    metrics_->invalid.Increment();
    logger_->warn("invalid zone state request on {}: {}", message.subject,
                  request.status().message());
    reply = EncodeErrorReply("", request.status());
  } else if (auto state = LocalZoneState(request->zone); state.ok()) {
    reply = EncodeZoneStateReply(*state);
  } else if (request->accept_error_reply) {
    reply = EncodeErrorReply(request->zone.value_or(""), state.status());
  } else {
    // The original health-checker would read an error reply as an empty state map (model/
    // messages.h): silence, as from the original syncer.
    logger_->warn("no reply to the zone state request on {}: {}", message.subject,
                  state.status().message());
    return;
  }
  if (message.reply.empty()) return;
  if (Status s = bus_->Respond(message, reply); !s.ok()) {
    metrics_->state_responses.Add({{"state", "failed"}}).Increment();
    logger_->error("cannot answer zone state request: {}", s.message());
    return;
  }
  metrics_->state_responses.Add({{"state", "successful"}}).Increment();
}

StatusOr<ZoneStateReply> SecondarySyncer::LocalZoneState(const std::optional<std::string>& zone) {
  ZoneStateReply state;
  if (zone) {
    auto local = powerdns_.GetZone(*zone);
    if (local.ok()) {
      state.statemap[local->name] = local->serial;
    } else if (local.status().code() != StatusCode::kNotFound) {
      return local.status();
    }
    return state;
  }
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) return zones.status();
  for (const PdnsZone& local : *zones) {
    if (!IsBatchCatalog(local.name)) state.statemap[local.name] = local.serial;
  }
  return state;
}

StatusOr<std::string> SecondarySyncer::FetchZone(const std::string& zone, bool only_soa) {
  if (IsBatchCatalog(zone)) return BatchCatalogZone(zone, only_soa);
  if (!only_soa) {
    MutexLock lock(served_mutex_);
    ++served_[zone].started;
  }
  if (follower_ != nullptr && follower_->following()) {
    // The stored version: its SOA line from the entry (no chunk read), its text from the
    // chunks. A zone the catalog lacks is asked for as in core NATS mode.
    if (std::optional<distribution::CatalogRecord> record = follower_->Desired(zone)) {
      if (record->entry.deleted) {
        return Status::NotFound(zone + " is deleted (a tombstone in the zone catalog)");
      }
      if (only_soa) return record->entry.soa;
      StatusOr<std::string> text = follower_->ReadText(zone, &*record);
      if (!text.ok()) return text.status();
      ZoneDnssecState dnssec = DnssecStateOfZoneText(*text);
      MutexLock lock(served_mutex_);
      served_[zone].fetched_dnssec = std::move(dnssec);
      served_[zone].fetched_read_at = record->entry.read_at;
      return text;
    }
  }
  const std::string subject = PeerSubject(config_.zone_data_prefix, common_.id);
  auto raw = bus_->Request(subject, EncodeZoneDataRequest({zone, only_soa, "", true}),
                           config_.axfr_timeout, &zone_requests_);
  auto reply = raw.ok() ? DecodeZoneDataReply(*raw) : StatusOr<ZoneDataReply>(raw.status());
  const bool ok = reply.ok() || reply.status().code() == StatusCode::kNotFound;
  if (!stopping_) {  // a request cancelled by Stop() is not a failure of the provider
    metrics_->zone_data_requests.Add({{"state", ok ? "successful" : "failed"}}).Increment();
  }
  if (!reply.ok()) return reply.status();
  if (reply->zone != zone) {
    return Status::Unavailable("zone provider answered for " + reply->zone + " instead of " + zone);
  }
  absence_.Answered(zone);
  if (!only_soa) {
    ZoneDnssecState dnssec = DnssecStateOfZoneText(reply->zone_data);
    MutexLock lock(served_mutex_);
    served_[zone].fetched_dnssec = std::move(dnssec);
    served_[zone].fetched_read_at = reply->read_at;
  }
  return std::move(reply->zone_data);
}

void SecondarySyncer::OnQuery(std::string_view qtype, bool permitted) {
  metrics_->dns_queries
      .Add({{"qtype", std::string(qtype)}, {"state", permitted ? "permitted" : "prohibited"}})
      .Increment();
}

void SecondarySyncer::OnTransferServed(const std::string& zone, uint32_t serial) {
  {
    MutexLock lock(served_mutex_);
    Served& served = served_[zone];
    ++served.count;
    served.serial = serial;
    served.dnssec = served.fetched_dnssec;
    served.read_at = served.fetched_read_at;
  }
  served_cv_.notify_all();
  // PowerDNS transferred a batch member by itself: now its reconcile only confirms the commit.
  if (AwaitsBatchTransfer(zone)) queue_.Mark(zone);
}

void SecondarySyncer::OnTransferFailed(const std::string& zone, const Status& why) {
  {
    MutexLock lock(served_mutex_);
    Served& served = served_[zone];
    ++served.failures;
    served.last_failure = why;
  }
  served_cv_.notify_all();
  // A batch member's transfer failed here: reconcile it now (one by one from its retry on),
  // not at its batch's deadline.
  if (AwaitsBatchTransfer(zone)) queue_.Mark(zone);
}

void SecondarySyncer::AnnounceNew(const std::string& zone) {
  MutexLock lock(announced_mutex_);
  announced_new_.insert(zone);
}

bool SecondarySyncer::TakeAnnouncedNew(const std::string& zone) {
  MutexLock lock(announced_mutex_);
  return announced_new_.erase(zone) > 0;
}

SecondarySyncer::Served SecondarySyncer::ServedState(const std::string& zone) {
  MutexLock lock(served_mutex_);
  auto it = served_.find(zone);
  return it == served_.end() ? Served{} : it->second;
}

void SecondarySyncer::WorkerLoop() {
  while (auto zone = queue_.Take()) {
    metrics_->worker_locks.Increment();
    Status status = Status::Internal("the reconcile threw");
    RunCatching(logger_, "a reconcile", [&] { status = Reconcile(*zone); });
    if (status.ok()) {
      const bool superseded = TakeSuperseded(*zone);
      metrics_->reconciles.Add({{"result", superseded ? "superseded" : "successful"}}).Increment();
      MutexLock lock(retry_mutex_);
      failures_.erase(*zone);
    } else if (!stopping_) {
      metrics_->reconciles.Add({{"result", "failed"}}).Increment();
      int attempt;
      {
        MutexLock lock(retry_mutex_);
        attempt = ++failures_[*zone];
        retry_cv_.notify_all();
      }
      const auto backoff = RetryBackoff(attempt, config_.retry_max);
      logger_->warn("sync of {} failed (attempt {}): {}; retrying in {} ms", *zone, attempt,
                    status.message(), backoff.count());
      ReportSync(*zone, ZoneSyncReport::Outcome::kFailed, 0, "", status.message());
      queue_.Mark(*zone, backoff);
    }
    queue_.Done(*zone);
    metrics_->worker_locks.Decrement();
  }
}

void SecondarySyncer::LocalPowerDnsWatchLoop() {
  constexpr auto kProbeEvery = std::chrono::milliseconds(250);
  bool was_down = false;
  MutexLock lock(retry_mutex_);
  while (!stopping_) {
    if (failures_.empty()) {
      was_down = false;
      clock_->WaitUntil(retry_cv_, lock.native(), clock_->DeadlineAfter(std::chrono::seconds(1)));
      continue;
    }
    lock.Unlock();
    const bool down = !powerdns_.Ping().ok();
    std::vector<std::string> retry_now;
    lock.Lock();
    if (was_down && !down) {
      for (const auto& [zone, attempts] : failures_) retry_now.push_back(zone);
    }
    was_down = down;
    lock.Unlock();
    if (!retry_now.empty()) {
      logger_->info("the local PowerDNS answers again: retrying {} zones now", retry_now.size());
      for (const auto& zone : retry_now) queue_.Mark(zone);
    }
    lock.Lock();
    if (!stopping_) clock_->WaitUntil(retry_cv_, lock.native(), clock_->DeadlineAfter(kProbeEvery));
  }
}

Status SecondarySyncer::Reconcile(const std::string& zone) {
  if (IsBatchCatalog(zone)) return Status::Ok();  // ours, not the primary's (batch_catalog.h)
  const std::optional<BatchMember> batch = TakeBatchMember(zone);
  struct BatchDone {
    SecondarySyncer* syncer;
    const std::optional<BatchMember>& batch;
    ~BatchDone() {
      if (batch) syncer->BatchMemberDone(batch->catalog);
    }
  } batch_done{this, batch};
  ReconcileFacts facts;
  facts.announced_new = TakeAnnouncedNew(zone);
  Status keep;  // kKeepAndRetry: why the zone is kept
  // Catalog mode: the zone's entry is the fact (a version: the primary has it; a tombstone:
  // the provider confirmed it gone), no request to the provider.
  StatusOr<std::optional<distribution::CatalogRecord>> record = CatalogRecordToApply(zone);
  if (!record.ok()) return record.status();
  if (record->has_value()) {
    facts.primary = (*record)->entry.deleted ? AbsenceVerdict::kAbsent : AbsenceVerdict::kPresent;
  } else if (auto soa = FetchZone(zone, true); soa.ok()) {
    facts.primary = AbsenceVerdict::kPresent;
  } else {
    facts.primary = AskAbsenceRule(zone, soa.status(), &keep);
  }
  const auto applied = [&] {
    if (record->has_value()) follower_->CountApplied((*record)->revision);
  };
  const std::vector<std::string> masters = {MasterAddress()};
  PdnsZone local_before;  // the zone as the look-up found it
  bool created = false;
  // Each step but the final ones moves facts.local on (PlanReconcile's contract).
  for (;;) {
    const ReconcilePlan plan = PlanReconcile(facts, masters);
    switch (plan.action) {
      case ReconcileAction::kLookUp: {
        auto local = powerdns_.GetZone(zone);
        if (!local.ok() && local.status().code() != StatusCode::kNotFound) return local.status();
        if (local.ok()) {
          local_before = *local;
          facts.local = {LocalZoneFacts::Presence::kPresent, local->kind, local->masters};
        } else {
          facts.local = {LocalZoneFacts::Presence::kAbsent, "", {}};
        }
        continue;
      }
      case ReconcileAction::kCreate: {
        if (batch) {
          // Its batch catalog made PowerDNS create it, with our endpoint as its master.
          created = true;
          facts.local = {LocalZoneFacts::Presence::kPresent, "Slave", plan.masters};
          continue;
        }
        const Status s = powerdns_.CreateSecondaryZone(zone, plan.masters);
        if (!s.ok() && plan.create_unasked && s.code() == StatusCode::kAlreadyExists) {
          // Announced as new but there after all: go on as for any existing zone.
          facts.local = {LocalZoneFacts::Presence::kExists, "", {}};
          continue;
        }
        if (!s.ok()) return s;
        created = true;
        logger_->info("{}: created as secondary of {}", zone, plan.masters.front());
        facts.local = {LocalZoneFacts::Presence::kPresent, "Slave", plan.masters};
        continue;
      }
      case ReconcileAction::kRepoint:
        if (Status s = powerdns_.SetMasters(zone, plan.masters); !s.ok()) return s;
        facts.local = {LocalZoneFacts::Presence::kPresent, "Slave", plan.masters};
        continue;
      case ReconcileAction::kRetrieve:
        break;  // below the loop
      case ReconcileAction::kDelete:
        if (Status s = powerdns_.DeleteZone(zone); !s.ok() && s.code() != StatusCode::kNotFound) {
          return s;
        }
        if (Status s = powerdns_.FlushCache(zone); !s.ok()) return s;
        logger_->info("{}: deleted (the primary no longer has it{})", zone,
                      record->has_value() ? ": a tombstone in the zone catalog" : "");
        absence_.SetSilences(zone, 0);
        applied();
        ReportSync(zone, ZoneSyncReport::Outcome::kDeleted, 0,
                   record->has_value() ? (*record)->entry.read_at : "");
        return Status::Ok();
      case ReconcileAction::kNothing:
        absence_.SetSilences(zone, 0);
        applied();
        ReportSync(zone, ZoneSyncReport::Outcome::kDeleted, 0,
                   record->has_value() ? (*record)->entry.read_at : "");
        return Status::Ok();
      case ReconcileAction::kKeepAndRetry:
        return keep;
    }
    break;
  }
  std::optional<ZoneDnssecState> dnssec_before;
  if (!created) dnssec_before = ZoneDnssecState{local_before.dnssec, local_before.nsec3param};

  const bool batch_created = batch && created;
  Served before;
  if (batch_created) {
    // PowerDNS transfers it by itself (batch catalogs never go with TSIG: CreateAsBatch).
    before = batch->before;
  } else {
    if (Status s = EnsureTransferKey(zone, created); !s.ok()) return s;
    before = ServedState(zone);
    if (Status s = powerdns_.RetrieveFromPrimary(zone); !s.ok()) return s;
  }
  bool superseded = false;
  if (Status s = WaitForCommit(zone, before, local_before, &superseded); !s.ok()) return s;
  if (superseded) {
    logger_->debug("{}: marked again while its transfer commits; the next sync flushes", zone);
    return Status::Ok();
  }
  // Only now: a purge or flush before the commit lets a racing reader re-cache the old
  // metadata or answer (docs/stack-notes.md).
  if (Status s = PurgeStaleMetadata(zone, dnssec_before); !s.ok()) return s;
  if (Status s = powerdns_.FlushCache(zone); !s.ok()) return s;
  const Served served = ServedState(zone);
  logger_->info("{}: in sync at serial {}", zone, served.serial);
  applied();
  ReportSync(zone, ZoneSyncReport::Outcome::kSynced, served.serial, served.read_at);
  return Status::Ok();
}

void SecondarySyncer::ReportSync(const std::string& zone, ZoneSyncReport::Outcome outcome,
                                 uint32_t serial, std::string read_at, std::string error) {
  const ZoneSyncReport report{zone, outcome, serial, std::move(read_at), std::move(error), ""};
  const Status sent =
      bus_->Publish(std::string(kSyncReportPrefix) + common_.id, EncodeZoneSyncReport(report));
  metrics_->sync_reports.Add({{"state", sent.ok() ? "successful" : "failed"}}).Increment();
  if (!sent.ok()) logger_->debug("{}: sync report not sent: {}", zone, sent.message());
}

bool SecondarySyncer::TakeReread(const std::string& zone) {
  MutexLock lock(reread_mutex_);
  return reread_.erase(zone) > 0;
}

StatusOr<std::optional<distribution::CatalogRecord>> SecondarySyncer::CatalogRecordToApply(
    const std::string& zone) {
  using Record = std::optional<distribution::CatalogRecord>;
  if (follower_ == nullptr || !follower_->following()) {
    (void)TakeReread(zone);
    return Record();
  }
  if (!TakeReread(zone)) return follower_->Desired(zone);
  StatusOr<distribution::CatalogRecord> reread = follower_->Reread(zone);
  if (reread.ok()) return Record(std::move(*reread));
  if (reread.status().code() == StatusCode::kNotFound) return Record();  // ask the provider
  // The broker could not be asked: the entry held will do; none held: retry later, reading
  // again then.
  if (Record held = follower_->Desired(zone)) return held;
  MutexLock lock(reread_mutex_);
  reread_.insert(zone);
  return reread.status();
}

bool SecondarySyncer::TakeSuperseded(const std::string& zone) {
  MutexLock lock(served_mutex_);
  return superseded_.erase(zone) > 0;
}

Status SecondarySyncer::PurgeStaleMetadata(const std::string& zone,
                                           const std::optional<ZoneDnssecState>& before) {
  const ZoneDnssecState served = ServedState(zone).dnssec;
  if (!MetadataCacheMayBeStale(before, served)) return Status::Ok();
  logger_->debug("{}: DNSSEC state changed (signed {}, NSEC3PARAM \"{}\"): purging metadata cache",
                 zone, served.signed_zone, served.nsec3param);
  Status purged = powerdns_.PurgeMetadataCache(zone);
  if (purged.code() == StatusCode::kInvalidArgument) {
    // A PowerDNS that refuses the call would refuse it on every retry: sync without it.
    logger_->warn(
        "{}: cannot purge PowerDNS's zone-metadata cache ({}); it may serve the old "
        "DNSSEC state until zone-metadata-cache-ttl runs out",
        zone, purged.message());
    return Status::Ok();
  }
  return purged;
}

bool SecondarySyncer::TransferEnded(const std::string& zone, const Served& before) {
  const Served& now = served_[zone];
  return stopping_ || now.count > before.count || now.failures > before.failures;
}

Status SecondarySyncer::WaitForCommit(const std::string& zone, const Served& before,
                                      const PdnsZone& local_before, bool* superseded) {
  const Clock::TimePoint deadline = clock_->DeadlineAfter(config_.axfr_timeout);
  Served served;
  {
    MutexLock lock(served_mutex_);
    int retrieves = 1;
    for (;;) {
      const auto again_after =
          RetrieveAgainAfter(retrieves, served_[zone].started > before.started);
      const Clock::TimePoint until =
          again_after ? std::min(deadline, clock_->DeadlineAfter(*again_after)) : deadline;
      while (!TransferEnded(zone, before) && clock_->Now() < until) {
        clock_->WaitUntil(served_cv_, lock.native(), until);
      }
      if (TransferEnded(zone, before) || clock_->Now() >= deadline) break;
      if (served_[zone].started > before.started) continue;  // under way: wait for it
      // Nothing reached our endpoint: PowerDNS may have dropped the retrieve (a transfer of
      // the zone was still in flight). Asking again is harmless: merged or dropped likewise.
      lock.Unlock();
      const Status again = powerdns_.RetrieveFromPrimary(zone);
      metrics_->retrieves_repeated.Increment();
      lock.Lock();
      if (!again.ok()) return again;
      ++retrieves;
    }
    if (stopping_) return Status::Unavailable("stopping");
    const Served& now = served_[zone];
    if (now.count == before.count && now.failures > before.failures) {
      // The endpoint could not serve the transfer: no point waiting for a commit.
      return Status(now.last_failure.code(), "transfer of " + zone + " failed at our endpoint: " +
                                                 now.last_failure.message());
    }
    if (now.count == before.count) {
      return Status::Timeout("PowerDNS did not transfer " + zone + " from our endpoint");
    }
    served = now;
  }
  const Clock::TimePoint served_at = clock_->Now();
  const bool previous_commit_unconfirmed = [&] {
    MutexLock lock(served_mutex_);
    return commit_unconfirmed_.count(zone) != 0;
  }();
  const auto count_wait = [&](const char* outcome) {
    metrics_->commit_waits.Add({{"outcome", outcome}}).Increment();
    MutexLock lock(served_mutex_);
    if (std::string_view(outcome) == "superseded") {
      commit_unconfirmed_.insert(zone);
    } else {
      commit_unconfirmed_.erase(zone);
    }
  };
  // First over DNS: a SOA query costs the local PowerDNS a small fraction of an API call
  // (which builds a backend per request: ~2 ms of its CPU). Only a transfer that moves the
  // serial shows there, and only until a query racing the commit re-caches the old SOA
  // (docs/stack-notes.md): after kDnsCommitWindow the API decides.
  if (config_.local_dns && served.serial != local_before.serial) {
    constexpr std::chrono::milliseconds kDnsCommitWindow{250};
    while (!stopping_ && clock_->Now() < served_at + kDnsCommitWindow) {
      auto serial = QuerySoaSerial(*config_.local_dns, zone, std::chrono::milliseconds(100));
      if (serial.ok() && *serial == ServedState(zone).serial) {
        count_wait("committed");
        return Status::Ok();
      }
      clock_->SleepFor(std::chrono::milliseconds(1));
    }
  }
  auto poll = std::chrono::milliseconds(2);
  for (;;) {
    if (stopping_) return Status::Unavailable("stopping");
    auto local = powerdns_.GetZone(zone);
    if (local.ok()) {
      // Re-read: a later transfer may have been served meanwhile.
      served = ServedState(zone);
      const CommitProgress progress{
          .serial_matches = local->serial == served.serial,
          .serial_moved = served.serial != local_before.serial,
          .first_transfer = local_before.last_check == 0,
          .last_check_advanced = local->last_check != local_before.last_check,
          .previous_commit_unconfirmed = previous_commit_unconfirmed,
          .marked_again = queue_.marked(zone),
          .since_served =
              std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now() - served_at)};
      switch (DecideCommitWait(progress)) {
        case CommitWaitDecision::kWait:
          break;
        case CommitWaitDecision::kCommitted:
          count_wait("committed");
          return Status::Ok();
        case CommitWaitDecision::kSuperseded: {
          count_wait("superseded");
          MutexLock lock(served_mutex_);
          superseded_.insert(zone);
          *superseded = true;
          return Status::Ok();
        }
        case CommitWaitDecision::kAssumedCommitted:
          count_wait("assumed");
          return Status::Ok();
      }
    } else if (local.status().code() != StatusCode::kNotFound) {
      return local.status();
    }
    if (clock_->Now() > deadline) {
      return Status::Timeout("PowerDNS did not commit serial " + std::to_string(served.serial) +
                             " of " + zone);
    }
    clock_->SleepFor(poll);
    poll = std::min(poll * 2, std::chrono::milliseconds(50));
  }
}

AbsenceVerdict SecondarySyncer::AskAbsenceRule(const std::string& zone, const Status& why,
                                               Status* keep) {
  const ZoneReply reply = ClassifyZoneReply(why);
  ControlReply control = ControlReply::kNone;
  std::string control_zone;
  if (reply == ZoneReply::kSilence && !stopping_) control = AskControlZone(zone, &control_zone);
  const AbsenceDecision decision = DecideAbsence(reply, control, absence_.Silences(zone));
  absence_.SetSilences(zone, decision.silences);
  switch (decision.verdict) {
    case AbsenceVerdict::kAbsent:
      if (reply == ZoneReply::kSilence) {
        logger_->info(
            "{}: no reply {} times while the zone provider answered for {}: the "
            "primary no longer has it",
            zone, decision.silences, control_zone);
      }
      break;
    case AbsenceVerdict::kSuspected:
      *keep = Status::Unavailable(fmt::format(
          "no reply for it while the zone provider answers for {} ({} of {} before it counts as "
          "deleted on the primary): {}",
          control_zone, decision.silences, kSilencesForAbsence, why.message()));
      break;
    case AbsenceVerdict::kPresent:
    case AbsenceVerdict::kUnknown:
      if (reply == ZoneReply::kSilence) {
        *keep =
            Status(why.code(), why.message() + (control == ControlReply::kNone
                                                    ? " (no other zone to check the provider with)"
                                                    : " (nor for " + control_zone + ")"));
      } else {
        *keep = why;
      }
      break;
  }
  // A failed request brings no data, so the rule cannot say kPresent (ClassifyZoneReply).
  return decision.verdict == AbsenceVerdict::kPresent ? AbsenceVerdict::kUnknown : decision.verdict;
}

ControlReply SecondarySyncer::AskControlZone(const std::string& zone, std::string* asked) {
  constexpr size_t kMaxControlZones = 2;
  auto local = powerdns_.ListZones();
  if (!local.ok()) return ControlReply::kFailed;
  std::vector<std::string> names;
  names.reserve(local->size());
  for (const PdnsZone& z : *local) {
    if (!IsBatchCatalog(z.name)) names.push_back(z.name);
  }
  const std::vector<std::string> candidates =
      ControlZones(zone, names, absence_.Suspected(), absence_.LastAnswered(), kMaxControlZones);
  if (candidates.empty()) return ControlReply::kNone;
  for (const std::string& candidate : candidates) {
    if (stopping_) break;
    *asked = candidate;
    if (FetchZone(candidate, true).ok()) return ControlReply::kAnswered;
  }
  return ControlReply::kFailed;
}

ServiceDefinition SecondarySyncerDefinition() {
  return DefineService<SecondarySyncer>(
      "pdns-secondary-syncer", "keeps the local PowerDNS secondary in sync with the primary",
      &ReadSecondarySyncerConfig,
      /*unique_id=*/true);  // the ID names the secondary: one syncer per ID
}

}  // namespace pdnsd
