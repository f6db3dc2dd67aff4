// Internal to the ApiProxy's implementation files (api_proxy*.cc): its metrics. Not part of
// the service's interface.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "core/metrics.h"
#include "services/api_proxy/api_proxy.h"

namespace pdnsd {

struct ApiProxy::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : requests(AddCounter(registry, "apiproxy_powerdns_api_requests_total",
                            "Requests forwarded to the PowerDNS API")),
        events(AddCounterFamily(registry, "apiproxy_published_zone_events_total",
                                "Zone events published after successful zone changes")),
        rejected(AddCounterFamily(registry, "apiproxy_rejected_requests_total",
                                  "Requests answered by the proxy itself with an error")),
        writes_waiting(AddGauge(registry, "apiproxy_writes_waiting",
                                "Write requests waiting for their turn ([PowerDNS] "
                                "WriteConcurrency)")),
        responses(AddCounterFamily(registry, "apiproxy_powerdns_responses_total",
                                   "Answers of the PowerDNS API by status class")),
        api_key_failures(AddCounter(registry, "apiproxy_api_key_failures_total",
                                    "Requests PowerDNS refused with 401 (a wrong or missing API "
                                    "key)")),
        throttled_clients(AddCounter(registry, "apiproxy_api_key_throttled_clients_total",
                                     "Times a client address reached [Service] AuthFailureLimit "
                                     "and got 429 for the rest of the window")),
        change_requests(AddCounterFamily(registry, "apiproxy_change_status_requests_total",
                                         "GET /changes answers by result (insync, pending, "
                                         "not_found, list, refused)")) {
    for (const char* result : {"insync", "pending", "not_found", "list", "refused"}) {
      change_requests.Add({{"result", result}});
    }
    for (const char* status_class : {"1xx", "2xx", "3xx", "4xx", "5xx"}) {
      responses.Add({{"class", status_class}});
    }
  }
  prometheus::Counter& requests;
  prometheus::Family<prometheus::Counter>& events;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Gauge& writes_waiting;
  prometheus::Family<prometheus::Counter>& responses;
  prometheus::Counter& api_key_failures;
  prometheus::Counter& throttled_clients;
  prometheus::Family<prometheus::Counter>& change_requests;
};

}  // namespace pdnsd
