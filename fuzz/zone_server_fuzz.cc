// Fuzz target: the syncer's SOA/AXFR endpoint (dns/zone_server) answering one query, with the
// zone data a zone-provider would send. First byte even: the rest is a query in wire format
// (UDP, then TCP) and the zone is a fixed small one. Odd: the rest is the zone data text (as a
// misbehaving provider could send it) and the query is an AXFR of example. over TCP. Either way
// the endpoint must answer or drop the query without crashing, and an AXFR it answers has the
// apex SOA first and last exactly once each.
#include <spdlog/logger.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/tsig.h"
#include "dns/wire.h"
#include "dns/zone_server.h"

namespace {

constexpr const char* kZone =
    "example. 3600 IN SOA ns1.example.net. hostmaster.example.net. 7 10800 3600 604800 3600\n"
    "example. 3600 IN NS ns1.example.net.\n"
    "www.example. 60 IN A 192.0.2.1\n";

class FixedSource : public pdnsd::ZoneSource {
 public:
  std::string text;
  pdnsd::StatusOr<std::string> FetchZone(const std::string&, bool only_soa) override {
    if (only_soa) return text.substr(0, text.find('\n') + 1);
    return text;
  }
};

class Quiet : public pdnsd::ZoneServerObserver {
 public:
  void OnQuery(std::string_view, bool) override {}
  void OnTransferServed(const std::string&, uint32_t) override {}
  void OnTransferFailed(const std::string&, const pdnsd::Status&) override {}
};

// A transfer that was answered has the apex SOA first and last and nowhere else, whether or
// not the zone data ended with the closing SOA (the original provider sends it).
void CheckSoaFirstAndLastOnce(const std::vector<std::string>& messages) {
  std::vector<ldns_rr_type> types;
  pdnsd::dnswire::RdfPtr apex(ldns_dname_new_frm_str("example."));
  int apex_soas = 0;
  for (const std::string& message : messages) {
    auto packet = pdnsd::dnswire::WireToPacket(reinterpret_cast<const uint8_t*>(message.data()),
                                               message.size());
    if (!packet) std::abort();
    if (ldns_pkt_get_rcode(packet.get()) != LDNS_RCODE_NOERROR) return;  // SERVFAIL: bad data
    for (size_t i = 0; i < ldns_pkt_ancount(packet.get()); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(packet.get()), i);
      types.push_back(ldns_rr_get_type(rr));
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
          ldns_dname_compare(ldns_rr_owner(rr), apex.get()) == 0) {
        ++apex_soas;
      }
    }
  }
  if (types.empty()) return;
  if (types.size() < 2 || types.front() != LDNS_RR_TYPE_SOA || types.back() != LDNS_RR_TYPE_SOA ||
      apex_soas != 2) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static FixedSource source;
  static Quiet observer;
  // A logger without sinks: the endpoint logs every bad query, the fuzzer sends millions.
  static pdnsd::ZoneServer server({"127.0.0.1", 0}, &source, &observer,
                                  std::make_shared<spdlog::logger>("fuzz"));
  // The same with a TSIG key: every query goes through the TSIG check (dns/tsig_wire.h).
  static pdnsd::ZoneServer signed_server(
      {"127.0.0.1", 0}, &source, &observer, std::make_shared<spdlog::logger>("fuzz-tsig"), [] {
        pdnsd::ZoneServerOptions options;
        options.tsig = *pdnsd::ValidateTsigKey(
            {"fuzz.", "hmac-sha256", "a2V5LWZvci10ZXN0cy1vbmx5LTMyLW9jdGV0cy1sb25nISE="});
        return options;
      }());
  if (data[0] % 4 == 2) {
    source.text = kZone;
    signed_server.Answer(data + 1, size - 1, false);
    signed_server.Answer(data + 1, size - 1, true);
  } else if (data[0] % 2 == 0) {
    source.text = kZone;
    server.Answer(data + 1, size - 1, false);
    server.Answer(data + 1, size - 1, true);
  } else {
    source.text.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    auto query = pdnsd::dnswire::NewQuery("example.", LDNS_RR_TYPE_AXFR);
    if (!query.ok()) return 0;
    const std::string wire = pdnsd::dnswire::PacketToWire(query->get());
    const auto answer =
        server.Answer(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), true);
    CheckSoaFirstAndLastOnce(answer);
  }
  return 0;
}
