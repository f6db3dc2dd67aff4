// NATS subjects built from the original's `[ZoneDataTopics] Prefix` and `[ZoneStateTopics]
// Prefix` keys and a secondary's ID.
//
// The original concatenates prefix and ID exactly as written, and its example files say
// "zonedata." and "zonestate.". A prefix written without the trailing dot ("zonestate", the
// spelling of our earlier example files) names the same subjects: both give "zonestate.<id>".
#pragma once

#include <string>
#include <string_view>

namespace pdnsd {

// "zonestate." + "ns1" -> "zonestate.ns1"; "zonestate" + "ns1" -> "zonestate.ns1";
// "" + "ns1" -> "ns1" (the original's concatenation).
std::string PeerSubject(std::string_view prefix, std::string_view id);

// Our extensions' subjects (docs/architecture.md, "Change status"): a syncer's sync reports on
// kSyncReportPrefix + its ID (config/nats-server.conf lets each syncer publish only its own),
// the api-proxy's change-status requests to the health-checker on kChangeStatusSubject.
inline constexpr const char* kSyncReportPrefix = "pdns-distribute.synced.";
inline constexpr const char* kChangeStatusSubject = "pdns-distribute.changes";

// True when `subject` is a concrete NATS subject: one or more tokens separated by single dots,
// each an IsValidSubjectToken() (so no wildcards, no empty tokens, no spaces).
bool IsValidSubject(std::string_view subject);

}  // namespace pdnsd
