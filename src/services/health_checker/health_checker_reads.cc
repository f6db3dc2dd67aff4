// HealthChecker: reading the facts every check starts from: what the primary serves (its
// API's zone list, each zone's SOA serial over DNS) and a secondary's zone-state map.
#include "services/health_checker/health_checker.h"

#include "core/parallel_for.h"
#include "dns/soa_query.h"
#include "model/subjects.h"
#include "services/health_checker/check_rules.h"
#include "services/health_checker/health_checker_internal.h"

namespace pdnsd {

StatusOr<HealthChecker::PrimaryView> HealthChecker::ReadPrimary() {
  auto view = QueryPrimary();
  MutexLock lock(mutex_);
  if (!view.ok()) {
    primary_error_ = view.status().message();
    return view;
  }
  primary_error_.clear();
  primary_zones_ = view->served.size();
  primary_dnssec_zones_ = view->dnssec.size();
  primary_read_at_ = clock_->WallNow();
  metrics_->primary_zones.Set(static_cast<double>(view->served.size()));
  metrics_->dnssec_zones.Set(static_cast<double>(view->dnssec.size()));
  return view;
}

StatusOr<HealthChecker::PrimaryView> HealthChecker::QueryPrimary() {
  auto zones = powerdns_.ListZones();
  if (!zones.ok()) return zones.status();
  PrimaryView view;
  std::vector<uint32_t> serials(zones->size());
  std::vector<Status> errors(zones->size());
  ParallelFor(zones->size(), config_.workers, [&](size_t i) {
    auto serial = QuerySoaSerial(config_.primary, (*zones)[i].name, config_.dns_timeout);
    if (!serial.ok())
      serial = QuerySoaSerial(config_.primary, (*zones)[i].name, config_.dns_timeout);
    if (serial.ok()) {
      serials[i] = *serial;
    } else {
      errors[i] = serial.status();
    }
  });
  std::string first_failure;
  for (size_t i = 0; i < zones->size(); ++i) {
    const PdnsZone& zone = (*zones)[i];
    if (!errors[i].ok()) {
      // A zone the API lists but DNS does not serve (no SOA yet) is not served. Other failures
      // leave the zone out of this cycle's diffs rather than failing the whole cycle.
      if (errors[i].code() != StatusCode::kNotFound) {
        view.unknown.insert(zone.name);
        if (first_failure.empty()) first_failure = zone.name + ": " + errors[i].message();
      }
      continue;
    }
    view.served[zone.name] = serials[i];
    if (zone.dnssec) view.dnssec.insert(zone.name);
  }
  if (!PrimaryAnswerUsable(zones->size(), view.unknown.size())) {
    return Status::Unavailable("primary DNS " + config_.primary.ToString() +
                               " did not answer for " + std::to_string(view.unknown.size()) +
                               " of " + std::to_string(zones->size()) +
                               " zones (first: " + first_failure + ")");
  }
  return view;
}

StatusOr<std::map<std::string, uint32_t>> HealthChecker::SecondaryState(
    const std::string& id, const std::optional<std::string>& zone) {
  auto raw = bus_->Request(PeerSubject(config_.zone_state_prefix, id),
                           EncodeZoneStateRequest({zone, "", true}), config_.state_timeout);
  if (!raw.ok()) {
    metrics_->state_failures.Increment();
    return raw.status();
  }
  auto reply = DecodeZoneStateReply(*raw);
  if (!reply.ok()) {
    metrics_->state_failures.Increment();
    if (raw->find("error_code") == std::string::npos) metrics_->invalid.Increment();
    return Status::Unavailable("state of " + id + ": " + reply.status().message());
  }
  return std::move(reply->statemap);
}

}  // namespace pdnsd
