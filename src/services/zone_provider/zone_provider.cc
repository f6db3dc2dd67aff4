#include "services/zone_provider/zone_provider.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "core/metrics.h"

#include "dns/axfr_client.h"
#include "dns/soa_query.h"
#include "model/messages.h"
#include "services/zone_provider/confirm_absence.h"

namespace pdnsd {

struct ZoneProvider::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : requests(AddCounter(registry, "zoneprovider_request_total", "Zone data requests received")),
        responses(AddCounter(registry, "zoneprovider_response_total",
                             "Zone data replies sent (data or error)")),
        api_calls(AddCounterFamily(registry, "zoneprovider_powerdns_api_call_total",
                                   "Calls to the primary's PowerDNS API")),
        dns_queries(AddCounterFamily(registry, "zoneprovider_powerdns_dns_query_total",
                                     "SOA queries and AXFRs sent to the primary")),
        dns_calls(AddCounterFamily(registry, "zoneprovider_powerdns_dns_call_total",
                                   "DNS exchanges with the primary by transport (SOA: udp, "
                                   "AXFR: tcp)")),
        invalid(AddCounter(registry, "zoneprovider_invalid_requests_total",
                           "Zone data requests rejected as malformed")),
        unanswered(AddCounter(registry, "zoneprovider_unanswered_requests_total",
                              "Failed requests left without a reply because the requester takes "
                              "no error replies (original Go syncers)")) {
    for (const char* state : {"successful", "failed"}) {
      api_calls.Add({{"state", state}});
      for (const char* qtype : {"soa", "axfr"})
        dns_queries.Add({{"qtype", qtype}, {"state", state}});
      for (const char* protocol : {"tcp", "udp"})
        dns_calls.Add({{"protocol", protocol}, {"state", state}});
    }
  }
  // One SOA query or AXFR: successful when the primary answered it, also with "no such zone"
  // once its API confirmed that (a normal deletion is not a failure).
  void CountDns(const char* qtype, const Status& result) {
    const bool answered = result.ok() || result.code() == StatusCode::kNotFound;
    const char* state = answered ? "successful" : "failed";
    dns_queries.Add({{"qtype", qtype}, {"state", state}}).Increment();
    const char* protocol = std::string_view(qtype) == "soa" ? "udp" : "tcp";
    dns_calls.Add({{"protocol", protocol}, {"state", state}}).Increment();
  }
  prometheus::Counter& requests;
  prometheus::Counter& responses;
  prometheus::Family<prometheus::Counter>& api_calls;
  prometheus::Family<prometheus::Counter>& dns_queries;
  prometheus::Family<prometheus::Counter>& dns_calls;
  prometheus::Counter& invalid;
  prometheus::Counter& unanswered;
};

ZoneProvider::ZoneProvider(ZoneProviderConfig config, const ServiceEnvironment& environment)
    : config_(std::move(config)),
      common_(environment.common),
      bus_(environment.bus),
      registry_(environment.registry),
      clock_(environment.clock),
      logger_(environment.logger),
      metrics_(std::make_unique<Metrics>(*environment.registry)),
      powerdns_(common_.powerdns, [this](const char*, bool ok) {
        metrics_->api_calls.Add({{"state", ok ? "successful" : "failed"}}).Increment();
      }) {}

ZoneProvider::~ZoneProvider() { Stop(); }

Status ZoneProvider::Start() {
  workers_ = std::make_unique<WorkerPool>(config_.workers);
  auto subscription = bus_->Subscribe(
      config_.subject, config_.queue_group,
      [this](const BusMessage& message) { workers_->Submit([this, message] { Serve(message); }); });
  if (!subscription.ok()) return subscription.status();
  subscription_ = std::move(*subscription);
  logger_->info("serving zone data on {} (queue group {}) from primary {}", config_.subject,
                config_.queue_group, config_.primary.ToString());
  if (common_.jetstream.mode == JetStreamMode::kAuto) {
    CatalogPublisherOptions options = config_.catalog;
    options.primary = config_.primary;
    options.axfr_timeout = config_.axfr_timeout;
    publisher_ = std::make_unique<CatalogPublisher>(options, common_, *bus_, powerdns_, logger_,
                                                    *registry_, *clock_);
    if (!publisher_->Start()) publisher_.reset();
  }
  return Status::Ok();
}

void ZoneProvider::Stop() {
  if (publisher_) publisher_->Stop();
  subscription_.reset();
  if (workers_) workers_->Stop();
}

void ZoneProvider::Serve(const BusMessage& message) {
  metrics_->requests.Increment();
  auto request = DecodeZoneDataRequest(message.data);
  std::string reply;
  bool is_error = true;
  const bool accepts_error =
      request.ok() ? request->accept_error_reply : AcceptsErrorReply(message.data);
  if (!request.ok()) {
    metrics_->invalid.Increment();
    logger_->warn("invalid zone data request on {}: {}", message.subject,
                  request.status().message());
    reply = EncodeErrorReply("", request.status());
  } else {
    reply = Answer(request->zone, request->only_soa, &is_error);
  }
  if (message.reply.empty()) return;
  if (is_error && !accepts_error) {
    // An original syncer takes any reply as zone data (an error reply to its only_soa request
    // crashes it): like the original provider, send none (model/messages.h).
    metrics_->unanswered.Increment();
    logger_->debug("no reply on {}: the requester does not read error replies", message.subject);
    return;
  }
  if (Status s = bus_->Respond(message, reply); !s.ok()) {
    logger_->error("cannot reply on {}: {}", message.subject, s.message());
    return;
  }
  metrics_->responses.Increment();
}

std::string ZoneProvider::Answer(const std::string& zone, bool only_soa, bool* is_error) {
  *is_error = true;
  ZoneDataReply reply;
  reply.zone = zone;
  // Before the query: the data holds every write the primary answered until now.
  reply.read_at = FormatRfc3339(clock_->WallNow());
  if (only_soa) {
    // With the DO bit: a signed zone's answer carries RRSIGs, which gives the dnssec flags the
    // original provider sends in only_soa replies too, without an API call.
    auto soa = QuerySoa(config_.primary, zone, config_.axfr_timeout, /*dnssec=*/true);
    if (!soa.ok()) {
      logger_->debug("SOA of {} from {}: {}", zone, config_.primary.ToString(),
                     soa.status().message());
      const Status why = ConfirmAbsence(powerdns_, logger_, zone, soa.status());
      metrics_->CountDns("soa", why);
      return EncodeErrorReply(zone, why);
    }
    metrics_->CountDns("soa", Status::Ok());
    reply.zone_data = soa->text + "\n";
    reply.dnssec_enabled = soa->rrsig_expiration != 0;
    reply.presigned_records = reply.dnssec_enabled;
    *is_error = false;
    return EncodeZoneDataReply(reply);
  }
  // The text as the records arrive (AxfrZoneData's), without holding them parsed as well.
  std::string text;
  auto transfer =
      StreamZoneTransfer(config_.primary, zone, config_.axfr_timeout, [&](std::string_view record) {
        text.append(record);
        text += '\n';
        return Status::Ok();
      });
  if (!transfer.ok()) {
    const Status why = ConfirmAbsence(powerdns_, logger_, zone, transfer.status());
    metrics_->CountDns("axfr", why);
    if (why.code() == StatusCode::kNotFound) {
      logger_->info("{}: the primary does not have it", zone);
    } else {
      logger_->warn("AXFR of {} from {} failed: {}", zone, config_.primary.ToString(),
                    why.message());
    }
    return EncodeErrorReply(zone, why);
  }
  metrics_->CountDns("axfr", Status::Ok());
  // A zone PowerDNS signs carries RRSIGs in its AXFR: that is the dnssec flag, without a
  // second call to the primary's API for every transfer.
  reply.zone_data = std::move(text);
  reply.dnssec_enabled = transfer->has_rrsig;
  reply.presigned_records = transfer->has_rrsig;
  logger_->debug("serving {} serial {} ({} records)", zone, transfer->serial, transfer->records);
  *is_error = false;
  return EncodeZoneDataReply(reply);
}

ServiceDefinition ZoneProviderDefinition() {
  return DefineService<ZoneProvider>(
      "pdns-zone-provider", "serves the primary's zones (by AXFR) to secondary-syncers over NATS",
      &ReadZoneProviderConfig);
}

}  // namespace pdnsd
