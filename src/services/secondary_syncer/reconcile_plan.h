// What one reconcile of a zone does next, as pure functions (tested as tables in
// tests/unit/reconcile_plan_test.cc). SecondarySyncer::Reconcile gathers the facts (the
// zone-provider's answer through the absence rule, absence_rule.h; the local PowerDNS's zone)
// and executes the plan step by step until a final one: the zone is retrieved, deleted, left
// absent, or kept for a retry after RetryBackoff. After the retrieve, the commit rule
// (DecideCommitWait, RetrieveAgainAfter in sync_rules.h) says when the transfer is committed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/reconcile_queue.h"  // RetryBackoff
#include "services/secondary_syncer/absence_rule.h"

namespace pdnsd {

// What the syncer knows about the zone in the local PowerDNS.
struct LocalZoneFacts {
  enum class Presence {
    kNotAsked,  // not looked up (yet)
    kExists,    // a create was refused with AlreadyExists: there, kind and masters unknown
    kAbsent,    // looked up: PowerDNS does not have it
    kPresent,   // looked up (or just created): `kind` and `masters` are PowerDNS's
  };
  Presence presence = Presence::kNotAsked;
  std::string kind;                  // kPresent: "Slave", "Native", ...
  std::vector<std::string> masters;  // kPresent
};

struct ReconcileFacts {
  // The primary's side: kPresent when the SOA request brought data, otherwise the absence
  // rule's verdict on the reply (DecideAbsence).
  AbsenceVerdict primary = AbsenceVerdict::kUnknown;
  // An add event announced the zone since its last reconcile: probably absent locally, so it is
  // created without looking it up first (one API call less per new zone).
  bool announced_new = false;
  LocalZoneFacts local;
};

enum class ReconcileAction {
  kLookUp,        // ask the local PowerDNS for the zone, then plan again
  kCreate,        // create the zone as a Slave of `masters`, then plan again
  kRepoint,       // make the zone a Slave of `masters` (kind or masters differ), then plan again
  kRetrieve,      // final: axfr-retrieve from our endpoint and wait for the commit
  kDelete,        // final: the primary does not have the zone; delete it locally
  kNothing,       // final: the primary does not have the zone, nor does the local PowerDNS
  kKeepAndRetry,  // final: cannot tell whether the primary has it; keep it, retry later
};

struct ReconcilePlan {
  ReconcileAction action = ReconcileAction::kKeepAndRetry;
  // kCreate, kRepoint: the masters to set (our AXFR endpoint).
  std::vector<std::string> masters;
  // kCreate without a look-up first: AlreadyExists means "look it up" (LocalZoneFacts::kExists),
  // not a failure.
  bool create_unasked = false;

  bool operator==(const ReconcilePlan&) const = default;
};

// The next step for a zone whose primary and local facts are `facts`; `masters`: our AXFR
// endpoint, as the local PowerDNS must list it. Executing kLookUp, kCreate or kRepoint moves
// `facts.local` on (to kAbsent/kPresent, kPresent or kExists, kPresent), so that at most four
// steps reach a final action.
ReconcilePlan PlanReconcile(const ReconcileFacts& facts, const std::vector<std::string>& masters);

}  // namespace pdnsd
