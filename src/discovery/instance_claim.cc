#include "discovery/instance_claim.h"

#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace pdnsd {
namespace {

// A running instance answers at once; this only bounds a hung one.
constexpr std::chrono::milliseconds kClaimTimeout{2000};

std::string Describe(const Heartbeat& heartbeat) {
  std::string text = "host " + (heartbeat.host.empty() ? "(unknown)" : heartbeat.host) +
                     ", boot id " + heartbeat.boot_id;
  if (!heartbeat.version.empty()) text += ", version " + heartbeat.version;
  return text;
}

}  // namespace

std::string ClaimSubject(const std::string& heartbeat_prefix, const std::string& service,
                         const std::string& id) {
  return heartbeat_prefix + "-claim." + service + "." + id;
}

ClaimDecision DecideClaim(const Heartbeat& ours, const StatusOr<std::string>& reply,
                          bool broker_connected) {
  if (!broker_connected) {
    return {ClaimVerdict::kUnchecked, "the message broker is not connected"};
  }
  if (!reply.ok()) {
    // No responders comes back at once as Unavailable while connected: no one holds the ID.
    if (reply.status().code() == StatusCode::kUnavailable) return {ClaimVerdict::kFree, ""};
    return {ClaimVerdict::kUnchecked, reply.status().message()};
  }
  auto holder = DecodeHeartbeat(*reply);
  if (!holder.ok()) {
    return {ClaimVerdict::kUnchecked,
            "unreadable answer to the claim: " + holder.status().message()};
  }
  if (holder->id != ours.id || holder->service != ours.service) {
    return {ClaimVerdict::kUnchecked, "the claim was answered by " + holder->service + " " +
                                          holder->id + ", not an instance with our ID"};
  }
  if (holder->boot_id == ours.boot_id) return {ClaimVerdict::kFree, ""};
  return {ClaimVerdict::kTaken, "ID " + ours.id + " is already used by another running " +
                                    ours.service + " (" + Describe(*holder) + ")"};
}

bool IsOtherInstance(const Heartbeat& ours, const Heartbeat& seen) {
  return seen.id == ours.id && seen.service == ours.service && seen.boot_id != ours.boot_id;
}

InstanceClaim::InstanceClaim(Bus* bus, std::string heartbeat_prefix, Heartbeat ours,
                             prometheus::Counter* collisions, Logger logger)
    : bus_(bus),
      heartbeat_prefix_(std::move(heartbeat_prefix)),
      ours_(std::move(ours)),
      collisions_(collisions),
      logger_(std::move(logger)) {}

InstanceClaim::~InstanceClaim() {
  claims_.reset();
  heartbeats_.reset();
}

Status InstanceClaim::Claim() {
  const std::string subject = ClaimSubject(heartbeat_prefix_, ours_.service, ours_.id);
  const bool connected = bus_->IsConnected();
  StatusOr<std::string> reply = Status::Unavailable("not asked");
  if (connected) reply = bus_->Request(subject, EncodeHeartbeat(ours_), kClaimTimeout);
  const ClaimDecision decision = DecideClaim(ours_, reply, connected);
  if (decision.verdict == ClaimVerdict::kTaken) return Status::AlreadyExists(decision.reason);
  if (decision.verdict == ClaimVerdict::kUnchecked) {
    logger_->warn("cannot check that no other {} uses ID {} ({}); its heartbeats will show it",
                  ours_.service, ours_.id, decision.reason);
  }
  auto claims = bus_->Subscribe(subject, "", [this](const BusMessage& m) { OnClaim(m); });
  if (!claims.ok()) return claims.status();
  claims_ = std::move(*claims);
  const std::string heartbeats = heartbeat_prefix_ + "." + ours_.service + "." + ours_.id;
  auto watch = bus_->Subscribe(heartbeats, "", [this](const BusMessage& m) { OnHeartbeat(m); });
  if (!watch.ok()) return watch.status();
  heartbeats_ = std::move(*watch);
  return Status::Ok();
}

void InstanceClaim::OnClaim(const BusMessage& message) {
  if (message.reply.empty()) return;
  auto other = DecodeHeartbeat(message.data);
  if (other.ok() && other->boot_id == ours_.boot_id) return;  // our own claim, on a reconnect
  logger_->error("refused another {} with our ID {} ({})", ours_.service, ours_.id,
                 other.ok() ? Describe(*other) : "unreadable claim");
  Heartbeat now = ours_;
  now.sent_at = "";  // EncodeHeartbeat fills in the current time
  if (Status s = bus_->Respond(message, EncodeHeartbeat(now)); !s.ok()) {
    logger_->warn("cannot answer a claim of ID {}: {}", ours_.id, s.message());
  }
}

void InstanceClaim::OnHeartbeat(const BusMessage& message) {
  auto seen = DecodeHeartbeat(message.data);
  if (!seen.ok() || !IsOtherInstance(ours_, *seen)) return;
  if (collisions_ != nullptr) collisions_->Increment();
  {
    MutexLock lock(mutex_);
    if (!reported_.insert(seen->boot_id).second) return;
  }
  logger_->error("another {} runs with our ID {} ({}): each ID must be used by one instance only",
                 ours_.service, ours_.id, Describe(*seen));
}

}  // namespace pdnsd
