// Fuzz target: the SOA/AXFR endpoint's allow-list (dns/client_access.h), from the config's
// AllowFrom entries and from the addresses of peers. The first 16 bytes are a peer's IPv6
// address (as accept() gives it); the rest is allow-list entries, one a line.
// Checks: every accepted address and prefix prints and parses back unchanged (so the start-up
// log line names what is applied); a prefix contains its own address and every address that
// differs only in host bits, and no address that differs in the last network bit; an
// IPv4-mapped IPv6 address is the IPv4 address; the list parses iff every entry does, and
// allows the peer iff one of its prefixes contains it.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dns/client_access.h"
#include "fuzz_input.h"

namespace {

using pdnsd::AddressPrefix;
using pdnsd::ClientAddress;
using pdnsd::fuzz::Check;

bool SamePrefix(const AddressPrefix& a, const AddressPrefix& b) {
  return a.address == b.address && a.bits == b.bits;
}

ClientAddress FlipBit(ClientAddress address, int bit) {
  address.octets[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
  return address;
}

void CheckAddress(std::string_view text) {
  auto address = ClientAddress::Parse(text);
  if (text.find('\0') != std::string_view::npos) Check(!address.ok());  // inet_pton stops at NUL
  if (!address.ok()) return;
  auto again = ClientAddress::Parse(address->ToString());
  Check(again.ok() && *again == *address);
  if (address->v4) {
    auto mapped = ClientAddress::Parse("::ffff:" + address->ToString());
    Check(mapped.ok() && *mapped == *address);
  }
}

void CheckPrefix(const AddressPrefix& prefix) {
  const int max_bits = prefix.address.v4 ? 32 : 128;
  Check(prefix.bits >= 0 && prefix.bits <= max_bits);
  auto again = AddressPrefix::Parse(prefix.ToString());
  Check(again.ok() && SamePrefix(*again, prefix));
  Check(prefix.Contains(prefix.address));
  if (prefix.bits < max_bits) {
    Check(prefix.Contains(FlipBit(prefix.address, max_bits - 1)));
    Check(prefix.Contains(FlipBit(prefix.address, prefix.bits)));
  }
  if (prefix.bits > 0) Check(!prefix.Contains(FlipBit(prefix.address, prefix.bits - 1)));
  ClientAddress other_family = prefix.address;
  other_family.v4 = !other_family.v4;
  Check(!prefix.Contains(other_family));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 16) return 0;
  sockaddr_storage storage{};
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  in6->sin6_family = AF_INET6;
  std::memcpy(&in6->sin6_addr, data, 16);
  ClientAddress peer;
  Check(ClientAddress::FromSockaddr(storage, &peer));
  char peer_text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, data, peer_text, sizeof peer_text);
  auto parsed_peer = ClientAddress::Parse(peer_text);
  Check(parsed_peer.ok() && *parsed_peer == peer);

  std::string_view rest(reinterpret_cast<const char*>(data + 16), size - 16);
  std::vector<std::string> entries;
  bool all_valid = true;
  bool any_contains = false;
  while (!rest.empty() && entries.size() < 64) {
    const std::string_view line = pdnsd::fuzz::Take(rest, '\n');
    entries.emplace_back(line);
    CheckAddress(line);
    auto prefix = AddressPrefix::Parse(line);
    if (!prefix.ok()) {
      Check(prefix.status().code() == pdnsd::StatusCode::kInvalidArgument);
      all_valid = false;
      continue;
    }
    CheckPrefix(*prefix);
    any_contains = any_contains || prefix->Contains(peer);
  }
  auto list = pdnsd::ClientAllowList::Parse(entries);
  Check(list.ok() == all_valid);
  if (list.ok()) {
    Check(list->prefixes().size() == entries.size());
    Check(list->Allows(peer) == any_contains);
    Check(!list->ToString().empty());
  }
  return 0;
}
