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
//
// With [JetStream] Mode "auto" and a broker that has JetStream, it is also the one writer of the
// zone catalog (CatalogPublisher, catalog_publisher.h); without JetStream it logs one warning
// and serves zone data only.
#pragma once

#include <memory>

#include "bus/bus.h"
#include "core/logging.h"
#include "core/worker_pool.h"
#include "pdns/api_client.h"
#include "services/common/service_main.h"
#include "services/zone_provider/catalog_publisher.h"
#include "services/zone_provider/config.h"

namespace prometheus {
class Registry;
}

namespace pdnsd {

class ZoneProvider : public Service {
 public:
  ZoneProvider(ZoneProviderConfig config, const ServiceEnvironment& environment);
  ~ZoneProvider() override;

  // True while the provider publishes the catalog (JetStream mode).
  bool publishes_catalog() const { return publisher_ != nullptr; }
  // The zones marked for a catalog transfer or being transferred (0 without JetStream).
  size_t catalog_backlog() const { return publisher_ ? publisher_->backlog() : 0; }

  Status Start() override;
  void Stop() override;

 private:
  struct Metrics;
  void Serve(const BusMessage& message);
  // The reply payload for one request (data or error reply; *is_error tells which).
  std::string Answer(const std::string& zone, bool only_soa, bool* is_error);

  ZoneProviderConfig config_;
  CommonConfig common_;
  Bus* bus_;
  std::shared_ptr<prometheus::Registry> registry_;
  Clock* clock_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  PdnsApiClient powerdns_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<Subscription> subscription_;
  std::unique_ptr<CatalogPublisher> publisher_;  // null without JetStream
};

// The service as its binary (pdns-zone-provider) and the test harness build it: name, --help line
// and config reader (services/common/service_main.h).
ServiceDefinition ZoneProviderDefinition();

}  // namespace pdnsd
