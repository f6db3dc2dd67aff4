// SecondarySyncer: keeps one secondary PowerDNS identical to the primary (docs/architecture.md).
//
// Zone events (broadcast, or targeted at <subject>.<id>) are hints: each marks its zone in a
// ReconcileQueue. `APIWorker` workers reconcile marked zones, one worker per zone at a time:
// ask the zone-provider for the zone's SOA; the primary has it -> make sure the local PowerDNS
// has it as a Slave of our AXFR endpoint, trigger axfr-retrieve, wait until PowerDNS committed
// what the endpoint served, then flush the zone from the caches; the primary does not have
// it (a not_found reply, or silence confirmed by the absence rule, absence_rule.h) -> delete it
// locally; the provider cannot be asked -> keep it and retry with backoff. These choices are
// pure functions (reconcile_plan.h, absence_rule.h, sync_rules.h); Reconcile gathers the facts
// they need and executes what they decide.
// Also answers zone-state requests on <zone state prefix>.<id> with the local serials.
//
// Catalog mode ([JetStream] Mode auto, once the zone-provider made the catalog;
// catalog_follower.h): the catalog's latest entry of a zone is the fact "the primary has it
// at serial S" (a version) or "gone" (a tombstone) instead of the provider's SOA reply, and
// the AXFR endpoint serves the stored version (its SOA line from the entry, its text from the
// chunks). Broadcast zone events are then ignored (the provider answers them with a new
// version); a targeted one makes the syncer read the zone's entry again and apply it. A zone
// the catalog has no entry for is handled as in core NATS mode (the provider is asked).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/logging.h"
#include "core/reconcile_queue.h"
#include "core/thread_annotations.h"
#include "dns/zone_server.h"
#include "model/messages.h"
#include "pdns/api_client.h"
#include "services/common/service_main.h"
#include "services/secondary_syncer/absence_rule.h"
#include "services/secondary_syncer/catalog_follower.h"
#include "services/secondary_syncer/config.h"
#include "services/secondary_syncer/reconcile_plan.h"
#include "services/secondary_syncer/sync_rules.h"

namespace prometheus {
class Registry;
}

namespace pdnsd {

class SecondarySyncer : public Service, private ZoneSource, private ZoneServerObserver {
 public:
  SecondarySyncer(SecondarySyncerConfig config, const ServiceEnvironment& environment);
  ~SecondarySyncer() override;

  Status Start() override;
  void Stop() override;

  // The bound AXFR endpoint (after Start()).
  HostPort axfr_address() const { return zone_server_->address(); }
  // Zones marked or being reconciled right now (for tests and status).
  size_t backlog() const { return queue_.pending() + queue_.in_progress(); }

 private:
  struct Metrics;
  struct Served {
    uint64_t count = 0;    // complete transfers served so far
    uint64_t started = 0;  // transfers that asked the zone-provider for the zone so far
    uint32_t serial = 0;
    uint64_t failures = 0;  // transfers the endpoint could not serve (the source failed)
    Status last_failure;
    ZoneDnssecState dnssec;          // of the last complete transfer
    ZoneDnssecState fetched_dnssec;  // of the zone data fetched for the transfer under way
    std::string read_at;             // of the last complete transfer's data (ZoneSyncReport)
    std::string fetched_read_at;     // of the zone data fetched for the transfer under way
  };

  // ZoneSource: zone data from the zone-provider over the bus.
  StatusOr<std::string> FetchZone(const std::string& zone, bool only_soa) override
      EXCLUDES(served_mutex_);
  // ZoneServerObserver
  void OnQuery(std::string_view qtype, bool permitted) override;
  void OnTransferServed(const std::string& zone, uint32_t serial) override EXCLUDES(served_mutex_);
  void OnTransferFailed(const std::string& zone, const Status& why) override
      EXCLUDES(served_mutex_);
  void OnRefused(std::string_view reason) override;
  // With [AXFRPrimary] TSIG*: makes the local PowerDNS hold the key (once per run) and sign
  // its requests for `zone` with it (AXFR-MASTER-TSIG, once per zone and run, and whenever
  // the zone was just `created`).
  Status EnsureTransferKey(const std::string& zone, bool created) EXCLUDES(tsig_mutex_);

  // `targeted`: it came on <subject>.<our id>.
  void OnEvent(ZoneEventType type, bool targeted, const BusMessage& message)
      EXCLUDES(announced_mutex_, reread_mutex_);
  // True (once) when a targeted event asked to read `zone`'s catalog entry again.
  bool TakeReread(const std::string& zone) EXCLUDES(reread_mutex_);
  // Catalog mode: the zone's entry to apply (read again when a targeted event asked for it);
  // nullopt when the catalog has none (or not in catalog mode): the provider is asked.
  StatusOr<std::optional<distribution::CatalogRecord>> CatalogRecordToApply(
      const std::string& zone);
  void OnStateRequest(const BusMessage& message);
  // The local serials of `zone` (an empty map when the local PowerDNS lacks it), or of all zones.
  StatusOr<ZoneStateReply> LocalZoneState(const std::optional<std::string>& zone);
  void WorkerLoop() EXCLUDES(retry_mutex_);
  // Watches the local PowerDNS while zones wait for a retry: when its API answers again after
  // failing, those zones are retried at once instead of at their backoff (a restarted PowerDNS
  // is caught up within a moment, whatever RetryMaxDelay is).
  void LocalPowerDnsWatchLoop() EXCLUDES(retry_mutex_);
  // Gathers the facts about `zone` and executes PlanReconcile's steps (reconcile_plan.h).
  Status Reconcile(const std::string& zone);
  // Tells the health-checker how a sync of `zone` ended (ZoneSyncReport on
  // kSyncReportPrefix + ID); a failed publish is only counted: the report is informational.
  void ReportSync(const std::string& zone, ZoneSyncReport::Outcome outcome, uint32_t serial,
                  std::string read_at, std::string error = "");
  // Reconcile's fact when the SOA request for `zone` failed with `why`: the absence rule's
  // verdict (absence_rule.h; never kPresent), with *keep set to the error to retry with when
  // the verdict keeps the zone.
  AbsenceVerdict AskAbsenceRule(const std::string& zone, const Status& why, Status* keep);
  // Asks the provider for the SOA of a control zone (absence_rule.h); *asked: the last one.
  ControlReply AskControlZone(const std::string& zone, std::string* asked);
  // Waits until the local PowerDNS committed a transfer served after `before`, asking for the
  // transfer again when PowerDNS dropped the retrieve. Sets *superseded (and returns Ok)
  // when it stopped waiting because the zone was marked again (DecideCommitWait).
  Status WaitForCommit(const std::string& zone, const Served& before, const PdnsZone& local_before,
                       bool* superseded) EXCLUDES(served_mutex_);
  // True when a transfer of `zone` ended at our endpoint (served or failed) since `before`, or
  // the syncer is stopping.
  bool TransferEnded(const std::string& zone, const Served& before) REQUIRES(served_mutex_);
  // After the commit: purges the zone-metadata cache when the transfer may have changed the
  // zone's DNSSEC metadata (MetadataCacheMayBeStale); `before` is nullopt for a new zone.
  Status PurgeStaleMetadata(const std::string& zone, const std::optional<ZoneDnssecState>& before);
  // True (once) when the last reconcile of `zone` stopped as superseded.
  bool TakeSuperseded(const std::string& zone) EXCLUDES(served_mutex_);
  Served ServedState(const std::string& zone) EXCLUDES(served_mutex_);
  // An add event or the bootstrap's zone list says the local PowerDNS lacks `zone`: its next
  // reconcile creates it without looking it up (PlanReconcile, announced_new).
  void AnnounceNew(const std::string& zone) EXCLUDES(announced_mutex_);
  // True (once) when `zone` was announced new since the last call.
  bool TakeAnnouncedNew(const std::string& zone) EXCLUDES(announced_mutex_);
  std::string MasterAddress() const;

  // --- Batch creation (secondary_syncer_batch.cc, batch_catalog.h) ---------------------------
  struct Batch {
    std::vector<std::string> members;
    size_t remaining = 0;  // members whose first reconcile has not ended yet
  };
  struct BatchMember {
    std::string catalog;
    Served before;  // the zone's transfers when the batch began
  };
  // The catalog follower's bootstrap, before it marks the zones: deletes batch catalogs a
  // previous run left in the local PowerDNS, and creates `absent_locally` as one batch when
  // CreateAsBatch says so. Returns the zones it marked (the batch's).
  std::set<std::string> BeforeCatalogMarking(const std::vector<std::string>& absent_locally,
                                             const std::vector<PdnsZone>& local)
      EXCLUDES(batch_mutex_);
  // Makes the local PowerDNS create `zones` through a new batch catalog (a Consumer zone of
  // our endpoint, then axfr-retrieve), each zone marked for when its transfer was served (and,
  // should PowerDNS never transfer it, after BatchTransferDeadline). On failure the zones are
  // marked at once, to be created one by one, and it returns false.
  bool CreateBatch(const std::vector<std::string>& zones) EXCLUDES(batch_mutex_);
  // The batch catalog's zone text (FetchZone); NotFound for a catalog this run did not make.
  StatusOr<std::string> BatchCatalogZone(const std::string& catalog, bool only_soa)
      EXCLUDES(batch_mutex_);
  // `zone`'s batch, once: its reconcile skips the create and the retrieve.
  std::optional<BatchMember> TakeBatchMember(const std::string& zone) EXCLUDES(batch_mutex_);
  // True while `zone` waits for its batch's transfer (OnTransferServed then marks it).
  bool AwaitsBatchTransfer(const std::string& zone) EXCLUDES(batch_mutex_);
  // The first reconcile of a member of `catalog` ended; the last one deletes the catalog zone
  // (its members stay: batch_catalog.h).
  void BatchMemberDone(const std::string& catalog) EXCLUDES(batch_mutex_);

  SecondarySyncerConfig config_;
  CommonConfig common_;
  Clock* clock_;
  Bus* bus_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  PdnsApiClient powerdns_;
  ReconcileQueue queue_;
  std::unique_ptr<ZoneServer> zone_server_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  std::vector<std::thread> workers_;
  RequestCanceller zone_requests_;  // FetchZone's requests; cancelled by Stop()

  Mutex served_mutex_;
  std::condition_variable served_cv_;
  std::map<std::string, Served> served_ GUARDED_BY(served_mutex_);
  std::set<std::string> superseded_ GUARDED_BY(served_mutex_);
  // Zones whose last commit wait stopped as superseded, until a later one sees a commit.
  std::set<std::string> commit_unconfirmed_ GUARDED_BY(served_mutex_);
  Mutex retry_mutex_;
  std::condition_variable retry_cv_;
  std::map<std::string, int> failures_ GUARDED_BY(retry_mutex_);
  std::thread local_watch_;
  // Zones announced by an add event since their last reconcile: probably absent locally, so
  // the reconcile creates them without asking first (one API call less per new zone).
  Mutex announced_mutex_;
  std::set<std::string> announced_new_ GUARDED_BY(announced_mutex_);
  AbsenceLedger absence_;  // silences of zones the provider did not answer for
  // [JetStream] Mode auto: follows the catalog once it exists (nullptr: Mode off).
  std::unique_ptr<CatalogFollower> follower_;
  // Zones a targeted event asked to read from the catalog again since their last reconcile.
  Mutex reread_mutex_;
  std::set<std::string> reread_ GUARDED_BY(reread_mutex_);
  Mutex batch_mutex_;
  std::map<std::string, Batch> batches_ GUARDED_BY(batch_mutex_);              // by catalog name
  std::map<std::string, BatchMember> batch_members_ GUARDED_BY(batch_mutex_);  // by zone
  uint64_t batch_sequence_ GUARDED_BY(batch_mutex_) = 0;
  const std::string run_id_;  // names this run's batch catalogs
  Mutex tsig_mutex_;
  bool tsig_key_installed_ GUARDED_BY(tsig_mutex_) = false;
  std::set<std::string> tsig_zones_ GUARDED_BY(tsig_mutex_);
  std::atomic<bool> stopping_{false};
};

// The service as its binary (pdns-secondary-syncer) and the test harness build it: name, --help
// line and config reader (services/common/service_main.h).
ServiceDefinition SecondarySyncerDefinition();

}  // namespace pdnsd
