#include "services/zone_provider/confirm_absence.h"

#include <spdlog/spdlog.h>

namespace pdnsd {

Status ConfirmAbsence(const PdnsApiClient& api, const Logger& logger, const std::string& zone,
                      const Status& dns_error) {
  if (dns_error.code() != StatusCode::kNotFound) return dns_error;
  // Secondaries delete a zone on not_found, so a refusing or misaddressed primary must not
  // look like an empty one: only the API's own 404 confirms that the zone is gone.
  auto info = api.GetZone(zone);
  if (info.ok()) {
    // Typically a REFUSED that our own SOA query put into the primary's packet cache between
    // a delete and a re-create (4.7 does not purge it on POST /zones): it would be served for
    // cache-ttl (20 s). Drop it so that the secondaries' retry sees the zone.
    if (Status s = api.FlushCache(zone); !s.ok()) {
      logger->debug("flushing {} from the primary's cache: {}", zone, s.message());
    }
    return Status::Unavailable("the primary's DNS does not serve " + zone +
                               " although its API has it: " + dns_error.message());
  }
  if (info.status().code() == StatusCode::kNotFound) return dns_error;
  return Status::Unavailable("cannot confirm that " + zone +
                             " is gone: " + info.status().message());
}

}  // namespace pdnsd
