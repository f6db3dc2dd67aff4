// The syncer's decision table as a table (src/services/secondary_syncer/reconcile_plan.h).
#include "services/secondary_syncer/reconcile_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pdnsd {
namespace {

using std::chrono::milliseconds;

TEST(PlanReconcile, DecisionTable) {
  using A = ReconcileAction;
  using P = LocalZoneFacts::Presence;
  using V = AbsenceVerdict;
  const std::vector<std::string> ours = {"127.0.0.1:5300"};
  const LocalZoneFacts not_asked{P::kNotAsked, "", {}};
  const LocalZoneFacts exists{P::kExists, "", {}};
  const LocalZoneFacts absent{P::kAbsent, "", {}};
  const LocalZoneFacts ours_slave{P::kPresent, "Slave", ours};
  const LocalZoneFacts other_master{P::kPresent, "Slave", {"192.0.2.1:53"}};
  const LocalZoneFacts no_masters{P::kPresent, "Slave", {}};
  const LocalZoneFacts two_masters{P::kPresent, "Slave", {"127.0.0.1:5300", "192.0.2.1:53"}};
  const LocalZoneFacts native{P::kPresent, "Native", ours};
  const LocalZoneFacts master{P::kPresent, "Master", {}};
  struct Row {
    const char* name;
    V primary;
    bool announced_new;
    LocalZoneFacts local;
    ReconcilePlan expected;
  };
  const Row rows[] = {
      // The primary has the zone: make it a Slave of our endpoint, then retrieve.
      {"not looked up yet: look up", V::kPresent, false, not_asked, {A::kLookUp, {}, false}},
      {"announced by an add event: create without asking",
       V::kPresent,
       true,
       not_asked,
       {A::kCreate, ours, true}},
      {"the unasked create found it there: look up",
       V::kPresent,
       true,
       exists,
       {A::kLookUp, {}, false}},
      {"refused create, not announced: look up",
       V::kPresent,
       false,
       exists,
       {A::kLookUp, {}, false}},
      {"absent locally: create", V::kPresent, false, absent, {A::kCreate, ours, false}},
      {"announced, looked up after a refused create, gone meanwhile: create (no second look)",
       V::kPresent,
       true,
       absent,
       {A::kCreate, ours, false}},
      {"a Slave of our endpoint: retrieve",
       V::kPresent,
       false,
       ours_slave,
       {A::kRetrieve, {}, false}},
      {"announced and already ours: retrieve",
       V::kPresent,
       true,
       ours_slave,
       {A::kRetrieve, {}, false}},
      {"a Slave of another primary: re-point",
       V::kPresent,
       false,
       other_master,
       {A::kRepoint, ours, false}},
      {"a Slave without masters: re-point",
       V::kPresent,
       false,
       no_masters,
       {A::kRepoint, ours, false}},
      {"a Slave of ours and another: re-point",
       V::kPresent,
       false,
       two_masters,
       {A::kRepoint, ours, false}},
      {"Native with our masters: re-point", V::kPresent, false, native, {A::kRepoint, ours, false}},
      {"Master: re-point", V::kPresent, false, master, {A::kRepoint, ours, false}},
      // The primary does not have it: delete what is there, nothing else.
      {"absent on the primary, not looked up: look up",
       V::kAbsent,
       false,
       not_asked,
       {A::kLookUp, {}, false}},
      {"absent on the primary, announced: look up, never create",
       V::kAbsent,
       true,
       not_asked,
       {A::kLookUp, {}, false}},
      {"absent on the primary, present locally: delete",
       V::kAbsent,
       false,
       ours_slave,
       {A::kDelete, {}, false}},
      {"absent on the primary, a Native zone locally: delete",
       V::kAbsent,
       false,
       native,
       {A::kDelete, {}, false}},
      {"absent on both: nothing to do", V::kAbsent, false, absent, {A::kNothing, {}, false}},
      {"absent on the primary, exists locally: look up",
       V::kAbsent,
       false,
       exists,
       {A::kLookUp, {}, false}},
      // Cannot tell: keep whatever is there, touch nothing, retry.
      {"suspected: keep", V::kSuspected, false, ours_slave, {A::kKeepAndRetry, {}, false}},
      {"suspected, not looked up: keep",
       V::kSuspected,
       false,
       not_asked,
       {A::kKeepAndRetry, {}, false}},
      {"suspected, announced: keep, do not create",
       V::kSuspected,
       true,
       not_asked,
       {A::kKeepAndRetry, {}, false}},
      {"unknown: keep", V::kUnknown, false, ours_slave, {A::kKeepAndRetry, {}, false}},
      {"unknown, absent locally: do not create",
       V::kUnknown,
       false,
       absent,
       {A::kKeepAndRetry, {}, false}},
      {"unknown, announced: do not create",
       V::kUnknown,
       true,
       not_asked,
       {A::kKeepAndRetry, {}, false}},
  };
  for (const Row& row : rows) {
    const ReconcilePlan plan = PlanReconcile({row.primary, row.announced_new, row.local}, ours);
    EXPECT_EQ(plan.action, row.expected.action) << row.name;
    EXPECT_EQ(plan.masters, row.expected.masters) << row.name;
    EXPECT_EQ(plan.create_unasked, row.expected.create_unasked) << row.name;
  }
}

// Executing the plan as SecondarySyncer::Reconcile does, with the local PowerDNS's answers
// scripted: every path ends in a final action within four steps.
TEST(PlanReconcile, EveryPathEndsInAFinalAction) {
  using A = ReconcileAction;
  using P = LocalZoneFacts::Presence;
  const std::vector<std::string> ours = {"127.0.0.1:5300"};
  const auto final_action = [](A action) {
    return action == A::kRetrieve || action == A::kDelete || action == A::kNothing ||
           action == A::kKeepAndRetry;
  };
  for (AbsenceVerdict primary : {AbsenceVerdict::kPresent, AbsenceVerdict::kAbsent,
                                 AbsenceVerdict::kSuspected, AbsenceVerdict::kUnknown}) {
    for (bool announced_new : {false, true}) {
      // What a look-up finds: absent, a foreign Slave, ours.
      for (const LocalZoneFacts& found :
           {LocalZoneFacts{P::kAbsent, "", {}}, LocalZoneFacts{P::kPresent, "Native", {}},
            LocalZoneFacts{P::kPresent, "Slave", ours}}) {
        // Whether an unasked create is refused with AlreadyExists.
        for (bool create_refused : {false, true}) {
          ReconcileFacts facts{primary, announced_new, {}};
          int steps = 0;
          ReconcilePlan plan = PlanReconcile(facts, ours);
          for (; !final_action(plan.action) && steps < 10; ++steps) {
            switch (plan.action) {
              case A::kLookUp:
                facts.local = found;
                break;
              case A::kCreate:
                facts.local = plan.create_unasked && create_refused
                                  ? LocalZoneFacts{P::kExists, "", {}}
                                  : LocalZoneFacts{P::kPresent, "Slave", plan.masters};
                break;
              case A::kRepoint:
                facts.local = {P::kPresent, "Slave", plan.masters};
                break;
              default:
                break;
            }
            plan = PlanReconcile(facts, ours);
          }
          EXPECT_LE(steps, 4) << "primary " << static_cast<int>(primary) << " announced "
                              << announced_new;
          if (primary == AbsenceVerdict::kPresent) {
            EXPECT_EQ(plan.action, A::kRetrieve);
          }
        }
      }
    }
  }
}

TEST(RetryBackoff, DoublesFrom100MsUpToTheMaximum) {
  struct Row {
    int attempt;
    milliseconds max;
    milliseconds expected;
  };
  const Row rows[] = {
      {1, milliseconds(60000), milliseconds(100)},
      {2, milliseconds(60000), milliseconds(200)},
      {3, milliseconds(60000), milliseconds(400)},
      {10, milliseconds(60000), milliseconds(51200)},
      {11, milliseconds(60000), milliseconds(60000)},
      {17, milliseconds(60000), milliseconds(60000)},
      {1000, milliseconds(60000), milliseconds(60000)},  // no overflow: the shift stops at 16
      {17, milliseconds::max(), milliseconds(100) * (1 << 16)},
      {1, milliseconds(50), milliseconds(50)},
      {4, milliseconds(500), milliseconds(500)},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(RetryBackoff(row.attempt, row.max), row.expected) << "attempt " << row.attempt;
  }
}

}  // namespace
}  // namespace pdnsd
