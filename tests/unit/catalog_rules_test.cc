// The catalog publisher's decisions (src/services/zone_provider/catalog_rules.h) as tables.
#include "services/zone_provider/catalog_rules.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "services/zone_provider/config.h"

namespace pdnsd {
namespace {

using distribution::CatalogEntry;

CatalogEntry Version(uint32_t serial, const std::string& digest) {
  CatalogEntry entry;
  entry.zone = "example.org.";
  entry.serial = serial;
  entry.version = "v1";
  entry.digest = digest;
  return entry;
}

CatalogEntry Deleted(uint32_t serial) {
  CatalogEntry entry = Version(serial, "");
  entry.deleted = true;
  return entry;
}

TEST(DecidePublish, WritesUnlessSerialAndDigestEqualALiveEntry) {
  struct Row {
    std::optional<CatalogEntry> current;
    uint32_t serial;
    std::string digest;
    PublishDecision expected;
  };
  const Row rows[] = {
      {std::nullopt, 1, "aa", PublishDecision::kPublish},
      {Version(1, "aa"), 1, "aa", PublishDecision::kUnchanged},
      {Version(1, "aa"), 2, "aa", PublishDecision::kPublish},
      // The same serial with other content (a re-signed zone, a key change): a new version.
      {Version(1, "aa"), 1, "bb", PublishDecision::kPublish},
      // A zone back after its tombstone, even with the old serial.
      {Deleted(1), 1, "aa", PublishDecision::kPublish},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_EQ(DecidePublish(rows[i].current, rows[i].serial, rows[i].digest), rows[i].expected)
        << "row " << i;
  }
}

TEST(SweepMarkAnswered, SkipsTheTransferOnlyForASweepMarkTheCatalogAlreadyAnswers) {
  struct Row {
    MarkReasons reasons;
    std::optional<CatalogEntry> current;
    bool expected;
  };
  const MarkReasons swept_7{false, true, 7};
  const Row rows[] = {
      // The transfer that raced the sweep already wrote the serial the sweep saw.
      {swept_7, Version(7, "aa"), true},
      // Behind, ahead (a later write) or absent: transfer.
      {swept_7, Version(6, "aa"), false},
      {swept_7, Version(8, "aa"), false},
      {swept_7, std::nullopt, false},
      {swept_7, Deleted(7), false},
      // An event (or a retry) came too: a transfer that starts after it, always.
      {MarkReasons{true, true, 7}, Version(7, "aa"), false},
      {MarkReasons{true, false, std::nullopt}, Version(7, "aa"), false},
      // The sweep found a live zone the primary does not list: its absence must be confirmed.
      {MarkReasons{false, true, std::nullopt}, Version(7, "aa"), false},
      // No reason recorded (a mark from before the reasons were kept): transfer.
      {MarkReasons{}, Version(7, "aa"), false},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_EQ(SweepMarkAnswered(rows[i].reasons, rows[i].current), rows[i].expected) << "row " << i;
  }
}

TEST(DecideAbsent, TombstonesOnlyALiveEntryTheGateReleased) {
  struct Row {
    std::optional<CatalogEntry> current;
    bool released;
    AbsentAction expected;
  };
  const Row rows[] = {
      {std::nullopt, false, AbsentAction::kNothing},
      {std::nullopt, true, AbsentAction::kNothing},
      {Deleted(3), false, AbsentAction::kNothing},
      {Deleted(3), true, AbsentAction::kNothing},
      {Version(3, "aa"), false, AbsentAction::kHoldForGate},
      {Version(3, "aa"), true, AbsentAction::kTombstone},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    EXPECT_EQ(DecideAbsent(rows[i].current, rows[i].released), rows[i].expected) << "row " << i;
  }
}

TEST(PlanSweep, MarksWhatDiffersFromTheCatalogOncePerObservation) {
  struct Row {
    const char* what;
    std::map<std::string, uint32_t> primary;
    std::map<std::string, CatalogZoneState> catalog;
    std::set<std::string> due;
    std::map<std::string, SweepObservation> observations;  // before
    std::vector<std::string> expected;
    std::map<std::string, SweepObservation> after;
  };
  const CatalogZoneState live5{5, false};
  const CatalogZoneState live7{7, false};
  const CatalogZoneState gone5{5, true};
  const Row rows[] = {
      {"in sync: nothing", {{"a.", 5}}, {{"a.", live5}}, {}, {}, {}, {}},
      {"in sync forgets an old observation",
       {{"a.", 5}},
       {{"a.", live5}},
       {},
       {{"a.", {4, live5}}},
       {},
       {}},
      {"empty catalog: every zone",
       {{"a.", 5}, {"b.", 1}},
       {},
       {},
       {},
       {"a.", "b."},
       {{"a.", {5, std::nullopt}}, {"b.", {1, std::nullopt}}}},
      {"another serial", {{"a.", 6}}, {{"a.", live5}}, {}, {}, {"a."}, {{"a.", {6, live5}}}},
      {"the same observation again: not marked (SOA-EDIT, a zone the DNS refuses)",
       {{"a.", 6}},
       {{"a.", live5}},
       {},
       {{"a.", {6, live5}}},
       {},
       {{"a.", {6, live5}}}},
      {"the catalog moved: marked once more",
       {{"a.", 6}},
       {{"a.", live7}},
       {},
       {{"a.", {6, live5}}},
       {"a."},
       {{"a.", {6, live7}}}},
      {"listed again after its tombstone, same serial",
       {{"a.", 5}},
       {{"a.", gone5}},
       {},
       {{"a.", {std::nullopt, live5}}},
       {"a."},
       {{"a.", {5, gone5}}}},
      {"not listed, live in the catalog: the worker confirms",
       {},
       {{"a.", live5}},
       {},
       {},
       {"a."},
       {{"a.", {std::nullopt, live5}}}},
      {"not listed, due for deletion: left to the gate",
       {},
       {{"a.", live5}},
       {"a."},
       {{"a.", {std::nullopt, live5}}},
       {},
       {}},
      {"listed again while due: marked (the transfer takes it off)",
       {{"a.", 5}},
       {{"a.", live5}},
       {"a."},
       {},
       {"a."},
       {{"a.", {5, live5}}}},
      {"a tombstone the primary does not list: nothing", {}, {{"a.", gone5}}, {}, {}, {}, {}},
      {"gone from both sides: observation forgotten",
       {},
       {},
       {},
       {{"a.", {5, std::nullopt}}},
       {},
       {}},
  };
  for (const Row& row : rows) {
    std::map<std::string, SweepObservation> observations = row.observations;
    EXPECT_EQ(PlanSweep(row.primary, row.catalog, row.due, observations), row.expected) << row.what;
    EXPECT_EQ(observations, row.after) << row.what;
  }
}

TEST(DecideDeletions, HoldsABurstThatRemovesTooMuchOfTheCatalog) {
  struct Row {
    DeletionGateInput input;
    DeletionGateAction expected;
  };
  const Row rows[] = {
      {{0.5, 10, 0, true}, DeletionGateAction::kWait},
      {{0.5, 10, 3, false}, DeletionGateAction::kWait},   // still growing
      {{0.5, 1, 1, true}, DeletionGateAction::kRelease},  // one at a time: the last zone too
      {{0.0, 10, 1, true}, DeletionGateAction::kRelease},
      {{0.5, 10, 5, true}, DeletionGateAction::kRelease},  // exactly the share
      {{0.5, 10, 6, true}, DeletionGateAction::kHold},
      {{0.5, 10, 8, true}, DeletionGateAction::kHold},
      {{1.0, 10, 9, true}, DeletionGateAction::kRelease},
      {{1.0, 10, 10, true}, DeletionGateAction::kHold},  // the whole catalog: never in one go
      {{0.5, 2, 2, true}, DeletionGateAction::kHold},
      {{0.5, 3, 5, true}, DeletionGateAction::kHold},  // more due than live (mirror behind)
      {{0.2, 100, 20, true}, DeletionGateAction::kRelease},
      {{0.2, 100, 21, true}, DeletionGateAction::kHold},
  };
  for (size_t i = 0; i < std::size(rows); ++i) {
    const DeletionGateVerdict verdict = DecideDeletions(rows[i].input);
    EXPECT_EQ(verdict.action, rows[i].expected) << "row " << i;
    EXPECT_EQ(verdict.reason.ok(), verdict.action != DeletionGateAction::kHold) << "row " << i;
  }
}

// The provider's own [JetStream] keys (docs/configuration.md, pdns-zone-provider).
TEST(ZoneProviderConfig, ReadsTheCatalogPublishersJetStreamKeys) {
  const std::string api = "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n";
  struct Row {
    std::string jetstream;  // the [JetStream] section's body
    bool ok;
    int workers;
    long long sweep_ms;
    double share;
  };
  const Row rows[] = {
      {"", true, 4, 1000, 0.5},
      {"PublishWorkers = 2\nSweepInterval = \"5s\"\nMassDeletionPercent = 30\n", true, 2, 5000,
       0.3},
      {"SweepInterval = \"0s\"\nMassDeletionPercent = 100\n", true, 4, 0, 1.0},
      {"MassDeletionPercent = 150\n", false, 0, 0, 0},
      {"PublishWorkers = 0\n", false, 0, 0, 0},
      {"SweepInterval = \"soon\"\n", false, 0, 0, 0},
  };
  for (const Row& row : rows) {
    auto reader = ConfigReader::Parse(api + "[JetStream]\n" + row.jetstream, "p.toml");
    ASSERT_TRUE(reader.ok()) << row.jetstream;
    CommonConfig common;
    common.powerdns = ReadPdnsApiOptions(*reader);
    const ZoneProviderConfig config = ReadZoneProviderConfig(*reader, common);
    EXPECT_EQ(reader->status().ok(), row.ok) << row.jetstream << reader->status().message();
    if (!row.ok) continue;
    EXPECT_EQ(config.catalog.workers, row.workers) << row.jetstream;
    EXPECT_EQ(config.catalog.sweep_interval.count(), row.sweep_ms) << row.jetstream;
    EXPECT_DOUBLE_EQ(config.catalog.mass_deletion_share, row.share) << row.jetstream;
  }
}

}  // namespace
}  // namespace pdnsd
