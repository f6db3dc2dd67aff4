// Internal to the SecondarySyncer's implementation files (secondary_syncer*.cc): its metrics.
// Not part of the service's interface.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "core/metrics.h"
#include "services/secondary_syncer/secondary_syncer.h"

namespace pdnsd {

struct SecondarySyncer::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : events(AddCounterFamily(registry, "secondarysyncer_received_zone_events_total",
                                "Zone events received (broadcast or targeted)")),
        api_calls(AddCounterFamily(registry, "secondarysyncer_powerdns_api_call_total",
                                   "Calls to the local PowerDNS API")),
        zone_data_requests(AddCounterFamily(registry, "secondarysyncer_zone_data_request_total",
                                            "Zone data requests sent to the zone-provider")),
        state_requests(AddCounter(registry, "secondarysyncer_zone_state_request_total",
                                  "Zone state requests answered")),
        dns_queries(AddCounterFamily(registry, "secondarysyncer_local_dns_proxy_queries_total",
                                     "Queries to the local SOA/AXFR endpoint")),
        invalid(AddCounter(registry, "secondarysyncer_invalid_messages_total",
                           "Messages rejected as malformed")),
        reconciles(AddCounterFamily(registry, "secondarysyncer_reconciles_total",
                                    "Zone reconciliations by result")),
        state_responses(AddCounterFamily(registry, "secondarysyncer_zone_state_response_total",
                                         "Zone state replies sent (state map or error reply)")),
        worker_locks(AddGauge(registry, "secondarysyncer_worker_lock_count",
                              "Zones a worker holds right now (being reconciled)")),
        cli_calls(AddCounterFamily(registry, "secondarysyncer_powerdns_cli_call_total",
                                   "pdnsutil calls (always 0: everything goes through the API)")),
        commit_waits(AddCounterFamily(
            registry, "secondarysyncer_commit_waits_total",
            "Waits for the local PowerDNS to commit a transfer, by how they ended")),
        retrieves_repeated(AddCounter(
            registry, "secondarysyncer_retrieves_repeated_total",
            "axfr-retrieve asked again because no transfer reached the endpoint (dropped)")),
        axfr_refused(AddCounterFamily(
            registry, "secondarysyncer_axfr_endpoint_refused_total",
            "Clients the SOA/AXFR endpoint refused, by reason (not_allowed: outside [AXFRPrimary] "
            "AllowFrom; tsig: no valid TSIG; connection_limit: closed at accept)")),
        broadcasts_ignored(AddCounter(
            registry, "secondarysyncer_catalog_broadcast_events_ignored_total",
            "Broadcast zone events ignored in catalog mode (the provider publishes a version)")),
        batches(AddCounterFamily(registry, "secondarysyncer_batches_total",
                                 "Batches of new zones created through a catalog zone, by "
                                 "result (created; failed: created one by one instead)")),
        batch_zones(AddCounter(registry, "secondarysyncer_batch_zones_total",
                               "Zones created through a batch catalog zone")),
        sync_reports(AddCounterFamily(registry, "secondarysyncer_sync_reports_total",
                                      "Sync reports published for the health-checker's change "
                                      "status, by state (failed: not handed to the bus)")) {
    for (const char* result : {"created", "failed"}) batches.Add({{"result", result}});
    for (const char* type : {"create", "change", "delete"}) events.Add({{"event_type", type}});
    for (const char* state : {"successful", "failed"}) {
      zone_data_requests.Add({{"state", state}});
      sync_reports.Add({{"state", state}});
      reconciles.Add({{"result", state}});
      state_responses.Add({{"state", state}});
      cli_calls.Add({{"state", state}});
      for (const char* type : {"create", "delete", "get_zones", "clear_cache"}) {
        api_calls.Add({{"state", state}, {"type", type}});
      }
    }
    reconciles.Add({{"result", "superseded"}});
    for (const char* outcome : {"committed", "superseded", "assumed"}) {
      commit_waits.Add({{"outcome", outcome}});
    }
    dns_queries.Add({{"qtype", "soa"}, {"state", "permitted"}});
    dns_queries.Add({{"qtype", "axfr"}, {"state", "permitted"}});
    dns_queries.Add({{"qtype", "*"}, {"state", "prohibited"}});
    for (const char* reason : {"not_allowed", "tsig", "connection_limit"}) {
      axfr_refused.Add({{"reason", reason}});
    }
  }
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& api_calls;
  prometheus::Family<prometheus::Counter>& zone_data_requests;
  prometheus::Counter& state_requests;
  prometheus::Family<prometheus::Counter>& dns_queries;
  prometheus::Counter& invalid;
  prometheus::Family<prometheus::Counter>& reconciles;
  prometheus::Family<prometheus::Counter>& state_responses;
  prometheus::Gauge& worker_locks;
  prometheus::Family<prometheus::Counter>& cli_calls;
  prometheus::Family<prometheus::Counter>& commit_waits;
  prometheus::Counter& retrieves_repeated;
  prometheus::Family<prometheus::Counter>& axfr_refused;
  prometheus::Counter& broadcasts_ignored;
  prometheus::Family<prometheus::Counter>& batches;
  prometheus::Counter& batch_zones;
  prometheus::Family<prometheus::Counter>& sync_reports;
};

}  // namespace pdnsd
