#include "model/zone_name.h"

#include <cstdio>

namespace pdnsd {
namespace {

bool IsForbiddenInZoneName(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return true;  // control characters, space, DEL, non-ASCII
  switch (c) {
    case '\\':
    case '"':
    case ';':
    case '(':
    case ')':
    case '$':
    case '@':
      return true;
    default:
      return false;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

StatusOr<std::string> NormalizeZoneName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty zone name");
  std::string result;
  result.reserve(name.size() + 1);
  for (char c : name) {
    const auto uc = static_cast<unsigned char>(c);
    if (IsForbiddenInZoneName(uc)) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", uc);
      return Status::InvalidArgument("zone name contains a forbidden character (" +
                                     std::string(code) + ")");
    }
    result += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (result == ".") return Status::InvalidArgument("the root zone is not distributed");
  if (result.back() != '.') result += '.';
  // Wire length: one length octet per label plus the label, plus the root's zero octet.
  size_t wire_length = 1;
  size_t label_start = 0;
  for (size_t i = 0; i < result.size(); ++i) {
    if (result[i] != '.') continue;
    const size_t label_length = i - label_start;
    if (label_length == 0) return Status::InvalidArgument("zone name has an empty label");
    if (label_length > 63) return Status::InvalidArgument("zone name has a label over 63 octets");
    wire_length += label_length + 1;
    label_start = i + 1;
  }
  if (wire_length > 255) return Status::InvalidArgument("zone name is over 255 octets");
  return result;
}

std::string ZoneNameToApiId(std::string_view normalized_name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id;
  id.reserve(normalized_name.size());
  for (char c : normalized_name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '-';
    if (plain) {
      id += c;
    } else {
      const auto uc = static_cast<unsigned char>(c);
      id += '=';
      id += kHex[uc >> 4];
      id += kHex[uc & 0xf];
    }
  }
  return id;
}

StatusOr<std::string> ApiIdToZoneName(std::string_view id) {
  std::string name;
  name.reserve(id.size());
  for (size_t i = 0; i < id.size(); ++i) {
    if (id[i] != '=') {
      name += id[i];
      continue;
    }
    if (i + 2 >= id.size()) {
      return Status::InvalidArgument("truncated escape in zone id");
    }
    const int high = HexValue(id[i + 1]);
    const int low = HexValue(id[i + 2]);
    if (high < 0 || low < 0) return Status::InvalidArgument("bad escape in zone id");
    name += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return name;
}

bool IsValidSubjectToken(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    const auto uc = static_cast<unsigned char>(c);
    if (c == '.' || c == '*' || c == '>' || uc <= 0x20 || uc >= 0x7f) return false;
  }
  return true;
}

}  // namespace pdnsd
