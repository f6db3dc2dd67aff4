// The absence rule as a table (src/services/secondary_syncer/absence_rule.h).
#include "services/secondary_syncer/absence_rule.h"

#include <gtest/gtest.h>

namespace pdnsd {
namespace {

TEST(AbsenceRule, ClassifiesTheRequestStatus) {
  EXPECT_EQ(ClassifyZoneReply(Status::Ok()), ZoneReply::kData);
  EXPECT_EQ(ClassifyZoneReply(Status::NotFound("not_found reply")), ZoneReply::kNotFound);
  EXPECT_EQ(ClassifyZoneReply(Status::Timeout("no complete reply")), ZoneReply::kSilence);
  EXPECT_EQ(ClassifyZoneReply(Status::Unavailable("no responders")), ZoneReply::kUnavailable);
  EXPECT_EQ(ClassifyZoneReply(Status::InvalidArgument("bad reply")), ZoneReply::kUnavailable);
  EXPECT_EQ(ClassifyZoneReply(Status::Internal("bug")), ZoneReply::kUnavailable);
}

TEST(AbsenceRule, DecisionTable) {
  using R = ZoneReply;
  using C = ControlReply;
  using V = AbsenceVerdict;
  struct Row {
    R reply;
    C control;
    int silences_before;
    V verdict;
    int silences_after;
  };
  const Row rows[] = {
      // Data: present, whatever came before.
      {R::kData, C::kNone, 0, V::kPresent, 0},
      {R::kData, C::kNone, 1, V::kPresent, 0},
      // An explicit not_found (our provider) deletes at once.
      {R::kNotFound, C::kNone, 0, V::kAbsent, 0},
      {R::kNotFound, C::kNone, 1, V::kAbsent, 0},
      // No responders, broker down, other error replies: keep, and the series restarts.
      {R::kUnavailable, C::kNone, 0, V::kUnknown, 0},
      {R::kUnavailable, C::kNone, 1, V::kUnknown, 0},
      // Silence with no control zone: never delete.
      {R::kSilence, C::kNone, 0, V::kUnknown, 0},
      {R::kSilence, C::kNone, 1, V::kUnknown, 0},
      {R::kSilence, C::kNone, 5, V::kUnknown, 0},
      // Silence while the control also fails (provider or primary down or slow): keep.
      {R::kSilence, C::kFailed, 0, V::kUnknown, 0},
      {R::kSilence, C::kFailed, 1, V::kUnknown, 0},
      // Silence while the control is answered: suspected once, absent the second time.
      {R::kSilence, C::kAnswered, 0, V::kSuspected, 1},
      {R::kSilence, C::kAnswered, 1, V::kAbsent, 2},
      {R::kSilence, C::kAnswered, 2, V::kAbsent, 3},  // the delete had failed: still absent
      {R::kSilence, C::kAnswered, -1, V::kSuspected, 1},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(testing::Message()
                 << "reply " << static_cast<int>(row.reply) << " control "
                 << static_cast<int>(row.control) << " before " << row.silences_before);
    const AbsenceDecision decision = DecideAbsence(row.reply, row.control, row.silences_before);
    EXPECT_EQ(decision.verdict, row.verdict);
    EXPECT_EQ(decision.silences, row.silences_after);
  }
}

TEST(AbsenceRule, OneSilenceNeverDeletes) {
  const AbsenceDecision first = DecideAbsence(ZoneReply::kSilence, ControlReply::kAnswered, 0);
  EXPECT_NE(first.verdict, AbsenceVerdict::kAbsent);
  static_assert(kSilencesForAbsence >= 2);
}

TEST(AbsenceRule, ControlZonesTable) {
  const std::vector<std::string> local = {"a.", "b.", "c.", "z."};
  struct Row {
    std::string zone;
    std::set<std::string> suspected;
    std::string last_answered;
    size_t max;
    std::vector<std::string> expected;
  };
  const Row rows[] = {
      {"z.", {}, "", 2, {"a.", "b."}},
      {"z.", {}, "c.", 2, {"c.", "a."}},      // the last answered zone first
      {"z.", {}, "z.", 2, {"a.", "b."}},      // never the zone itself
      {"z.", {}, "gone.", 2, {"a.", "b."}},   // only zones this secondary holds
      {"z.", {"a.", "c."}, "c.", 2, {"b."}},  // never a suspected zone
      {"z.", {"a.", "b.", "c."}, "", 2, {}},  // all other zones suspected: none
      {"a.", {}, "", 5, {"b.", "c.", "z."}},
      {"a.", {}, "b.", 1, {"b."}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.zone + " last " + row.last_answered);
    EXPECT_EQ(ControlZones(row.zone, local, row.suspected, row.last_answered, row.max),
              row.expected);
  }
  EXPECT_TRUE(ControlZones("a.", {"a."}, {}, "a.", 2).empty());  // the only zone held
  EXPECT_TRUE(ControlZones("a.", {}, {}, "", 2).empty());
}

TEST(AbsenceRule, LedgerForgetsOnDataAndRemembersTheLastAnsweredZone) {
  AbsenceLedger ledger;
  EXPECT_EQ(ledger.Silences("a."), 0);
  ledger.SetSilences("a.", 1);
  ledger.SetSilences("b.", 1);
  EXPECT_EQ(ledger.Silences("a."), 1);
  EXPECT_EQ(ledger.Suspected(), (std::set<std::string>{"a.", "b."}));
  ledger.Answered("a.");
  EXPECT_EQ(ledger.Silences("a."), 0);
  EXPECT_EQ(ledger.LastAnswered(), "a.");
  ledger.SetSilences("b.", 0);
  EXPECT_TRUE(ledger.Suspected().empty());
}

}  // namespace
}  // namespace pdnsd
