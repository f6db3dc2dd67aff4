// The decisions of InstanceClaim (discovery/instance_claim.h), as tables.
#include "discovery/instance_claim.h"

#include <gtest/gtest.h>

namespace pdnsd {
namespace {

Heartbeat Syncer(const std::string& id, const std::string& boot_id, const std::string& host) {
  Heartbeat heartbeat;
  heartbeat.id = id;
  heartbeat.service = "pdns-secondary-syncer";
  heartbeat.version = "1.2.3";
  heartbeat.host = host;
  heartbeat.boot_id = boot_id;
  return heartbeat;
}

TEST(InstanceClaim, ClaimSubjectIsOutsideTheHeartbeatSubjects) {
  EXPECT_EQ(ClaimSubject("heartbeat", "pdns-secondary-syncer", "sec-a"),
            "heartbeat-claim.pdns-secondary-syncer.sec-a");
}

TEST(InstanceClaim, DecideClaim) {
  const Heartbeat ours = Syncer("sec-a", "b00t1", "ns1.example.net");
  const std::string other = EncodeHeartbeat(Syncer("sec-a", "b00t2", "ns2.example.net"));
  struct Case {
    const char* what;
    StatusOr<std::string> reply;
    bool connected;
    ClaimVerdict verdict;
    const char* reason_has;
  };
  const Case cases[] = {
      {"no responders: free", Status::Unavailable("no service answers"), true, ClaimVerdict::kFree,
       ""},
      {"another instance answers: taken", other, true, ClaimVerdict::kTaken,
       "already used by another running pdns-secondary-syncer (host ns2.example.net, boot id "
       "b00t2, version 1.2.3)"},
      {"our own boot id: free", EncodeHeartbeat(ours), true, ClaimVerdict::kFree, ""},
      {"broker down: unchecked", Status::Unavailable("not connected"), false,
       ClaimVerdict::kUnchecked, "not connected"},
      {"a hung holder: unchecked", Status::Timeout("no complete reply"), true,
       ClaimVerdict::kUnchecked, "no complete reply"},
      {"garbage answer: unchecked", std::string("not json"), true, ClaimVerdict::kUnchecked,
       "unreadable"},
      {"answer for another id: unchecked",
       EncodeHeartbeat(Syncer("sec-b", "b00t2", "ns2.example.net")), true, ClaimVerdict::kUnchecked,
       "sec-b"},
  };
  for (const Case& c : cases) {
    const ClaimDecision decision = DecideClaim(ours, c.reply, c.connected);
    EXPECT_EQ(decision.verdict, c.verdict) << c.what;
    EXPECT_NE(decision.reason.find(c.reason_has), std::string::npos)
        << c.what << ": " << decision.reason;
  }
}

TEST(InstanceClaim, IsOtherInstance) {
  const Heartbeat ours = Syncer("sec-a", "b00t1", "ns1");
  Heartbeat other_service = Syncer("sec-a", "b00t2", "ns1");
  other_service.service = "pdns-zone-provider";
  const std::pair<Heartbeat, bool> cases[] = {
      {ours, false},                            // our own heartbeat
      {Syncer("sec-a", "b00t2", "ns2"), true},  // same ID, another process
      {Syncer("sec-a", "b00t2", "ns1"), true},  // same host too: still another process
      {Syncer("sec-b", "b00t2", "ns2"), false},
      {other_service, false},
  };
  for (const auto& [seen, expected] : cases) {
    EXPECT_EQ(IsOtherInstance(ours, seen), expected) << EncodeHeartbeat(seen);
  }
}

}  // namespace
}  // namespace pdnsd
