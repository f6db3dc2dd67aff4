#include "services/secondary_syncer/sync_rules.h"

#include <algorithm>

namespace pdnsd {
namespace {

bool IsClass(std::string_view field) {
  return field == "IN" || field == "CH" || field == "HS" || field == "CS" ||
         field.substr(0, 5) == "CLASS";
}

bool IsTtl(std::string_view field) {
  return !field.empty() &&
         std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The next whitespace-separated field of `line` from `pos`.
std::string_view NextField(std::string_view line, size_t& pos) {
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
  const size_t start = pos;
  while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
  return line.substr(start, pos - start);
}

}  // namespace

ZoneDnssecState DnssecStateOfZoneText(std::string_view zone_text) {
  ZoneDnssecState state;
  std::string_view apex;
  size_t line_start = 0;
  while (line_start < zone_text.size()) {
    size_t line_end = zone_text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = zone_text.size();
    std::string_view line = zone_text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t pos = 0;
    const std::string_view owner = NextField(line, pos);
    if (owner.empty() || owner[0] == ';') continue;
    // name [ttl] [class] type rdata: ttl and class may come in either order or be absent.
    std::string_view type = NextField(line, pos);
    for (int i = 0; i < 2 && (IsTtl(type) || IsClass(type)); ++i) type = NextField(line, pos);
    if (apex.empty()) apex = owner;  // the SOA comes first
    if (type == "RRSIG" || type == "NSEC" || type == "NSEC3") {
      state.signed_zone = true;
    } else if (type == "NSEC3PARAM" && owner == apex) {
      std::string rdata;
      for (std::string_view field = NextField(line, pos); !field.empty();
           field = NextField(line, pos)) {
        if (!rdata.empty()) rdata += ' ';
        rdata += field;
      }
      state.nsec3param = std::move(rdata);
    }
  }
  if (!state.signed_zone) state.nsec3param.clear();  // PowerDNS ignores it in unsigned zones
  return state;
}

bool MetadataCacheMayBeStale(const std::optional<ZoneDnssecState>& before,
                             const ZoneDnssecState& served) {
  if (!before) return served.signed_zone;  // a new zone: PRESIGNED absent, unless signed
  if (before->signed_zone != served.signed_zone) return true;
  return served.signed_zone && before->nsec3param != served.nsec3param;
}

CommitWaitDecision DecideCommitWait(const CommitProgress& progress) {
  if (!progress.serial_matches) return CommitWaitDecision::kWait;
  if (progress.serial_moved || progress.first_transfer ||
      (progress.last_check_advanced && !progress.previous_commit_unconfirmed)) {
    return CommitWaitDecision::kCommitted;
  }
  if (progress.marked_again) return CommitWaitDecision::kSuperseded;
  if (progress.since_served > kUnchangedSerialCommitWait) {
    return CommitWaitDecision::kAssumedCommitted;
  }
  return CommitWaitDecision::kWait;
}

std::optional<std::chrono::milliseconds> RetrieveAgainAfter(int retrieves, bool transfer_started) {
  if (transfer_started) return std::nullopt;
  const int doublings = std::clamp(retrieves - 1, 0, 6);
  return std::min(std::chrono::milliseconds(50) * (1 << doublings),
                  std::chrono::milliseconds(2000));
}

}  // namespace pdnsd
