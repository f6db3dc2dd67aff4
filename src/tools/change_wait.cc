#include "tools/change_wait.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "model/messages.h"

namespace pdnsd {
namespace {

using nlohmann::json;

// How long one request lets the proxy hold the answer (GET /changes/<id>?wait=).
constexpr std::chrono::milliseconds kPollWait{250};

std::string StringOf(const json& doc, const char* field) {
  auto it = doc.find(field);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string Milliseconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", seconds * 1000);
  return text;
}

// The proxy's {"error": ...} text, or the status line.
std::string ErrorOf(const HttpResponse& response) {
  if (response.status == 0) return response.error;
  auto doc = ParseJsonObject(response.body);
  std::string error = doc.ok() ? StringOf(*doc, "error") : "";
  return "HTTP " + std::to_string(response.status) + (error.empty() ? "" : ": " + error);
}

}  // namespace

StatusOr<ChangeView> ParseChangeView(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  ChangeView change;
  change.id = StringOf(*doc, "id");
  change.zone = StringOf(*doc, "zone");
  change.type = StringOf(*doc, "type");
  change.written_at = StringOf(*doc, "written_at");
  change.status = StringOf(*doc, "status");
  if (change.id.empty() || change.status.empty()) {
    return Status::InvalidArgument("not a change status: no \"id\" or \"status\"");
  }
  auto secondaries = doc->find("secondaries");
  if (secondaries == doc->end() || !secondaries->is_array()) {
    return Status::InvalidArgument("not a change status: no \"secondaries\" list");
  }
  for (const json& entry : *secondaries) {
    if (!entry.is_object()) return Status::InvalidArgument("a secondary that is not an object");
    ChangeView::Secondary secondary{StringOf(entry, "id"), StringOf(entry, "status"), std::nullopt,
                                    StringOf(entry, "error")};
    if (auto lag = entry.find("lag_seconds"); lag != entry.end() && lag->is_number()) {
      secondary.lag_seconds = lag->get<double>();
    }
    change.secondaries.push_back(std::move(secondary));
  }
  return change;
}

StatusOr<std::string> NewestChangeId(std::string_view text) {
  auto doc = ParseJsonObject(text);
  if (!doc.ok()) return doc.status();
  auto changes = doc->find("changes");
  if (changes == doc->end() || !changes->is_array()) {
    return Status::InvalidArgument("not a change list: no \"changes\"");
  }
  if (changes->empty() || !changes->front().is_object()) {
    return Status::NotFound("the proxy knows no change of that zone");
  }
  std::string id = StringOf(changes->front(), "id");
  if (!IsValidChangeId(id)) return Status::InvalidArgument("the newest change has no valid id");
  return id;
}

std::vector<std::string> NewlyServedLines(const ChangeView& change,
                                          std::set<std::string>* printed) {
  std::vector<std::string> lines;
  for (const ChangeView::Secondary& secondary : change.secondaries) {
    if (secondary.status != "INSYNC" || !printed->insert(secondary.id).second) continue;
    lines.push_back("  " + secondary.id + "  INSYNC" +
                    (secondary.lag_seconds ? "  " + Milliseconds(*secondary.lag_seconds) : ""));
  }
  return lines;
}

std::string ClosingLine(const ChangeView& change, std::chrono::milliseconds waited) {
  size_t in_sync = 0;
  std::string down, laggards;
  for (const ChangeView::Secondary& secondary : change.secondaries) {
    if (secondary.status == "INSYNC") {
      ++in_sync;
    } else if (secondary.status == "DOWN") {
      down += (down.empty() ? "" : ", ") + secondary.id;
    } else {
      laggards += (laggards.empty() ? "" : ", ") + secondary.id;
      if (secondary.status != "PENDING" || !secondary.error.empty()) {
        laggards +=
            " (" + secondary.status + (secondary.error.empty() ? "" : ": " + secondary.error) + ")";
      }
    }
  }
  const std::string down_note = down.empty() ? "" : " (DOWN, not waited for: " + down + ")";
  if (change.status == "INSYNC") {
    return "INSYNC on " + std::to_string(in_sync) + " secondar" + (in_sync == 1 ? "y" : "ies") +
           down_note;
  }
  char after[32];
  std::snprintf(after, sizeof after, "%.1f s", std::chrono::duration<double>(waited).count());
  return change.status + " after " + after + ": " + (laggards.empty() ? "?" : laggards) + down_note;
}

int RunChangeWait(const ChangeWaitOptions& options, std::ostream& out, std::ostream& err,
                  Clock& clock) {
  const HttpHeaders headers = {{"X-API-Key", options.api_key}};
  const auto get = [&](const std::string& path, std::chrono::milliseconds timeout) {
    return HttpCall("GET", options.proxy_url + path, headers, "", timeout, options.tls);
  };
  const Clock::TimePoint started = clock.Now();
  std::string id = options.change_id;
  if (id.empty()) {
    HttpResponse list = get("/changes?zone=" + options.zone + "&limit=1", std::chrono::seconds(30));
    if (list.status != 200) {
      err << "pdns-distribute-wait: changes of " << options.zone << ": " << ErrorOf(list) << "\n";
      return kWaitFailed;
    }
    auto newest = NewestChangeId(list.body);
    if (!newest.ok()) {
      err << "pdns-distribute-wait: " << options.zone << ": " << newest.status().message() << "\n";
      return kWaitFailed;
    }
    id = *newest;
  }
  std::set<std::string> printed;
  bool headed = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        started + options.timeout - clock.Now());
    const auto wait = std::max(std::chrono::milliseconds(0), std::min(left, kPollWait));
    char wait_text[32];
    std::snprintf(wait_text, sizeof wait_text, "%.3f", std::chrono::duration<double>(wait).count());
    HttpResponse answer =
        get("/changes/" + id + "?wait=" + wait_text, wait + std::chrono::seconds(30));
    if (answer.status != 200) {
      err << "pdns-distribute-wait: change " << id << ": " << ErrorOf(answer) << "\n";
      return kWaitFailed;
    }
    auto change = ParseChangeView(answer.body);
    if (!change.ok()) {
      err << "pdns-distribute-wait: change " << id << ": " << change.status().message() << "\n";
      return kWaitFailed;
    }
    if (!headed) {
      out << "change " << change->id << ": " << change->type << " of " << change->zone
          << ", written " << change->written_at << "\n";
      headed = true;
    }
    for (const std::string& line : NewlyServedLines(*change, &printed)) out << line << "\n";
    out.flush();
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - started);
    if (change->status == "INSYNC") {
      out << ClosingLine(*change, waited) << "\n";
      return kWaitInSync;
    }
    if (waited >= options.timeout) {
      out << ClosingLine(*change, waited) << "\n";
      return kWaitTimedOut;
    }
  }
}

}  // namespace pdnsd
