// ZoneProvider: answers zone-data requests (zonedata.<secondary id>, queue group "worker")
// with the zone as the primary serves it.
//
// A full request is served by AXFR from the primary (signatures included; no private key
// leaves the primary); its dnssec flag is whether the transfer carries RRSIGs. An only_soa
// request is served by one SOA query; the API is asked only to confirm that a zone the DNS
// refuses is really gone. Every request with a reply subject gets an answer: the data, or an error
// reply (not_found, unavailable, bad_request) when the request says "accept_error_reply":true
// (our syncers); without it (an original Go syncer) an error gets no reply at all, as from the
// original provider. Requests are served by a pool of workers, never on the bus's delivery
// thread.
#pragma once

#include <memory>

#include "bus/bus.h"
#include "core/logging.h"
#include "core/worker_pool.h"
#include "pdns/api_client.h"
#include "services/common/service_main.h"
#include "services/zone_provider/config.h"

namespace prometheus {
class Registry;
}

namespace pdnsd {

class ZoneProvider : public Service {
 public:
  ZoneProvider(ZoneProviderConfig config, const ServiceEnvironment& environment);
  ~ZoneProvider() override;

  Status Start() override;
  void Stop() override;

 private:
  struct Metrics;
  void Serve(const BusMessage& message);
  // The reply payload for one request (data or error reply; *is_error tells which).
  std::string Answer(const std::string& zone, bool only_soa, bool* is_error);
  // Turns a DNS NotFound into Unavailable unless the primary's API confirms the zone is gone.
  Status ConfirmAbsence(const std::string& zone, const Status& dns_error);

  ZoneProviderConfig config_;
  CommonConfig common_;
  Bus* bus_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  PdnsApiClient powerdns_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<Subscription> subscription_;
};

// The service as its binary (pdns-zone-provider) and the test harness build it: name, --help line
// and config reader (services/common/service_main.h).
ServiceDefinition ZoneProviderDefinition();

}  // namespace pdnsd
