// The zone-provider's absence rule: a DNS "no such zone" from the primary counts only when the
// primary's API confirms it (404), because secondaries delete a zone on not_found and the
// catalog writes a tombstone for it.
#pragma once

#include <string>

#include "core/logging.h"
#include "core/status.h"
#include "pdns/api_client.h"

namespace pdnsd {

// Returns `dns_error` when it is not NotFound, or when it is and the API answers 404 for
// `zone`; otherwise Unavailable saying why (the API has the zone: its REFUSED is dropped from
// the primary's packet cache; or the API could not be asked).
Status ConfirmAbsence(const PdnsApiClient& api, const Logger& logger, const std::string& zone,
                      const Status& dns_error);

}  // namespace pdnsd
