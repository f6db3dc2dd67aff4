// SecondarySyncer: batch creation of new zones through a catalog zone (batch_catalog.h,
// docs/architecture.md, "Batch creation").
#include <spdlog/spdlog.h>

#include "services/secondary_syncer/batch_catalog.h"
#include "services/secondary_syncer/secondary_syncer.h"
#include "services/secondary_syncer/secondary_syncer_internal.h"

namespace pdnsd {

std::set<std::string> SecondarySyncer::BeforeCatalogMarking(
    const std::vector<std::string>& absent_locally, const std::vector<PdnsZone>& local) {
  for (const PdnsZone& zone : local) {
    if (!IsBatchCatalog(zone.name)) continue;
    {
      MutexLock lock(batch_mutex_);
      if (batches_.contains(zone.name)) continue;  // this run's: it ends by itself
    }
    // An earlier run stopped before its batch ended; deleting the catalog zone leaves its
    // members, which this bootstrap reconciles like any other zone.
    if (Status s = powerdns_.DeleteZone(zone.name); s.ok()) {
      logger_->info("deleted {}, a batch catalog an earlier run left behind", zone.name);
    } else if (s.code() != StatusCode::kNotFound) {
      logger_->warn("cannot delete {}, a batch catalog an earlier run left behind: {}", zone.name,
                    s.message());
    }
  }
  if (!CreateAsBatch(absent_locally.size(), static_cast<size_t>(config_.batch_create_from),
                     config_.axfr_tsig.has_value())) {
    return {};
  }
  (void)CreateBatch(absent_locally);  // marks them either way
  return std::set<std::string>(absent_locally.begin(), absent_locally.end());
}

bool SecondarySyncer::CreateBatch(const std::vector<std::string>& zones) {
  std::vector<Served> before;
  before.reserve(zones.size());
  for (const std::string& zone : zones) before.push_back(ServedState(zone));
  std::string catalog;
  {
    MutexLock lock(batch_mutex_);
    catalog = BatchCatalogName(++batch_sequence_, run_id_);
    batches_[catalog] = Batch{zones, zones.size()};
    for (size_t i = 0; i < zones.size(); ++i) batch_members_[zones[i]] = {catalog, before[i]};
  }
  // Before PowerDNS can transfer any (OnTransferServed marks a member due at once); this mark
  // only catches a member PowerDNS never transferred.
  const std::chrono::milliseconds deadline = BatchTransferDeadline(zones.size());
  for (const std::string& zone : zones) {
    AnnounceNew(zone);
    queue_.Mark(zone, deadline);
  }
  Status s = powerdns_.CreateCatalogConsumer(catalog, {MasterAddress()});
  if (s.ok()) s = powerdns_.RetrieveFromPrimary(catalog);
  if (s.ok()) {
    metrics_->batches.Add({{"result", "created"}}).Increment();
    metrics_->batch_zones.Increment(static_cast<double>(zones.size()));
    logger_->info("creating {} zones missing locally as one batch: catalog zone {}", zones.size(),
                  catalog);
    return true;
  }
  metrics_->batches.Add({{"result", "failed"}}).Increment();
  logger_->warn("cannot create {} zones as a batch ({}): creating them one by one", zones.size(),
                s.message());
  {
    MutexLock lock(batch_mutex_);
    for (const std::string& zone : zones) batch_members_.erase(zone);
    batches_.erase(catalog);
  }
  for (const std::string& zone : zones) queue_.Mark(zone);  // now, one by one
  (void)powerdns_.DeleteZone(catalog);  // if it was made before the retrieve failed
  return false;
}

StatusOr<std::string> SecondarySyncer::BatchCatalogZone(const std::string& catalog, bool only_soa) {
  MutexLock lock(batch_mutex_);
  const auto it = batches_.find(catalog);
  if (it == batches_.end()) return Status::NotFound(catalog + " is no batch of this run");
  std::string text = BatchCatalogText(catalog, it->second.members);
  if (only_soa) text.resize(text.find('\n') + 1);
  return text;
}

std::optional<SecondarySyncer::BatchMember> SecondarySyncer::TakeBatchMember(
    const std::string& zone) {
  MutexLock lock(batch_mutex_);
  const auto it = batch_members_.find(zone);
  if (it == batch_members_.end()) return std::nullopt;
  BatchMember member = std::move(it->second);
  batch_members_.erase(it);
  return member;
}

bool SecondarySyncer::AwaitsBatchTransfer(const std::string& zone) {
  MutexLock lock(batch_mutex_);
  return batch_members_.contains(zone);
}

void SecondarySyncer::BatchMemberDone(const std::string& catalog) {
  size_t members = 0;
  {
    MutexLock lock(batch_mutex_);
    const auto it = batches_.find(catalog);
    if (it == batches_.end() || --it->second.remaining > 0) return;
    members = it->second.members.size();
    batches_.erase(it);
  }
  if (Status s = powerdns_.DeleteZone(catalog); !s.ok() && s.code() != StatusCode::kNotFound) {
    // Harmless: the next start deletes it (BeforeCatalogMarking).
    logger_->warn("batch {} done, but its catalog zone stays: {}", catalog, s.message());
    return;
  }
  logger_->info("batch {} done: its {} zones reconciled; catalog zone deleted", catalog, members);
}

}  // namespace pdnsd
