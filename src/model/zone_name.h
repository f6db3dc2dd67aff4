// Zone names: validation, normalisation and PowerDNS's URL-safe zone id.
//
// A zone name is used as a key everywhere (queues, maps, NATS payloads) only in its normal
// form: ASCII lower case, fully qualified (trailing dot). RFC 2317 names such as
// "0/25.2.0.192.in-addr.arpa." are legal; in PowerDNS API paths a zone is addressed by its
// id, where every octet outside [A-Za-z0-9.-] is written "=XX" ("/" -> "=2F").
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace pdnsd {

// Returns the normal form of `name`, or InvalidArgument naming the problem: empty name,
// empty label ("a..b"), label over 63 octets, name over 255 octets (wire length), control
// characters, whitespace or characters that have a meaning in zone files (\ " ; ( ) $ @).
StatusOr<std::string> NormalizeZoneName(std::string_view name);

// "0/25.2.0.192.in-addr.arpa." -> "0=2F25.2.0.192.in-addr.arpa."
std::string ZoneNameToApiId(std::string_view normalized_name);

// Inverse of ZoneNameToApiId; malformed escapes are InvalidArgument.
StatusOr<std::string> ApiIdToZoneName(std::string_view id);

// True when `token` can be one NATS subject token (no '.', '*', '>', whitespace; not empty).
bool IsValidSubjectToken(std::string_view token);

}  // namespace pdnsd
