// Network addresses as operators write them: "127.0.0.1:53", "[::1]:53", "localhost:4222",
// and URLs such as "https://[::1]:30000/path". Parsing only; no name resolution here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace pdnsd {

struct HostPort {
  std::string host;  // without brackets: "::1", "127.0.0.1", "localhost"
  uint16_t port = 0;

  bool IsIpv6() const { return host.find(':') != std::string::npos; }
  // "127.0.0.1:53" or "[::1]:53".
  std::string ToString() const;
};

// Parses "host:port" / "[v6]:port". A missing port is an error unless default_port is given.
StatusOr<HostPort> ParseHostPort(std::string_view text, int default_port = -1);

struct Url {
  std::string scheme;  // "http" or "https", lower case
  HostPort host_port;  // port defaulted from the scheme when absent
  std::string path;    // "" or starting with '/'

  // "scheme://host:port" (IPv6 in brackets), without the path.
  std::string Origin() const;
};

// Parses an http(s) URL. Other schemes and malformed URLs are InvalidArgument.
StatusOr<Url> ParseHttpUrl(std::string_view text);

}  // namespace pdnsd
