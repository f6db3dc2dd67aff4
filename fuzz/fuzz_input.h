// Helpers shared by the fuzz targets in this folder: a check that aborts (libFuzzer reports an
// abort as a crash) and a field splitter for inputs made of separated parts.
#pragma once

#include <cstdlib>
#include <string_view>

namespace pdnsd::fuzz {

inline void Check(bool condition) {
  if (!condition) std::abort();
}

// The next field of `rest` up to `separator` (all of it when there is none); `rest` moves past it.
inline std::string_view Take(std::string_view& rest, char separator) {
  const size_t end = rest.find(separator);
  const std::string_view field = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return field;
}

}  // namespace pdnsd::fuzz
