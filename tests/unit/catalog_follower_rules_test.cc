// The secondary-syncer's decisions about the zone catalog (catalog_follower.h), as tables:
// when to follow it, which zones a start applies, what a zone event does.
#include "services/secondary_syncer/catalog_follower.h"

#include <gtest/gtest.h>

namespace pdnsd {
namespace {

using distribution::CatalogEntry;

TEST(DecideBind, FollowsOnlyABoundCatalogAndGivesUpOnlyOnABrokerWithoutJetStream) {
  struct Row {
    Status jetstream;
    Status catalog;
    BindStep step;
  };
  const Row rows[] = {
      {Status::Ok(), Status::Ok(), BindStep::kFollow},
      // No JetStream at all: today's path, one warning, never asked again.
      {Status::NotFound("no JetStream"), Status::Ok(), BindStep::kCoreNatsForGood},
      // JetStream, but the provider has not made the catalog yet.
      {Status::Ok(), Status::NotFound("no bucket"), BindStep::kRetryLater},
      // The broker could not be asked: it may well have both.
      {Status::Unavailable("not connected"), Status::Ok(), BindStep::kRetryLater},
      {Status::Timeout("no answer"), Status::Ok(), BindStep::kRetryLater},
      {Status::Ok(), Status::Timeout("no answer"), BindStep::kRetryLater},
      {Status::Ok(), Status::InvalidArgument("refused"), BindStep::kRetryLater},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(DecideBind(row.jetstream, row.catalog), row.step)
        << row.jetstream.ToString() << " / " << row.catalog.ToString();
  }
}

CatalogEntry Version(const std::string& zone, uint32_t serial) {
  CatalogEntry entry;
  entry.zone = zone;
  entry.serial = serial;
  entry.version = "v";
  return entry;
}
CatalogEntry Gone(const std::string& zone, uint32_t serial) {
  CatalogEntry entry = Version(zone, serial);
  entry.deleted = true;
  return entry;
}

TEST(CompareWithLocal, MarksExactlyWhatDiffersFromTheLocalPowerDns) {
  struct Row {
    const char* what;
    CatalogEntry entry;
    std::optional<uint32_t> local;  // nullopt: the local PowerDNS lacks the zone
    bool mark;
  };
  const Row rows[] = {
      {"version, local missing", Version("a.test.", 5), std::nullopt, true},
      {"version, same serial", Version("a.test.", 5), 5, false},
      {"version, older local serial", Version("a.test.", 5), 4, true},
      // A zone deleted and made anew on the primary has a lower serial: it differs too.
      {"version, newer local serial", Version("a.test.", 5), 6, true},
      {"tombstone, still local", Gone("a.test.", 5), 5, true},
      {"tombstone, local at another serial", Gone("a.test.", 5), 9, true},
      {"tombstone, gone locally", Gone("a.test.", 5), std::nullopt, false},
  };
  for (const Row& row : rows) {
    std::map<std::string, CatalogEntry> desired{{row.entry.zone, row.entry}};
    std::map<std::string, uint32_t> local;
    if (row.local) local[row.entry.zone] = *row.local;
    const StartComparison comparison = CompareWithLocal(desired, local);
    EXPECT_EQ(comparison.mark.size(), row.mark ? 1u : 0u) << row.what;
    EXPECT_EQ(comparison.in_place.size(), row.mark ? 0u : 1u) << row.what;
    // Only a version the local PowerDNS lacks is created without a look-up.
    EXPECT_EQ(comparison.absent_locally.size(), !row.local && !row.entry.deleted ? 1u : 0u)
        << row.what;
  }
}

TEST(CompareWithLocal, LeavesLocalZonesTheCatalogDoesNotNameAlone) {
  const std::map<std::string, CatalogEntry> desired{{"a.test.", Version("a.test.", 1)},
                                                    {"b.test.", Version("b.test.", 2)},
                                                    {"c.test.", Gone("c.test.", 3)}};
  const std::map<std::string, uint32_t> local{{"a.test.", 1}, {"c.test.", 3}, {"other.test.", 7}};
  const StartComparison comparison = CompareWithLocal(desired, local);
  EXPECT_EQ(comparison.mark, (std::vector<std::string>{"b.test.", "c.test."}));
  EXPECT_EQ(comparison.in_place, (std::vector<std::string>{"a.test."}));
  EXPECT_EQ(comparison.absent_locally, (std::vector<std::string>{"b.test."}));
}

TEST(DecideZoneEvent, CatalogModeIgnoresBroadcastsAndRereadsOnTargetedEvents) {
  struct Row {
    bool catalog_mode;
    bool targeted;
    ZoneEventAction action;
  };
  const Row rows[] = {
      {false, false, ZoneEventAction::kMark},
      {false, true, ZoneEventAction::kMark},
      {true, false, ZoneEventAction::kIgnore},
      {true, true, ZoneEventAction::kRereadCatalog},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(DecideZoneEvent(row.catalog_mode, row.targeted), row.action)
        << row.catalog_mode << " " << row.targeted;
  }
}

}  // namespace
}  // namespace pdnsd
