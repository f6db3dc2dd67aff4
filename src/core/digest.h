// Digests: SHA-256 as lowercase hex (secondary IDs from host names, as the original derives
// them; content digests).
#pragma once

#include <string>
#include <string_view>

namespace pdnsd {

// SHA-256 of `text` as 64 lowercase hex digits ("" only if OpenSSL fails).
std::string Sha256Hex(std::string_view text);

}  // namespace pdnsd
