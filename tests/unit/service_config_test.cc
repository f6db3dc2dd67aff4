#include <gtest/gtest.h>

#include "services/common/service_config.h"

namespace pdnsd {
namespace {

TEST(ZoneEventSubjects, OneMappingBothWays) {
  ZoneEventSubjects subjects;  // the original's defaults
  EXPECT_EQ(subjects.For(ZoneEventType::kAdd), "zone.add");
  EXPECT_EQ(subjects.For(ZoneEventType::kChange), "zone.modified");
  EXPECT_EQ(subjects.For(ZoneEventType::kDelete), "zone.delete");
  EXPECT_EQ(subjects.For(ZoneEventType::kDelete, "ns1"), "zone.delete.ns1");
  EXPECT_EQ(subjects.For(ZoneEventType::kAdd, ""), "zone.add");
  for (ZoneEventType type : {ZoneEventType::kAdd, ZoneEventType::kChange, ZoneEventType::kDelete}) {
    EXPECT_EQ(subjects.TypeOf(subjects.For(type)), type);
  }
  EXPECT_EQ(subjects.TypeOf("zone.add.ns1"), std::nullopt);
  EXPECT_EQ(subjects.TypeOf("heartbeat"), std::nullopt);
  const auto all = subjects.All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], std::make_pair(ZoneEventType::kAdd, std::string("zone.add")));
  EXPECT_EQ(all[1], std::make_pair(ZoneEventType::kChange, std::string("zone.modified")));
  EXPECT_EQ(all[2], std::make_pair(ZoneEventType::kDelete, std::string("zone.delete")));
}

TEST(ZoneEventSubjects, SubjectsConfiguredAlike) {
  ZoneEventSubjects subjects;
  subjects.add = subjects.change = subjects.remove = "zone.events";
  EXPECT_EQ(subjects.TypeOf("zone.events"), ZoneEventType::kAdd);
  subjects.add = "zone.add";
  EXPECT_EQ(subjects.TypeOf("zone.events"), ZoneEventType::kDelete);
}

// Each NATS user's replies under a prefix of its own, which the broker grants to it alone
// (config/nats-server.conf); a name that is not one subject token keeps nats.c's prefix.
TEST(DefaultInboxPrefix, OneSubjectSpacePerUser) {
  const struct {
    const char* username;
    const char* prefix;
  } cases[] = {
      {"syncer-ns1", "_INBOX.syncer-ns1"},
      {"checker", "_INBOX.checker"},
      {"", "_INBOX"},
      {"a.b", "_INBOX"},
      {"a b", "_INBOX"},
      {"*", "_INBOX"},
      {">", "_INBOX"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DefaultInboxPrefix(c.username), c.prefix) << c.username;
  }
}

}  // namespace
}  // namespace pdnsd
