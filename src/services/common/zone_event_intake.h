// ReceiveZoneEvent: a zone event taken off the bus, as every service takes one.
//
// The proxy, the health-checker and original Go peers publish zone events; every service that
// subscribes decodes them the same way and drops a body that is not one with the same trace: one
// warning line naming the subject and the problem, and one increment of the caller's counter of
// invalid events. The service keeps serving.
#pragma once

#include <optional>

#include "bus/bus.h"
#include "core/logging.h"
#include "model/messages.h"

namespace prometheus {
class Counter;
}

namespace pdnsd {

// The event in `message`, of `type` (the subject it came on says which); nullopt when the body
// is not a zone event (logged, counted on `invalid`).
std::optional<ZoneEvent> ReceiveZoneEvent(ZoneEventType type, const BusMessage& message,
                                          const Logger& logger, prometheus::Counter& invalid);

}  // namespace pdnsd
