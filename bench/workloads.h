// The workloads of propagation_bench, the same for every system: each sends API calls through
// a function it is given (pdns-distribute: through the api-proxy; native: to the primary's
// API) and watches the secondaries over DNS (SOA queries in a ~1 ms loop, one thread per
// secondary), then records its figures in the report. Nothing here knows which system runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/net.h"
#include "report.h"
#include "support/cluster.h"
#include "support/processes.h"

namespace pdnsd::bench {

using Clock = std::chrono::steady_clock;
using testing::HttpResponse;

inline constexpr std::chrono::milliseconds kChangeTimeout{30000};
inline constexpr std::chrono::milliseconds kProvisionSettleTimeout{120000};
inline constexpr std::chrono::milliseconds kBootstrapTimeout{300000};
inline constexpr std::chrono::milliseconds kDeleteTimeout{30000};
inline constexpr const char* kZonesPath = "/api/v1/servers/localhost/zones";

double Ms(Clock::duration d);

// ---- DNS probes and zone data

// The SOA serial `server` serves for `zone`; 0 when it does not answer authoritatively.
uint32_t ServedSerial(const HostPort& server, const std::string& zone);
// The serial `server` serves for `zone` once it serves one ahead of `after` (any serial when
// `after` is 0), waiting up to `timeout`; 0 when it does not.
uint32_t ServedSerialAfter(const HostPort& server, const std::string& zone, uint32_t after,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
bool WaitAllServe(const std::vector<HostPort>& servers, const std::string& zone, uint32_t serial,
                  std::chrono::milliseconds timeout);

// Counter `name` of PowerDNS's statistics API on `server`; nullopt when it did not answer it.
// "tcp-queries" moves by exactly one per AXFR the server serves (every other query of the
// bench and of the services goes over UDP); "response-by-qtype" counts an AXFR's messages,
// not transfers.
std::optional<int64_t> PdnsStatistic(const testing::PdnsServer& server, const std::string& name);
// The AXFRs `server` served: PdnsStatistic(server, "tcp-queries").
std::optional<int64_t> ServedAxfrs(const testing::PdnsServer& server);

// The body to create `zone` of `kind` (Master, Producer, ...) on a primary: the test
// cluster's zone (testing::Cluster::ZoneBody), a member of `catalog` when that is given.
std::string PrimaryZoneBody(const std::string& zone, const std::string& kind,
                            const std::string& catalog = "");
// R A records r0..r<R-1> for a new zone (the same data on both systems).
nlohmann::json ZoneRecords(const std::string& zone, int records);
// "z00000.<suffix>", ...
std::vector<std::string> ZoneNames(const std::string& suffix, int count);
// `count` of `zones`, spread over the set.
std::vector<std::string> Pick(const std::vector<std::string>& zones, int count);

// ---- 1. A change: from the PATCH until every secondary serves the primary's new serial.
// `count` changes of `zone`, a random pause of up to `max_gap` before each (so that they do not
// lock onto the phase of a periodic cycle); `warmup` changes first, not counted.
Row RunChanges(const std::string& method, const std::vector<HostPort>& secondaries,
               const HostPort& primary_dns, const std::string& zone, int count, int warmup,
               std::chrono::milliseconds max_gap,
               const std::function<HttpResponse(const std::string& body)>& send_patch);
void RecordChanges(Figures& figures, Column column, const Row& row);

// ---- 2. Provisioning: zones created one by one as fast as the API answers; for each, the lag
// from its create call returning until every secondary serves it.
struct Provisioning {
  Row row;
  std::vector<std::string> zones;  // created and served by the primary
  std::vector<uint32_t> serials;   // the primary's serial of each
  double api_seconds = 0;          // creating all zones (API calls + reading the primary's serial)
  double total_seconds = 0;        // first create sent -> last zone served by every secondary
  int served = 0;
};
Provisioning RunProvisioning(const std::string& method, const std::vector<HostPort>& secondaries,
                             const HostPort& primary_dns, const std::vector<std::string>& zones,
                             const std::function<HttpResponse(const std::string& zone)>& create,
                             std::chrono::milliseconds settle_timeout = kProvisionSettleTimeout);
void RecordProvisioning(Figures& figures, Column column, const Provisioning& p, size_t requested);

// ---- 3. Bootstrap: from `start` until `server` serves every zone at the primary's serial.
struct Bootstrap {
  int served = 0;
  double seconds = 0;  // until the last zone was served
};
Bootstrap WaitServesAll(const HostPort& server, const std::vector<std::string>& zones,
                        const std::vector<uint32_t>& serials, Clock::time_point start,
                        std::chrono::milliseconds timeout = kBootstrapTimeout);
void RecordBootstrap(Figures& figures, Column column, const Bootstrap& b, size_t zones,
                     std::chrono::milliseconds timeout = kBootstrapTimeout);

// ---- 4. Deletion: from the DELETE call until no secondary answers the zone authoritatively
// (two failed SOA queries in a row); after `timeout` the zone counts as never removed.
Row RunDeletions(const std::string& method, const std::vector<HostPort>& secondaries,
                 const std::vector<std::string>& zones,
                 const std::function<HttpResponse(const std::string& zone)>& remove,
                 std::chrono::milliseconds timeout = kDeleteTimeout);
void RecordDeletions(Figures& figures, Column column, const Row& row,
                     std::chrono::milliseconds timeout = kDeleteTimeout);

// ---- 5. Sustained load: PATCHes at `rate`/s for `duration_s`, round-robin over `zones`, from
// 5 concurrent senders (one zone's PATCHes in order). Each change's lag runs until every
// secondary serves its serial or a later one; at the end every secondary must serve the
// primary's final serial of every zone (no change lost), waiting up to `settle`. Every one of
// the rate x duration PATCHes is sent, later than planned when calls are slower; with
// `stop_at_duration` the senders stop at the end of the duration instead (a rate beyond what
// the server answers then measures how fast it does).
struct Sustained {
  Row row;
  int sent = 0;
  int patch_failed = 0;
  double achieved_rate = 0;
  bool no_loss = false;
  std::string loss;
};
Sustained RunSustained(
    const std::string& method, const std::vector<HostPort>& secondaries,
    const HostPort& primary_dns, const std::vector<std::string>& zones, int rate, int duration_s,
    std::chrono::milliseconds settle,
    const std::function<HttpResponse(const std::string& zone, const std::string& body)>& patch,
    bool stop_at_duration = false);
void RecordSustained(Figures& figures, Column column, const Sustained& s, int rate);

}  // namespace pdnsd::bench
