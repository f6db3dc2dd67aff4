// HealthChecker: GET /status, everything the checker knows as one JSON document, and GET /, the
// page that shows it to people (status_page.h).
#include "services/health_checker/health_checker.h"

#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "services/health_checker/health_checker_internal.h"
#include "services/health_checker/status_page.h"

namespace pdnsd {

namespace {

// Whole seconds from `then` to `now` (0 when the clock went back).
int64_t AgeSeconds(std::chrono::system_clock::time_point then,
                   std::chrono::system_clock::time_point now) {
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(now - then).count());
}

// The newest changes /status lists (the status page shows them).
constexpr size_t kChangesShown = 20;

}  // namespace

Status HealthChecker::StartStatusServer() {
  HttpRoutes routes;
  routes.Add("GET", "/", [](const HttpRequest&, HttpReply& reply) {
    reply.body = std::string(StatusPageHtml());
    reply.content_type = "text/html; charset=utf-8";
    // The page may talk only to this server: no external asset can load, and nothing it shows
    // can run as script (the browser enforces what status_page.html promises).
    reply.headers.push_back({"Content-Security-Policy",
                             "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; "
                             "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                             "frame-ancestors 'none'"});
    reply.headers.push_back({"X-Content-Type-Options", "nosniff"});
    reply.headers.push_back({"Cache-Control", "no-cache"});
  });
  routes.Add("GET", "/status", [this](const HttpRequest&, HttpReply& reply) {
    if (!RunCatching(logger_, "the status page", [&] {
          reply.body = StatusJson();
          reply.content_type = "application/json";
        })) {
      reply.JsonError(500, "internal error");
    }
  });
  HttpListenerOptions options;
  options.what = "the status page";
  options.max_body_bytes = 64 * 1024;  // GET only
  status_ = std::make_unique<HttpListener>(std::move(options), std::move(routes), logger_);
  return status_->Start(config_.status_listen);
}

std::string HealthChecker::StatusJson() {
  using nlohmann::json;
  const auto now = clock_->WallNow();
  const std::optional<CatalogMirror::Snapshot> mirror =
      catalog_ ? std::optional(catalog_->Read()) : std::nullopt;
  // The change history has its own lock; read before taking ours.
  const std::set<std::string> active = ActiveSecondaryIds();
  const std::map<std::string, SecondaryBacklog> backlog = changes_.Backlog(active, now);
  const auto oldest_pending = changes_.OldestPendingAge(active, now);
  json latest_changes = json::parse(EncodeChangeList(changes_.Latest(active, kChangesShown)));
  MutexLock lock(mutex_);
  json secondaries = json::array();
  json services = json::array();
  for (const ServiceRecord& record : liveness_.Snapshot()) {
    json entry = {{"id", record.last.id},
                  {"service", record.last.service},
                  {"host", record.last.host},
                  {"version", record.last.version},
                  {"state", DisplayedState(record)},
                  {"load1", record.last.load1},
                  {"listed", record.static_host},
                  {"heartbeats", record.ever_heard},
                  {"last_heartbeat",
                   record.ever_heard ? json(FormatRfc3339(record.last_seen_wall)) : json(nullptr)}};
    if (record.last.service == kSyncerService || record.static_host) {
      // The changes it does not serve yet (moves with every change and sync report).
      if (auto pending = backlog.find(record.last.id); pending != backlog.end()) {
        entry["pending"] = {{"changes", pending->second.changes},
                            {"zones", pending->second.zones},
                            {"oldest_age_seconds",
                             std::chrono::duration<double>(pending->second.oldest_age).count()}};
      }
      auto report = reports_.find(record.last.id);
      if (report != reports_.end()) {
        if (const auto& read_at = report->second.zones_read_at) {
          const SecondaryZoneCounts& counts = report->second.zones;
          entry["zones"] = {{"in_sync", counts.in_sync},
                            {"behind", counts.behind.size()},
                            {"missing", counts.missing.size()},
                            {"stray", counts.stray.size()}};
          entry["zones_read_at"] = FormatRfc3339(*read_at);
          entry["zones_age_seconds"] = AgeSeconds(*read_at, now);
        }
        entry["last_check"] = report->second.last_check;
        if (!report->second.error.empty()) entry["error"] = report->second.error;
      }
      secondaries.push_back(entry);
    } else {
      services.push_back(entry);
    }
  }
  // Forgotten services (no heartbeat for 10 intervals), listed for people to see what went.
  json departed = json::array();
  for (const ServiceRecord& record : liveness_.Departed()) {
    departed.push_back({{"id", record.last.id},
                        {"service", record.last.service},
                        {"host", record.last.host},
                        {"version", record.last.version},
                        {"state", LivenessName(record.state)},
                        {"last_heartbeat", FormatRfc3339(record.last_seen_wall)}});
  }
  json primary = {
      {"zones", primary_zones_ ? json(*primary_zones_) : json(nullptr)},
      {"dnssec_zones", primary_dnssec_zones_ ? json(*primary_dnssec_zones_) : json(nullptr)},
      {"zones_read_at", primary_read_at_ ? json(FormatRfc3339(*primary_read_at_)) : json(nullptr)},
      {"zones_age_seconds",
       primary_read_at_ ? json(AgeSeconds(*primary_read_at_, now)) : json(nullptr)},
      {"error", primary_error_.empty() ? json(nullptr) : json(primary_error_)},
      {"alert", alert_.empty() ? json(nullptr) : json(alert_)}};
  json catalog = nullptr;  // [JetStream] Mode off
  if (mirror) {
    size_t versions = 0, tombstones = 0;
    for (const auto& [zone, entry] : mirror->zones) ++(entry.deleted ? tombstones : versions);
    // The first zones where catalog and primary differed, enough to start looking.
    constexpr size_t kListed = 20;
    json differing = nullptr;
    if (catalog_differing_) {
      differing = json::array();
      for (size_t i = 0; i < catalog_differing_->size() && i < kListed; ++i) {
        differing.push_back((*catalog_differing_)[i]);
      }
    }
    catalog = {{"bucket", common_.jetstream.catalog.bucket},
               {"bound", mirror->bound},
               {"caught_up", mirror->caught_up},
               {"revision", mirror->revision},
               {"zones", versions},
               {"tombstones", tombstones},
               {"differs_from_primary",
                catalog_differing_ ? json(catalog_differing_->size()) : json(nullptr)},
               {"differing_zones", differing},
               {"compared_at",
                catalog_compared_at_ ? json(FormatRfc3339(*catalog_compared_at_)) : json(nullptr)}};
  }
  json doc = {{"primary", primary},
              {"catalog", catalog},
              {"secondaries", secondaries},
              {"services", services},
              {"departed", departed},
              // The newest changes, with their status per active secondary.
              {"changes", std::move(latest_changes["changes"])},
              {"oldest_pending_change_seconds",
               oldest_pending ? json(std::chrono::duration<double>(*oldest_pending).count())
                              : json(nullptr)},
              // Event checks scheduled or running: the refresh leaves those zones to them.
              {"event_checks_pending", event_checks_pending_.size() + event_checks_running_.size()},
              {"next_signing_sync", next_signing_sync_},
              {"generated_at", FormatRfc3339(now)}};
  return EncodeJson(doc, 2);
}

}  // namespace pdnsd
