#include "services/common/zone_event_intake.h"

#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

namespace pdnsd {

std::optional<ZoneEvent> ReceiveZoneEvent(ZoneEventType type, const BusMessage& message,
                                          const Logger& logger, prometheus::Counter& invalid) {
  auto event = DecodeZoneEvent(type, message.data);
  if (!event.ok()) {
    invalid.Increment();
    logger->warn("ignoring invalid zone event on {}: {}", message.subject,
                 event.status().message());
    return std::nullopt;
  }
  return std::move(*event);
}

}  // namespace pdnsd
