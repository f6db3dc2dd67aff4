#include "services/secondary_syncer/reconcile_plan.h"

#include <algorithm>

namespace pdnsd {
namespace {

ReconcilePlan Step(ReconcileAction action, std::vector<std::string> masters = {},
                   bool create_unasked = false) {
  return ReconcilePlan{action, std::move(masters), create_unasked};
}

}  // namespace

ReconcilePlan PlanReconcile(const ReconcileFacts& facts, const std::vector<std::string>& masters) {
  using Presence = LocalZoneFacts::Presence;
  const LocalZoneFacts& local = facts.local;
  switch (facts.primary) {
    case AbsenceVerdict::kPresent:
      break;
    case AbsenceVerdict::kAbsent:
      switch (local.presence) {
        case Presence::kNotAsked:
        case Presence::kExists:
          return Step(ReconcileAction::kLookUp);
        case Presence::kAbsent:
          return Step(ReconcileAction::kNothing);
        case Presence::kPresent:
          return Step(ReconcileAction::kDelete);
      }
      break;
    case AbsenceVerdict::kSuspected:
    case AbsenceVerdict::kUnknown:
      // Never delete (nor create) a zone on a doubt: the primary may well have it.
      return Step(ReconcileAction::kKeepAndRetry);
  }
  switch (local.presence) {
    case Presence::kNotAsked:
      if (facts.announced_new) {
        return Step(ReconcileAction::kCreate, masters, true);
      }
      return Step(ReconcileAction::kLookUp);
    case Presence::kExists:
      return Step(ReconcileAction::kLookUp);
    case Presence::kAbsent:
      return Step(ReconcileAction::kCreate, masters);
    case Presence::kPresent:
      break;
  }
  if (local.kind != "Slave" || local.masters != masters) {
    return Step(ReconcileAction::kRepoint, masters);
  }
  // The SOA's serial decides nothing: the primary's packet cache can serve an old SOA for a
  // while, while the AXFR our endpoint serves is always current, and axfr-retrieve transfers
  // whatever the primary serves, a lower serial too (a zone deleted and created anew).
  return Step(ReconcileAction::kRetrieve);
}

}  // namespace pdnsd
