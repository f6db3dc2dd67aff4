#include "core/net.h"

#include <cctype>
#include <charconv>

namespace pdnsd {

std::string HostPort::ToString() const {
  if (IsIpv6()) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

StatusOr<HostPort> ParseHostPort(std::string_view text, int default_port) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return Status::InvalidArgument("empty address");
  HostPort result;
  std::string_view port_text;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos)
      return Status::InvalidArgument("unclosed '[' in " + quoted);
    result.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return Status::InvalidArgument("expected ':' after ']' in " + quoted);
      port_text = rest.substr(1);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      return Status::InvalidArgument("IPv6 address needs brackets, e.g. [::1]:53, in " + quoted);
    }
    if (colon == std::string_view::npos) {
      result.host = std::string(text);
    } else {
      result.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    }
  }
  if (result.host.empty()) return Status::InvalidArgument("missing host in " + quoted);
  if (port_text.empty()) {
    if (default_port < 0) return Status::InvalidArgument("missing port in " + quoted);
    result.port = static_cast<uint16_t>(default_port);
    return result;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535) {
    return Status::InvalidArgument("bad port in " + quoted);
  }
  result.port = static_cast<uint16_t>(value);
  return result;
}

std::string Url::Origin() const { return scheme + "://" + host_port.ToString(); }

StatusOr<Url> ParseHttpUrl(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("not a URL (no scheme): \"" + std::string(text) + "\"");
  }
  Url url;
  for (char c : text.substr(0, sep)) url.scheme += static_cast<char>(std::tolower(c));
  int default_port;
  if (url.scheme == "http") {
    default_port = 80;
  } else if (url.scheme == "https") {
    default_port = 443;
  } else {
    return Status::InvalidArgument("unsupported URL scheme \"" + url.scheme + "\"");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
  auto host_port = ParseHostPort(authority, default_port);
  if (!host_port.ok()) return host_port.status();
  url.host_port = *host_port;
  return url;
}

}  // namespace pdnsd
