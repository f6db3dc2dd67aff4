// Fuzz target: everything that decodes text a peer sends — zone events, zone-data and
// zone-state requests and replies (NATS), heartbeats, sync reports, change-status requests, the
// proxy's request routes and zone names (HTTP), RFC 3339 times and change ids. The first byte picks
// the decoder, the rest is its input. Whatever the input, a decoder returns a value or an error; an
// accepted message must survive encode -> decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discovery/heartbeat.h"
#include "fuzz_input.h"
#include "model/messages.h"
#include "model/zone_name.h"
#include "services/api_proxy/routes.h"

namespace {

using pdnsd::fuzz::Check;

void FuzzOne(uint8_t selector, std::string_view input) {
  using namespace pdnsd;
  switch (selector % 11) {
    case 0:
    case 1:
    case 2: {
      const auto type = static_cast<ZoneEventType>(selector % 3);
      auto event = DecodeZoneEvent(type, input);
      if (event.ok()) {
        auto again = DecodeZoneEvent(type, EncodeZoneEvent(*event));
        Check(again.ok() && again->zone == event->zone && again->change_id == event->change_id);
      }
      break;
    }
    case 3: {
      auto request = DecodeZoneDataRequest(input);
      if (request.ok()) {
        auto again = DecodeZoneDataRequest(EncodeZoneDataRequest(*request));
        Check(again.ok() && again->zone == request->zone && again->only_soa == request->only_soa &&
              again->accept_error_reply == request->accept_error_reply);
      }
      AcceptsErrorReply(input);  // what the provider asks of a request it rejected
      break;
    }
    case 4: {
      auto reply = DecodeZoneDataReply(input);
      if (reply.ok()) Check(DecodeZoneDataReply(EncodeZoneDataReply(*reply)).ok());
      break;
    }
    case 5: {
      auto request = DecodeZoneStateRequest(input);
      if (request.ok()) Check(DecodeZoneStateRequest(EncodeZoneStateRequest(*request)).ok());
      auto reply = DecodeZoneStateReply(input);
      if (reply.ok()) {
        auto again = DecodeZoneStateReply(EncodeZoneStateReply(*reply));
        Check(again.ok() && again->statemap == reply->statemap);
      }
      break;
    }
    case 6: {
      auto heartbeat = DecodeHeartbeat(input);
      if (heartbeat.ok()) {
        auto again = DecodeHeartbeat(EncodeHeartbeat(*heartbeat));
        Check(again.ok() && again->id == heartbeat->id && again->boot_id == heartbeat->boot_id);
      }
      break;
    }
    case 7: {
      // "METHOD TARGET": the proxy's classification of a request line.
      const size_t space = input.find(' ');
      const std::string_view method = input.substr(0, space);
      const std::string_view target =
          space == std::string_view::npos ? std::string_view() : input.substr(space + 1);
      (void)ClassifyRoute(method, target);
      (void)ZoneNameFromBody(input);
      break;
    }
    case 8: {
      auto zone = NormalizeZoneName(input);
      if (zone.ok()) {
        Check(NormalizeZoneName(*zone).ok());
        auto back = ApiIdToZoneName(ZoneNameToApiId(*zone));
        Check(back.ok() && *back == *zone);
      }
      (void)ApiIdToZoneName(input);
      (void)IsValidSubjectToken(input);
      if (IsValidChangeId(input)) (void)ChangeIdTime(input);
      break;
    }
    case 9: {
      auto report = DecodeZoneSyncReport(input);
      if (report.ok()) {
        auto again = DecodeZoneSyncReport(EncodeZoneSyncReport(*report));
        Check(again.ok() && again->zone == report->zone && again->outcome == report->outcome &&
              again->read_at == report->read_at);
      }
      auto request = DecodeChangeStatusRequest(input);
      if (request.ok()) {
        auto again = DecodeChangeStatusRequest(EncodeChangeStatusRequest(*request));
        Check(again.ok() && again->id == request->id && again->zone == request->zone);
      }
      break;
    }
    case 10: {
      // A time parsed is formatted (microseconds) and parses again within a microsecond.
      auto time = ParseRfc3339(input);
      if (time.ok()) {
        auto again = ParseRfc3339(FormatRfc3339(*time));
        Check(again.ok() && *again <= *time && *time - *again < std::chrono::microseconds(1));
      }
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FuzzOne(data[0], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}
