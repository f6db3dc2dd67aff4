#include <gtest/gtest.h>

#include "core/config.h"
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

TEST(DefaultServiceId, SyncerIsTheHostnameHash) {
  EXPECT_EQ(DefaultServiceId("pdns-secondary-syncer").size(), 64u);
  EXPECT_EQ(DefaultServiceId("pdns-zone-provider").rfind("pdns-zone-provider-", 0), 0u);
}

// [MessageBroker] InboxPrefix: by default the user's own, else what the file says, which must
// be a subject without wildcards.
TEST(ReadCommonConfig, InboxPrefixAndTlsHostname) {
  const std::string base =
      "[MessageBroker]\nURL = \"tls://127.0.0.1:4222\"\nUsername = \"syncer-ns1\"\n"
      "TLSHostname = \"nats.example.net\"\n";
  const std::string api = "[PowerDNS]\nURL = \"http://127.0.0.1:8081\"\n";
  for (const auto& [extra, prefix] : std::vector<std::pair<std::string, std::string>>{
           {"", "_INBOX.syncer-ns1"}, {"InboxPrefix = \"_R.ns1\"\n", "_R.ns1"}}) {
    auto reader = ConfigReader::Parse(base + extra + api, "t.toml");
    ASSERT_TRUE(reader.ok());
    CommonConfig common = ReadCommonConfig(*reader, "pdns-secondary-syncer");
    ASSERT_TRUE(reader->status().ok()) << reader->status().message();
    EXPECT_EQ(common.broker.inbox_prefix, prefix);
    EXPECT_EQ(common.broker.tls_hostname, "nats.example.net");
  }
  for (const char* bad : {"_INBOX.>", "_INBOX.*", "a..b", ""}) {
    auto reader = ConfigReader::Parse(base + "InboxPrefix = \"" + bad + "\"\n" + api, "t.toml");
    ASSERT_TRUE(reader.ok());
    ReadCommonConfig(*reader, "pdns-secondary-syncer");
    EXPECT_FALSE(reader->status().ok()) << bad;
  }
}

}  // namespace
}  // namespace pdnsd
