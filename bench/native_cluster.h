// PowerDNS's own replication for propagation_bench: a primary that sends NOTIFYs to its
// secondaries (also-notify), secondaries that AXFR on NOTIFY or at their refresh cycle, new
// zones provisioned with catalog zones (a Producer on the primary, a Consumer on each
// secondary). Profiles differ only in pdns.conf lines.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/net.h"
#include "core/status.h"
#include "support/processes.h"

namespace pdnsd::bench {

using testing::HeldPort;
using testing::HttpResponse;
using testing::PdnsOptions;
using testing::PdnsServer;

struct NativeProfile {
  std::string name;
  std::vector<std::string> primary;    // besides also-notify and kPrimaryRequired
  std::vector<std::string> secondary;  // besides kSecondaryRequired and kSecondaryCommon
};

// The secondaries of both systems share these pdns.conf lines (fairness).
extern const std::vector<std::string> kSecondaryCommon;
// Needed for replication to work at all (the zones' NS names do not resolve), in every profile.
extern const std::vector<std::string> kPrimaryRequired;
extern const std::vector<std::string> kSecondaryRequired;

NativeProfile BestTuned();  // 1 s cycles, more retrieval threads: the ratio column
NativeProfile Spinning();   // 0 s cycles: lowest latency, spins a core per server
NativeProfile Defaults();   // nothing beyond what replication needs

// One primary and its secondaries, all pdns_server processes on 127.0.0.1.
class NativeCluster {
 public:
  explicit NativeCluster(NativeProfile p);
  ~NativeCluster();

  // `count` secondaries now, plus `spare` whose ports the primary's also-notify names already
  // (so that a secondary added later gets NOTIFYs like the others).
  Status Start(int count, int spare);
  // Starts the next spare secondary.
  Status AddSecondary();
  std::vector<HostPort> SecondaryAddresses() const;
  std::vector<PdnsServer*> SecondaryServers() const;
  // The API path of `zone`.
  static std::string ZonePath(const std::string& zone);
  // A zone on `server`: kind `kind` (Slave or Consumer), masters = the primary, retrieved now.
  Status AddOn(PdnsServer& server, const std::string& zone, const std::string& kind);
  Status AddOnSecondaries(const std::string& zone, const std::string& kind);
  // The catalog: a Producer on the primary, a Consumer on each secondary.
  Status SetUpCatalog(const std::string& catalog);
  // A member zone of `catalog` on the primary with `records` A records.
  HttpResponse CreateMember(const std::string& zone, const std::string& catalog, int records);

  NativeProfile profile;
  // Set before Start(): the primary on PostgreSQL (gpgsql) instead of sqlite3.
  std::optional<testing::PgsqlDatabase> primary_gpgsql;
  PdnsServer primary;
  std::vector<std::unique_ptr<PdnsServer>> secondaries;

 private:
  PdnsOptions SecondaryOptions(int i, uint16_t dns_port, uint16_t api_port) const;

  std::vector<std::pair<uint16_t, uint16_t>> ports_;  // DNS, API of each secondary
  // Two per secondary (DNS, API), held until it starts: FreePort alone does not hold a port, and
  // a spare secondary started minutes later could find its port taken by a poller's socket.
  std::vector<std::unique_ptr<HeldPort>> held_;
};

}  // namespace pdnsd::bench
