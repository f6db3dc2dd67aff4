// Fuzz target: the syncer's SOA/AXFR endpoint (dns/zone_server) answering one query, with the
// zone data a zone-provider would send. First byte even: the rest is a query in wire format
// (UDP, then TCP) and the zone is a fixed small one. Odd: the rest is the zone data text (as a
// misbehaving provider could send it) and the query is an AXFR of example. over TCP. Either way
// the endpoint must answer or drop the query without crashing.
#include <spdlog/logger.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static FixedSource source;
  static Quiet observer;
  // A logger without sinks: the endpoint logs every bad query, the fuzzer sends millions.
  static pdnsd::ZoneServer server({"127.0.0.1", 0}, &source, &observer,
                                  std::make_shared<spdlog::logger>("fuzz"));
  if (data[0] % 2 == 0) {
    source.text = kZone;
    server.Answer(data + 1, size - 1, false);
    server.Answer(data + 1, size - 1, true);
  } else {
    source.text.assign(reinterpret_cast<const char*>(data + 1), size - 1);
    auto query = pdnsd::dnswire::NewQuery("example.", LDNS_RR_TYPE_AXFR);
    if (!query.ok()) return 0;
    const std::string wire = pdnsd::dnswire::PacketToWire(query->get());
    server.Answer(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), true);
  }
  return 0;
}
