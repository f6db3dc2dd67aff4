// Internal to the HealthChecker's implementation files (health_checker*.cc): its metrics and
// the names they share. Not part of the service's interface.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "core/metrics.h"
#include "services/health_checker/health_checker.h"

namespace pdnsd {

// The service name a secondary-syncer's heartbeats carry.
inline constexpr const char* kSyncerService = "pdns-secondary-syncer";

struct HealthChecker::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : primary_zones(AddGauge(registry, "healthchecker_actual_primary_zone_count",
                               "Zones the primary serves (last refresh)")),
        secondaries(AddGauge(registry, "healthchecker_actual_secondary_count",
                             "Known secondaries: listed hosts and syncers heard of, in any state")),
        active_secondaries(AddGauge(registry, "healthchecker_actual_active_secondary_count",
                                    "Active secondaries (passing or warning, plus listed hosts)")),
        dnssec_zones(AddGauge(registry, "healthchecker_actual_dnssec_primary_zone_count",
                              "DNSSEC-signed zones the primary serves (last read)")),
        refresh_cycles(AddCounter(registry, "healthchecker_refresh_cycles_total",
                                  "Background refreshes of the primary's zones run")),
        received_events(AddCounterFamily(
            registry, "healthchecker_event_health_check_received_zone_events_total",
            "Zone events received (each schedules an event check)")),
        signing_events(AddCounterFamily(
            registry, "healthchecker_interval_signing_sync_published_zone_events_total",
            "Change events sent by the weekly signing sync")),
        api_calls(AddCounterFamily(registry, "healthchecker_powerdns_api_call_total",
                                   "Calls to the primary's PowerDNS API")),
        cli_calls(AddCounterFamily(registry, "healthchecker_powerdns_cli_call_total",
                                   "pdnsutil calls (always 0: NSEC3 is set through the API)")),
        discovery_calls(AddCounterFamily(
            registry, "healthchecker_service_discovery_call_total",
            "Lookups of the active secondaries (in the heartbeat registry: never fail)")),
        interval_cycles(AddCounter(registry, "healthchecker_interval_health_cycles_total",
                                   "Periodic checks run")),
        event_events(AddCounterFamily(
            registry, "healthchecker_event_health_check_published_zone_events_total",
            "Targeted zone events sent by the event check")),
        interval_events(
            AddCounterFamily(registry, "healthchecker_interval_health_published_zone_events_total",
                             "Targeted zone events sent by periodic checks")),
        refresh_events(
            AddCounterFamily(registry, "healthchecker_refresh_published_zone_events_total",
                             "Zone events sent for changes that bypassed the api-proxy")),
        signing_cycles(AddCounter(registry, "healthchecker_singing_sync_cycles_total",
                                  "Signing syncs run (the original's spelling)")),
        nsec3_cycles(AddCounter(registry, "healthchecker_ensure_nsec3_cyles_total",
                                "NSEC3 checks run (the original's spelling)")),
        mass_deletion_alerts(AddCounter(registry, "healthchecker_mass_deletion_alerts_total",
                                        "Cycles in which stray zones were not announced")),
        invalid(AddCounter(registry, "healthchecker_invalid_messages_total",
                           "Heartbeats, events and state replies rejected as malformed")),
        state_failures(AddCounter(registry, "healthchecker_state_request_failures_total",
                                  "Zone-state requests that failed or timed out")),
        liveness(
            AddGaugeFamily(registry, "healthchecker_services", "Known services by liveness state")),
        silent_static(AddGauge(registry, "healthchecker_listed_secondaries_without_heartbeat",
                               "[Secondaries] Hosts that never sent a heartbeat")),
        expiring_signatures(AddCounter(registry, "healthchecker_expiring_signature_zones_total",
                                       "Zones re-sent because a secondary served an RRSIG "
                                       "expiring within SignatureExpiryWindow")),
        service_state(AddGaugeFamily(registry, "healthchecker_service_liveness",
                                     "1 for each known service instance, labelled with its state")),
        catalog_bound(AddGauge(registry, "healthchecker_catalog_bound",
                               "1 while the JetStream catalog is followed and caught up")),
        catalog_zones(AddGauge(registry, "healthchecker_catalog_zones",
                               "Zones with a version in the JetStream catalog (mirror)")),
        catalog_tombstones(AddGauge(registry, "healthchecker_catalog_tombstones",
                                    "Tombstones in the JetStream catalog (mirror)")),
        catalog_revision(AddGauge(registry, "healthchecker_catalog_revision",
                                  "The last catalog revision the mirror applied")),
        catalog_differences(AddGauge(
            registry, "healthchecker_catalog_primary_differences",
            "Zones where the catalog differed from the primary at the last periodic check")),
        content_mismatches(AddCounter(
            registry, "healthchecker_catalog_content_mismatches_total",
            "Zones a secondary served at the catalog's serial with other content (re-sent)")),
        content_checks(AddCounter(registry, "healthchecker_catalog_content_checks_total",
                                  "Zones whose content a secondary served was compared with the "
                                  "catalog's version")),
        catalog_events(AddCounterFamily(
            registry, "healthchecker_catalog_published_zone_events_total",
            "Broadcast zone events sent to repair the catalog (the zone-provider republishes)")),
        propagation(AddHistogramFamily(
            registry, "healthchecker_propagation_seconds",
            "Time from the api-proxy's answer to a change until a secondary's syncer reported "
            "it served, by secondary")),
        oldest_pending(AddGauge(registry, "healthchecker_oldest_pending_change_seconds",
                                "Age of the oldest change an active secondary does not serve "
                                "yet (0: none pending)")),
        changes_tracked(AddGauge(registry, "healthchecker_changes_tracked",
                                 "Changes GET /changes remembers ([ChangeStatus] History)")),
        sync_reports(AddCounterFamily(registry, "healthchecker_sync_reports_total",
                                      "Sync reports received from syncers, by outcome")),
        secondary_pending_changes(AddGaugeFamily(
            registry, "healthchecker_secondary_pending_changes",
            "Changes an active secondary does not serve yet, by secondary (moves with every "
            "change and sync report)")),
        secondary_pending_zones(
            AddGaugeFamily(registry, "healthchecker_secondary_pending_zones",
                           "Zones with a change an active secondary does not serve yet")),
        secondary_oldest_pending(AddGaugeFamily(
            registry, "healthchecker_secondary_oldest_pending_change_seconds",
            "Age of the oldest change an active secondary does not serve yet (0: none)")),
        secondary_zones(AddGaugeFamily(registry, "healthchecker_secondary_zones",
                                       "Zones of a secondary at its last periodic check, by "
                                       "state: in_sync, behind, missing, stray")),
        pending_changes_series(secondary_pending_changes),
        pending_zones_series(secondary_pending_zones),
        oldest_pending_series(secondary_oldest_pending),
        secondary_zones_series(secondary_zones) {
    for (const char* outcome : {"synced", "deleted", "failed", "invalid"}) {
      sync_reports.Add({{"outcome", outcome}});
    }
    for (const char* type : {"create", "change", "delete"}) {
      received_events.Add({{"event_type", type}});
      event_events.Add({{"event_type", type}});
      interval_events.Add({{"event_type", type}});
      refresh_events.Add({{"event_type", type}});
      catalog_events.Add({{"event_type", type}});
    }
    signing_events.Add({{"event_type", "change"}});
    for (const char* state : {"successful", "failed"}) {
      api_calls.Add({{"state", state}});
      cli_calls.Add({{"state", state}});
      discovery_calls.Add({{"state", state}});
    }
    for (const char* state : {"passing", "warning", "critical", "unknown"}) {
      liveness.Add({{"state", state}});
    }
  }
  prometheus::Gauge& primary_zones;
  prometheus::Gauge& secondaries;
  prometheus::Gauge& active_secondaries;
  prometheus::Gauge& dnssec_zones;
  prometheus::Counter& refresh_cycles;
  prometheus::Family<prometheus::Counter>& received_events;
  prometheus::Family<prometheus::Counter>& signing_events;
  prometheus::Family<prometheus::Counter>& api_calls;
  prometheus::Family<prometheus::Counter>& cli_calls;
  prometheus::Family<prometheus::Counter>& discovery_calls;
  prometheus::Counter& interval_cycles;
  prometheus::Family<prometheus::Counter>& event_events;
  prometheus::Family<prometheus::Counter>& interval_events;
  prometheus::Family<prometheus::Counter>& refresh_events;
  prometheus::Counter& signing_cycles;
  prometheus::Counter& nsec3_cycles;
  prometheus::Counter& mass_deletion_alerts;
  prometheus::Counter& invalid;
  prometheus::Counter& state_failures;
  prometheus::Family<prometheus::Gauge>& liveness;
  prometheus::Gauge& silent_static;
  prometheus::Counter& expiring_signatures;
  prometheus::Family<prometheus::Gauge>& service_state;
  prometheus::Gauge& catalog_bound;
  prometheus::Gauge& catalog_zones;
  prometheus::Gauge& catalog_tombstones;
  prometheus::Gauge& catalog_revision;
  prometheus::Gauge& catalog_differences;
  prometheus::Counter& content_mismatches;
  prometheus::Counter& content_checks;
  prometheus::Family<prometheus::Counter>& catalog_events;
  prometheus::Family<prometheus::Histogram>& propagation;
  prometheus::Gauge& oldest_pending;
  prometheus::Gauge& changes_tracked;
  prometheus::Family<prometheus::Counter>& sync_reports;
  prometheus::Family<prometheus::Gauge>& secondary_pending_changes;
  prometheus::Family<prometheus::Gauge>& secondary_pending_zones;
  prometheus::Family<prometheus::Gauge>& secondary_oldest_pending;
  prometheus::Family<prometheus::Gauge>& secondary_zones;
  // Set each second by UpdateChangeMetrics() on the scheduler thread.
  GaugeSeries pending_changes_series;
  GaugeSeries pending_zones_series;
  GaugeSeries oldest_pending_series;
  GaugeSeries secondary_zones_series;
  // 1 ms to 10 min: a fast fleet and a stuck one both show (docs/architecture.md, "Metrics").
  static const prometheus::Histogram::BucketBoundaries& PropagationBuckets() {
    static const prometheus::Histogram::BucketBoundaries buckets = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
        1,     2.5,    5,     10,   30,    60,   120, 300,  600};
    return buckets;
  }
};

}  // namespace pdnsd
