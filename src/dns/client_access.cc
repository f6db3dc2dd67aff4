#include "dns/client_access.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace pdnsd {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

ClientAddress FromV6Octets(const uint8_t* octets) {
  ClientAddress address;
  if (std::memcmp(octets, kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0) {
    address.v4 = true;
    std::memcpy(address.octets.data(), octets + 12, 4);
  } else {
    address.v4 = false;
    std::memcpy(address.octets.data(), octets, 16);
  }
  return address;
}

}  // namespace

bool ClientAddress::FromSockaddr(const sockaddr_storage& address, ClientAddress* out) {
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    ClientAddress client;
    client.v4 = true;
    std::memcpy(client.octets.data(), &in->sin_addr, 4);
    *out = client;
    return true;
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    *out = FromV6Octets(reinterpret_cast<const uint8_t*>(&in6->sin6_addr));
    return true;
  }
  return false;
}

StatusOr<ClientAddress> ClientAddress::Parse(std::string_view text) {
  const std::string copy(text);
  // inet_pton reads up to a NUL: "127.0.0.1\0junk" would pass as 127.0.0.1.
  if (copy.find('\0') != std::string::npos) {
    return Status::InvalidArgument("an address must not contain a NUL character");
  }
  ClientAddress address;
  in_addr v4{};
  if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    address.v4 = true;
    std::memcpy(address.octets.data(), &v4, 4);
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    return FromV6Octets(reinterpret_cast<const uint8_t*>(&v6));
  }
  return Status::InvalidArgument("\"" + copy + "\" is not an IPv4 or IPv6 address");
}

std::string ClientAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(v4 ? AF_INET : AF_INET6, octets.data(), text, sizeof text);
  return text;
}

StatusOr<AddressPrefix> AddressPrefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto address = ClientAddress::Parse(text.substr(0, slash));
  if (!address.ok()) return address.status();
  AddressPrefix prefix;
  prefix.address = *address;
  const int max_bits = address->v4 ? 32 : 128;
  prefix.bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view length = text.substr(slash + 1);
    int bits = -1;
    const auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), bits);
    if (error != std::errc() || end != length.data() + length.size() || bits < 0 ||
        bits > max_bits) {
      return Status::InvalidArgument("\"" + std::string(text) + "\": prefix length must be 0-" +
                                     std::to_string(max_bits));
    }
    prefix.bits = bits;
  }
  // Host bits below the prefix length: probably a typo ("10.0.0.1/8" for "10.0.0.0/8").
  ClientAddress masked = prefix.address;
  for (int i = 0; i < max_bits / 8; ++i) {
    const int keep = std::max(0, std::min(8, prefix.bits - i * 8));
    masked.octets[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  if (masked != prefix.address) {
    return Status::InvalidArgument("\"" + std::string(text) +
                                   "\" has host bits set (did you mean " + masked.ToString() + "/" +
                                   std::to_string(prefix.bits) + "?)");
  }
  return prefix;
}

bool AddressPrefix::Contains(const ClientAddress& client) const {
  if (client.v4 != address.v4) return false;
  int left = bits;
  for (size_t i = 0; left > 0; ++i, left -= 8) {
    const auto mask = static_cast<uint8_t>(0xff00 >> std::min(8, left));
    if ((client.octets[i] & mask) != (address.octets[i] & mask)) return false;
  }
  return true;
}

std::string AddressPrefix::ToString() const {
  return address.ToString() + "/" + std::to_string(bits);
}

StatusOr<ClientAllowList> ClientAllowList::Parse(const std::vector<std::string>& entries) {
  std::vector<AddressPrefix> prefixes;
  for (const std::string& entry : entries) {
    auto prefix = AddressPrefix::Parse(entry);
    if (!prefix.ok()) return prefix.status();
    prefixes.push_back(*prefix);
  }
  return ClientAllowList(std::move(prefixes));
}

bool ClientAllowList::Allows(const ClientAddress& client) const {
  for (const AddressPrefix& prefix : prefixes_) {
    if (prefix.Contains(client)) return true;
  }
  return false;
}

std::string ClientAllowList::ToString() const {
  std::string text;
  for (const AddressPrefix& prefix : prefixes_) {
    if (!text.empty()) text += ", ";
    text += prefix.ToString();
  }
  return text.empty() ? "nobody" : text;
}

Admission DecideAdmission(bool allowed, const ConnectionCounts& counts,
                          const ConnectionLimits& limits) {
  if (counts.total >= limits.max_connections) return Admission::kRefuseFull;
  if (allowed) {
    if (counts.from_address >= limits.per_allowed_address) return Admission::kRefuseAddressLimit;
    return Admission::kAdmit;
  }
  if (counts.outsiders >= limits.max_outsiders) return Admission::kRefuseOutsidersFull;
  if (counts.from_address >= limits.per_outsider_address) return Admission::kRefuseAddressLimit;
  return Admission::kAdmit;
}

const char* AdmissionText(Admission admission) {
  switch (admission) {
    case Admission::kAdmit:
      return "admitted";
    case Admission::kRefuseFull:
      return "every connection slot is in use";
    case Admission::kRefuseOutsidersFull:
      return "the slots for clients outside the allow-list are in use";
    case Admission::kRefuseAddressLimit:
      return "this address holds its limit of connections";
  }
  return "?";
}

bool RefusalLogLimiter::Note(const ClientAddress& client, TimePoint now, uint64_t* suppressed) {
  auto due = [&](const Entry& entry) {
    return entry.logged == TimePoint::min() || now - entry.logged >= interval_;
  };
  auto it = entries_.find(client);
  if (it == entries_.end() && entries_.size() >= max_addresses_) {
    std::erase_if(entries_, [&](const auto& item) { return due(item.second); });
  }
  Entry* entry = nullptr;
  if (it != entries_.end()) {
    entry = &it->second;
  } else if (entries_.size() < max_addresses_) {
    entry = &entries_.emplace(client, Entry{TimePoint::min(), 0}).first->second;
  } else {
    entry = &unlisted_;
  }
  if (!due(*entry)) {
    ++entry->suppressed;
    return false;
  }
  *suppressed = entry->suppressed;
  entry->suppressed = 0;
  entry->logged = now;
  return true;
}

}  // namespace pdnsd
