// Tests of src/dns/client_access.h: allow-list parsing and matching, DecideAdmission and the
// refusal log limiter, as tables.
#include "dns/client_access.h"

#include <gtest/gtest.h>

#include "dns/tsig.h"

namespace pdnsd {
namespace {

ClientAddress Address(const char* text) {
  auto address = ClientAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text;
  return address.ok() ? *address : ClientAddress{};
}

TEST(AddressPrefix, ParsesAndRejects) {
  struct Case {
    const char* text;
    bool ok;
    const char* canonical;
  };
  const Case cases[] = {
      {"127.0.0.1", true, "127.0.0.1/32"},
      {"10.0.0.0/8", true, "10.0.0.0/8"},
      {"0.0.0.0/0", true, "0.0.0.0/0"},
      {"::1", true, "::1/128"},
      {"fd00::/8", true, "fd00::/8"},
      {"::/0", true, "::/0"},
      {"::ffff:192.0.2.1", true, "192.0.2.1/32"},  // IPv4-mapped: the IPv4 address
      {"10.0.0.1/8", false, ""},                   // host bits set
      {"10.0.0.0/33", false, ""},
      {"fd00::/129", false, ""},
      {"10.0.0.0/", false, ""},
      {"10.0.0.0/x", false, ""},
      {"localhost", false, ""},
      {"", false, ""},
      {"300.0.0.1", false, ""},
  };
  for (const Case& c : cases) {
    auto prefix = AddressPrefix::Parse(c.text);
    EXPECT_EQ(prefix.ok(), c.ok) << c.text;
    if (prefix.ok() && c.ok) {
      EXPECT_EQ(prefix->ToString(), c.canonical) << c.text;
    }
  }
}

// inet_pton stops at a NUL; the parser must not accept what follows it (a property that
// fuzz/client_access_fuzz.cc checks).
TEST(AddressPrefix, RejectsEmbeddedNul) {
  using namespace std::string_literals;
  EXPECT_FALSE(ClientAddress::Parse("127.0.0.1\0junk"s).ok());
  EXPECT_FALSE(AddressPrefix::Parse("127.0.0.1\0/32"s).ok());
  EXPECT_FALSE(AddressPrefix::Parse("::1\0"s).ok());
}

TEST(ClientAllowList, MatchesPrefixesOfBothFamilies) {
  auto list = ClientAllowList::Parse({"127.0.0.1", "10.1.0.0/16", "fd00::/8", "2001:db8::5"});
  ASSERT_TRUE(list.ok());
  struct Case {
    const char* client;
    bool allowed;
  };
  const Case cases[] = {
      {"127.0.0.1", true},         {"127.0.0.2", false},   {"10.1.255.7", true},
      {"10.2.0.1", false},         {"fd12:3456::1", true}, {"fe80::1", false},
      {"2001:db8::5", true},       {"2001:db8::6", false}, {"::ffff:127.0.0.1", true},
      {"::ffff:127.0.0.2", false}, {"::1", false},
  };
  for (const Case& c : cases) EXPECT_EQ(list->Allows(Address(c.client)), c.allowed) << c.client;
  EXPECT_FALSE(ClientAllowList().Allows(Address("127.0.0.1")));
  EXPECT_FALSE(ClientAllowList::Parse({"127.0.0.1", "nonsense"}).ok());
}

TEST(DecideAdmission, ReservesSlotsForAllowedClients) {
  ConnectionLimits limits;
  limits.max_connections = 100;
  limits.max_outsiders = 10;
  limits.per_allowed_address = 20;
  limits.per_outsider_address = 2;
  struct Case {
    bool allowed;
    ConnectionCounts counts;  // total, outsiders, from_address
    Admission expected;
  };
  const Case cases[] = {
      {true, {0, 0, 0}, Admission::kAdmit},
      {false, {0, 0, 0}, Admission::kAdmit},
      // Outsiders fill their share: another outsider is refused, an allowed client is not.
      {false, {10, 10, 0}, Admission::kRefuseOutsidersFull},
      {true, {10, 10, 0}, Admission::kAdmit},
      {true, {99, 10, 19}, Admission::kAdmit},
      // Every slot taken: nobody.
      {true, {100, 10, 0}, Admission::kRefuseFull},
      {false, {100, 0, 0}, Admission::kRefuseFull},
      // Per address.
      {false, {5, 5, 2}, Admission::kRefuseAddressLimit},
      {false, {5, 5, 1}, Admission::kAdmit},
      {true, {50, 0, 20}, Admission::kRefuseAddressLimit},
      {true, {50, 0, 19}, Admission::kAdmit},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecideAdmission(c.allowed, c.counts, limits), c.expected)
        << "allowed=" << c.allowed << " total=" << c.counts.total
        << " outsiders=" << c.counts.outsiders << " from_address=" << c.counts.from_address;
  }
}

TEST(DecideAdmission, DefaultsKeepMostSlotsForAllowedClients) {
  const ConnectionLimits limits;
  EXPECT_GE(limits.max_connections - limits.max_outsiders, 256u);
  EXPECT_LE(limits.outsider_query_timeout, limits.allowed_query_timeout);
  EXPECT_LE(limits.allowed_query_timeout, std::chrono::seconds(10));
}

TEST(RefusalLogLimiter, OneLinePerAddressPerInterval) {
  using std::chrono::seconds;
  RefusalLogLimiter limiter(seconds(60), 2);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  const ClientAddress a = Address("127.0.0.2");
  const ClientAddress b = Address("127.0.0.3");
  const ClientAddress c = Address("127.0.0.4");
  uint64_t suppressed = 99;
  struct Step {
    const ClientAddress* client;
    int at_seconds;
    bool logs;
    uint64_t suppressed;  // when it logs
  };
  const Step steps[] = {
      {&a, 0, true, 0},
      {&a, 1, false, 0},
      {&a, 59, false, 0},
      {&b, 59, true, 0},
      {&a, 60, true, 2},  // two were not logged since the first line
      // Table full (a and b within the interval): c is counted as unlisted, logged once...
      {&c, 61, true, 0},
      {&c, 62, false, 0},
      {&b, 119, true, 0},
      {&c, 121, true, 0},  // ... b's and a's entries are
                           // due again: room
  };
  for (const Step& step : steps) {
    const bool logged = limiter.Note(*step.client, t0 + seconds(step.at_seconds), &suppressed);
    EXPECT_EQ(logged, step.logs) << step.client->ToString() << " at " << step.at_seconds;
    if (logged && step.logs) {
      EXPECT_EQ(suppressed, step.suppressed) << step.at_seconds;
    }
  }
}

TEST(TsigKey, Validation) {
  struct Case {
    TsigKey key;
    bool ok;
  };
  const std::string secret = "a2V5LWZvci10ZXN0cy1vbmx5LTMyLW9jdGV0cy1sb25nISE=";
  const Case cases[] = {
      {{"Syncer-NS1", "hmac-sha256", secret}, true},
      {{"syncer.", "hmac-sha512", secret}, true},
      {{"", "hmac-sha256", secret}, false},
      {{"syncer", "hmac-md5", secret}, false},
      {{"syncer", "hmac-sha256", "not base64!"}, false},
      {{"syncer", "hmac-sha256", "c2hvcnQ="}, false},  // 5 octets
  };
  for (const Case& c : cases) {
    auto key = ValidateTsigKey(c.key);
    EXPECT_EQ(key.ok(), c.ok) << c.key.name << " " << c.key.algorithm << " " << c.key.secret;
    if (key.ok()) {
      EXPECT_EQ(key->name.back(), '.');
    }
  }
  EXPECT_EQ(ValidateTsigKey({"Syncer-NS1", "hmac-sha256", secret})->name, "syncer-ns1.");
  // ldns reads the secret up to a NUL: the rest would be dropped silently.
  EXPECT_FALSE(
      ValidateTsigKey({"syncer", "hmac-sha256", secret + std::string(1, '\0') + "x"}).ok());
}

}  // namespace
}  // namespace pdnsd
