// Small rules of the health-checker's checks (docs/architecture.md, "The health-checker"), as
// pure functions: the checker gathers the facts and acts on the answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pdnsd {

// The NSEC3 parameters every DNSSEC zone gets (RFC 9276: SHA-1, no extra iterations, no salt).
inline constexpr const char* kWantedNsec3Param = "1 0 0 -";

// Whether the NSEC3 check must set kWantedNsec3Param on a DNSSEC zone whose current
// NSEC3PARAM is `nsec3param` ("" for NSEC) and narrow flag `narrow`: unless it already has
// exactly those parameters and is not narrow (a narrow zone transfers empty).
bool NeedsNsec3Param(const std::string& nsec3param, bool narrow);

// Whether a secondary's RRSIG over a zone's SOA, expiring at `rrsig_expiration` (seconds since
// the epoch; 0: none seen), runs out within `window` of `now` (also when already expired): then
// the zone is sent to that secondary again.
bool SignatureExpiresSoon(int64_t rrsig_expiration, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds window);

// Whether the primary's answer can be used for a cycle when its API listed `listed` zones and
// the SOA query failed for `unreadable` of them: up to a tenth may be left out of the cycle;
// more means the primary's DNS is not answering and the cycle is skipped.
bool PrimaryAnswerUsable(size_t listed, size_t unreadable);

}  // namespace pdnsd
