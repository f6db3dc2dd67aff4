// pdns-distribute-wait's work (src/cmd/pdns_distribute_wait.cc only wires it): waits until a
// change made through the api-proxy is served by every secondary, from the proxy's
// GET /changes (docs/architecture.md, "Change status"), printing each secondary as it arrives.
// The decisions (what a status document says, which lines to print) are pure functions;
// RunChangeWait carries them out over HTTPS.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/status.h"

namespace pdnsd {

// A GET /changes/<id> document, as far as the tool reads it.
struct ChangeView {
  struct Secondary {
    std::string id;
    std::string status;  // INSYNC, PENDING, FAILED, DOWN
    std::optional<double> lag_seconds;
    std::string error;
  };
  std::string id, zone, type, written_at, status;
  std::vector<Secondary> secondaries;
};
// InvalidArgument for a body that is not such a document.
StatusOr<ChangeView> ParseChangeView(std::string_view json);
// The id of the newest change in a GET /changes?zone= document; NotFound when it lists none.
StatusOr<std::string> NewestChangeId(std::string_view json);

// One line for each secondary that has become INSYNC and is not in `printed` yet (which it
// then joins), in the order the document lists them: "  ns1  INSYNC  18.2 ms".
std::vector<std::string> NewlyServedLines(const ChangeView& change, std::set<std::string>* printed);
// The last line: "INSYNC on 2 secondaries (1 DOWN: ns3)", or for a change not in sync after
// `waited` the laggards: "PENDING after 60.0 s: ns2 (FAILED: PowerDNS answered 500), ns4".
std::string ClosingLine(const ChangeView& change, std::chrono::milliseconds waited);

struct ChangeWaitOptions {
  std::string proxy_url = "https://127.0.0.1:8443";  // the api-proxy, without a path
  std::string api_key;
  std::string change_id;  // this change, or (empty) ...
  std::string zone;       // ... the newest change of this zone
  std::chrono::milliseconds timeout{60000};
  HttpClientTls tls;
};

// Exit codes of the tool.
inline constexpr int kWaitInSync = 0;
inline constexpr int kWaitTimedOut = 1;  // laggards named on `out`
inline constexpr int kWaitUsage = 2;
inline constexpr int kWaitFailed = 3;  // the proxy refused or could not answer (one line on err)

// Asks the proxy until the change is INSYNC or `timeout` passed (each request waits at most
// 250 ms on the proxy, so secondaries are printed within about that of their arrival).
int RunChangeWait(const ChangeWaitOptions& options, std::ostream& out, std::ostream& err,
                  Clock& clock);

}  // namespace pdnsd
