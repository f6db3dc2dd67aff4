// Test peers that REPRODUCE the original Go services' wire behaviour where it differs from ours
// (nameserver-systems/pdns-distribute; read to match, never copied), built on the product's own
// bus and dns libraries. Tests of a mixed fleet run them against our services.
//
// OriginalZoneProvider (internal/app/pdns-zone-provider): replies only when every step worked —
// an SOA query (only_soa) or an AXFR from the primary, then a GET of the zone from the
// primary's API — and sends NO reply at all otherwise: a zone the primary does not have, a
// primary that is down, a request it cannot parse. zone_data holds every record of the AXFR in
// the order received, both SOAs included, joined by "\n" without a final newline;
// dnssec_enabled is the API's "dnssec" and presigned_records the same value.
//
// OriginalSyncerEndpoint (internal/app/pdns-secondary-syncer/primaryzoneprovider): the syncer's
// SOA/AXFR endpoint, over TCP. For AXFR it requests the zone (only_soa false, no
// accept_error_reply) and serves the records parsed from zone_data VERBATIM, all in one
// message, nothing added (no SOA of its own at either end), then closes the connection. For SOA
// it requests only_soa and puts the one record parsed from zone_data into the AUTHORITY section
// (miekg/dns Msg.Insert). zone_data that parses into no record there — what it makes of an
// error reply — dereferences a nil record in the original, which crashes the process: counted
// in crashes(). Other query types: REFUSED. No UDP (the tests only transfer).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bus/bus.h"
#include "core/net.h"
#include "core/status.h"
#include "core/worker_pool.h"
#include "pdns/api_client.h"

namespace pdnsd::testing {

class OriginalZoneProvider {
 public:
  // REQUIRES: bus outlives the provider.
  OriginalZoneProvider(Bus* bus, HostPort primary_dns, PdnsApiOptions primary_api);
  ~OriginalZoneProvider();  // calls Stop()

  // Subscribes to zonedata.* in queue group "worker", as the original.
  Status Start();
  // Unsubscribes (the provider is down: requests find no responders); pending replies are
  // dropped.
  void Stop();
  // Every reply is sent only after this long (a slow provider); 0 by default.
  void SetReplyDelay(std::chrono::milliseconds delay) { reply_delay_ms_ = delay.count(); }
  int replies() const { return replies_; }
  int silences() const { return silences_; }

 private:
  void Serve(const BusMessage& message);
  StatusOr<std::string> Payload(const std::string& data);

  Bus* bus_;
  HostPort primary_dns_;
  PdnsApiClient api_;
  std::unique_ptr<WorkerPool> workers_;  // the original runs a goroutine per request
  std::unique_ptr<Subscription> subscription_;
  std::atomic<long long> reply_delay_ms_{0};
  std::atomic<int> replies_{0};
  std::atomic<int> silences_{0};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(stop_mutex_)
};

class OriginalSyncerEndpoint {
 public:
  // Requests go to `zone_data_subject` ([ZoneDataTopics] Prefix + ID in the original) and wait
  // up to `request_timeout` (the original: 20 s). REQUIRES: bus outlives the endpoint.
  OriginalSyncerEndpoint(Bus* bus, std::string zone_data_subject,
                         std::chrono::milliseconds request_timeout = std::chrono::seconds(20));
  ~OriginalSyncerEndpoint();  // calls Stop()

  // Listens on 127.0.0.1, a free port.
  Status Start();
  void Stop();
  HostPort address() const { return address_; }
  int transfers() const { return transfers_; }  // AXFR answers written
  int crashes() const { return crashes_; }      // where the original would have crashed

 private:
  void AcceptLoop();
  void ServeConnection(int fd);
  // The zone_data of the provider's reply ("" when the reply has none, as Go decodes it).
  StatusOr<std::string> RequestZoneData(const std::string& zone, bool only_soa);

  Bus* bus_;
  std::string subject_;
  std::chrono::milliseconds request_timeout_;
  HostPort address_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::atomic<int> transfers_{0};
  std::atomic<int> crashes_{0};
};

}  // namespace pdnsd::testing
