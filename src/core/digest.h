// Digests of bytes: secondary IDs from host names, zone-version digests
// (src/distribution/zone_version.h).
#pragma once

#include <string>
#include <string_view>

namespace pdnsd {

// SHA-256 of `text` as 64 lower-case hex digits ("" only if OpenSSL fails, which it does not
// for SHA-256 short of memory exhaustion).
std::string Sha256Hex(std::string_view text);

}  // namespace pdnsd
