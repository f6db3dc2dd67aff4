// A mixed fleet: our services against peers that reproduce the original Go services' wire
// behaviour (tests/support/original_peers.h), with real nats-server and PowerDNS.
//
// OriginalProvider*: our secondary-syncer with an original zone-provider, which sends no reply
// at all for a zone the primary does not have. The absence rule
// (src/services/secondary_syncer/absence_rule.h) must still delete a zone deleted on the
// primary, and never one the primary has.
//
// OriginalSyncer*: our zone-provider with an original syncer's endpoint, which serves zone_data
// verbatim as its AXFR answer to a real PowerDNS secondary.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/integration_helpers.h"
#include "model/messages.h"
#include "model/zone_name.h"
#include "support/cluster.h"
#include "support/original_peers.h"

namespace pdnsd::testing {
namespace {

using namespace std::chrono_literals;

// Long enough for a loaded machine, short enough that each silence costs little test time.
constexpr std::chrono::milliseconds kSyncerTimeout{1500};

class OriginalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.secondaries = 1;
    options.axfr_timeout = kSyncerTimeout;
    PDNSD_ASSERT_OK(cluster_.Start(options));
    // Our provider leaves; the original takes its place on zonedata.* (queue group "worker").
    cluster_.provider->Stop();
    cluster_.provider.reset();
    auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "original-provider"),
                            MakeTestLogger("original-provider"));
    PDNSD_ASSERT_OK(bus.status());
    provider_bus_ = std::move(*bus);
    PdnsApiOptions api;
    api.url = *ParseHttpUrl(cluster_.primary.api_url());
    api.api_key = cluster_.primary.api_key();
    original_ = std::make_unique<OriginalZoneProvider>(provider_bus_.get(),
                                                       cluster_.primary.dns_address(), api);
    PDNSD_ASSERT_OK(original_->Start());
    bus = Bus::Connect(TestBusOptions(cluster_.nats, "forger"), MakeTestLogger("forger"));
    PDNSD_ASSERT_OK(bus.status());
    forger_ = std::move(*bus);
  }
  void TearDown() override {
    original_.reset();
    provider_bus_.reset();
    forger_.reset();
  }

  // Creates `zone` through the proxy and waits until the secondary serves it.
  void CreateAndSync(const std::string& zone) {
    ASSERT_EQ(cluster_.CreateZone(zone, 1).status, 201);
    PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
  }

  // A delete event nobody made through the proxy.
  void ForgeDelete(const std::string& zone) {
    PDNSD_ASSERT_OK(
        forger_->Publish("zone.delete", EncodeZoneEvent({ZoneEventType::kDelete, zone, "", ""})));
    PDNSD_ASSERT_OK(forger_->Flush(5s));
  }

  // Waits until the syncer finished `more` failed reconciles after now.
  ::testing::AssertionResult WaitFailedReconciles(int more, std::chrono::milliseconds timeout) {
    const double target = Reconciles(cluster_, 0, "failed") + more;
    if (WaitFor([&] { return Reconciles(cluster_, 0, "failed") >= target; }, timeout, 50ms)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "only " << Reconciles(cluster_, 0, "failed")
                                         << " failed reconciles, waited for " << target;
  }

  Cluster cluster_;
  std::unique_ptr<Bus> provider_bus_;
  std::unique_ptr<OriginalZoneProvider> original_;
  std::unique_ptr<Bus> forger_;
};

TEST_F(OriginalProviderTest, OriginalProviderSyncsZonesToOurSyncer) {
  CreateAndSync("plain.example.");
  ASSERT_EQ(cluster_.SetARecord("plain.example.", "www.plain.example.", "192.0.2.9").status, 204);
  PDNSD_EXPECT_OK(
      cluster_.WaitAllServe("plain.example.", cluster_.PrimarySerial("plain.example.")));
  EXPECT_EQ(DigShort(cluster_.secondaries[0]->dns_address(), "www.plain.example.", "A"),
            "192.0.2.9");
  EXPECT_GT(original_->replies(), 0);
}

TEST_F(OriginalProviderTest, OriginalProviderSilenceForADeletedZoneDeletesItOnOurSyncer) {
  CreateAndSync("keep.example.");
  CreateAndSync("gone.example.");
  const int silences_before = original_->silences();
  ASSERT_EQ(cluster_.Proxy("DELETE", Cluster::ZonesPath("gone.example.")).status, 204);
  // Two confirmed silences: about 2 x (timeout + control + backoff).
  PDNSD_EXPECT_OK(cluster_.WaitAllAbsent("gone.example.", 60s));
  EXPECT_GT(original_->silences(), silences_before);  // it never said not_found
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "keep.example."));
  EXPECT_EQ(cluster_.ServedSerial(0, "keep.example."), cluster_.PrimarySerial("keep.example."));
  EXPECT_TRUE(WaitSyncersIdle(cluster_, 30s));
}

TEST_F(OriginalProviderTest, OriginalProviderForgedDeleteKeepsTheZone) {
  CreateAndSync("keep.example.");
  CreateAndSync("other.example.");
  const double deletes = EventsReceived(cluster_, 0, "delete");
  const double synced = Reconciles(cluster_, 0, "successful");
  ForgeDelete("keep.example.");
  ASSERT_TRUE(WaitFor([&] { return EventsReceived(cluster_, 0, "delete") > deletes; }, 10s));
  ASSERT_TRUE(WaitFor([&] { return Reconciles(cluster_, 0, "successful") > synced; }, 30s));
  EXPECT_TRUE(WaitSyncersIdle(cluster_, 30s));
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "keep.example."));
  EXPECT_EQ(cluster_.ServedSerial(0, "keep.example."), cluster_.PrimarySerial("keep.example."));
}

TEST_F(OriginalProviderTest, OriginalProviderDownKeepsTheZone) {
  CreateAndSync("keep.example.");
  CreateAndSync("other.example.");
  original_->Stop();  // no responders on zonedata.*
  ForgeDelete("keep.example.");
  EXPECT_TRUE(WaitFailedReconciles(3, 60s));
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "keep.example."));
  // Back: the zone is reconciled and stays.
  PDNSD_ASSERT_OK(original_->Start());
  EXPECT_TRUE(WaitSyncersIdle(cluster_, 60s));
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "keep.example."));
}

TEST_F(OriginalProviderTest, OriginalProviderSlowerThanTheSyncerKeepsTheZone) {
  CreateAndSync("keep.example.");
  CreateAndSync("other.example.");
  CreateAndSync("third.example.");
  // Every reply comes after the syncer stopped waiting: the zone and every control are silent.
  original_->SetReplyDelay(kSyncerTimeout * 2);
  ForgeDelete("keep.example.");
  EXPECT_TRUE(WaitFailedReconciles(3, 90s));
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "keep.example."));
  original_->SetReplyDelay(0ms);
  EXPECT_TRUE(WaitSyncersIdle(cluster_, 60s));
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "keep.example."));
}

TEST_F(OriginalProviderTest, OriginalProviderSilenceWithoutAnotherZoneNeverDeletes) {
  // The only zone held: nothing to check the provider with, so silence is never evidence.
  CreateAndSync("lone.example.");
  ASSERT_EQ(cluster_.Proxy("DELETE", Cluster::ZonesPath("lone.example.")).status, 204);
  EXPECT_TRUE(WaitFailedReconciles(3, 60s));
  EXPECT_TRUE(cluster_.SecondaryHasZone(0, "lone.example."));
}

// ---------------------------------------------------------------------------------------------

class OriginalSyncerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    options.secondaries = 1;
    PDNSD_ASSERT_OK(cluster_.Start(options));
    // The secondary's PowerDNS belongs to the original syncer from now on.
    cluster_.StopSyncer(0);
    auto bus = Bus::Connect(TestBusOptions(cluster_.nats, "original-syncer"),
                            MakeTestLogger("original-syncer"));
    PDNSD_ASSERT_OK(bus.status());
    bus_ = std::move(*bus);
    endpoint_ =
        std::make_unique<OriginalSyncerEndpoint>(bus_.get(), "zonedata.original-syncer", 3s);
    PDNSD_ASSERT_OK(endpoint_->Start());
  }
  void TearDown() override {
    endpoint_.reset();
    bus_.reset();
  }

  // POST .../zones as the original syncer creates a zone on its PowerDNS, then axfr-retrieve.
  void CreateOnSecondary(const std::string& zone) {
    const nlohmann::json body = {{"id", zone},
                                 {"name", zone},
                                 {"kind", "Slave"},
                                 {"masters", {endpoint_->address().ToString()}},
                                 {"nameservers", nlohmann::json::array()},
                                 {"soa_edit", "NONE"},
                                 {"soa_edit_api", "OFF"},
                                 {"presigned", true}};
    const PdnsServer& secondary = *cluster_.secondaries[0];
    HttpResponse created = secondary.Api("POST", Cluster::ZonesPath(), body.dump());
    ASSERT_EQ(created.status, 201) << created.body;
    HttpResponse retrieved = secondary.Api("PUT", Cluster::ZonesPath(zone) + "/axfr-retrieve");
    ASSERT_EQ(retrieved.status, 200) << retrieved.body;
  }

  Cluster cluster_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<OriginalSyncerEndpoint> endpoint_;
};

TEST_F(OriginalSyncerTest, OriginalSyncerServesOurZoneDataVerbatimAndPowerDnsTransfersIt) {
  const std::string zone = "verbatim.example.";
  const std::string rrsets =
      R"([{"name":"www.verbatim.example.","type":"A","ttl":60,"records":[{"content":"192.0.2.44","disabled":false}]},
          {"name":"verbatim.example.","type":"TXT","ttl":60,"records":[{"content":"\"hello world\"","disabled":false}]}])";
  ASSERT_EQ(cluster_.CreateZone(zone, 5, rrsets).status, 201);
  const uint32_t serial = cluster_.PrimarySerial(zone);
  ASSERT_NE(serial, 0u);
  CreateOnSecondary(zone);
  const HostPort secondary = cluster_.secondaries[0]->dns_address();
  EXPECT_TRUE(WaitFor([&] { return cluster_.ServedSerial(0, zone) == serial; }, 20s))
      << "served " << cluster_.ServedSerial(0, zone) << ", primary " << serial << "\n"
      << cluster_.secondaries[0]->LogTail(20);
  EXPECT_EQ(DigShort(secondary, "www.verbatim.example.", "A"), "192.0.2.44");
  EXPECT_EQ(DigShort(secondary, zone, "TXT"), "\"hello world\"");
  EXPECT_GE(endpoint_->transfers(), 1);
  EXPECT_EQ(endpoint_->crashes(), 0);
}

TEST_F(OriginalSyncerTest, OurProviderRepliesAsTheOriginalProvider) {
  // The original: only_soa -> zone_data is the SOA line alone; full -> every record of the AXFR,
  // the closing SOA included; dnssec_enabled = presigned_records = whether the zone is signed,
  // in both kinds of reply.
  ASSERT_EQ(cluster_.CreateZone("plain.example.", 3).status, 201);
  ASSERT_EQ(cluster_.CreateZone("signed.example.", 3, "[]", /*dnssec=*/true).status, 201);
  for (const auto& [zone, signed_zone] :
       {std::pair<std::string, bool>{"plain.example.", false}, {"signed.example.", true}}) {
    for (bool only_soa : {true, false}) {
      SCOPED_TRACE(zone + (only_soa ? " only_soa" : " full"));
      auto raw = bus_->Request("zonedata.original-syncer",
                               EncodeZoneDataRequest({zone, only_soa, ""}), 10s);
      PDNSD_ASSERT_OK(raw.status());
      auto reply = DecodeZoneDataReply(*raw);
      PDNSD_ASSERT_OK(reply.status());
      EXPECT_EQ(reply->zone, zone);
      EXPECT_EQ(reply->dnssec_enabled, signed_zone) << *raw;
      EXPECT_EQ(reply->presigned_records, signed_zone) << *raw;
      const std::vector<std::string> lines = SortedLines(reply->zone_data);
      const auto soas = std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.find("\tSOA\t") != std::string::npos;
      });
      if (only_soa) {
        ASSERT_EQ(lines.size(), 1u) << reply->zone_data;
        EXPECT_EQ(soas, 1);
      } else {
        EXPECT_EQ(soas, 2) << reply->zone_data;
      }
    }
  }
}

TEST_F(OriginalSyncerTest, OriginalSyncerGetsNoErrorReplyFromOurProvider) {
  // An error reply to an original syncer's SOA request would crash it: our provider stays
  // silent for a requester that does not say "accept_error_reply", as the original provider.
  const HostPort endpoint = endpoint_->address();
  DigShort(endpoint, "missing.example.", "SOA", "+tcp +time=5 +tries=1");
  EXPECT_EQ(endpoint_->crashes(), 0);
  // A zone the primary has: the SOA comes back (the original puts it in the authority section).
  ASSERT_EQ(cluster_.CreateZone("present.example.", 9).status, 201);
  const uint32_t serial = cluster_.PrimarySerial("present.example.");
  const std::string answer =
      RunCommand("dig +tcp +time=5 +tries=1 -p " + std::to_string(endpoint.port) + " @" +
                 endpoint.host + " present.example. SOA");
  EXPECT_NE(answer.find(std::to_string(serial)), std::string::npos) << answer;
  EXPECT_EQ(endpoint_->crashes(), 0);
}

}  // namespace
}  // namespace pdnsd::testing
