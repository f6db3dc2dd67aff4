// DNSSEC end to end: key and metadata changes through the api-proxy are announced, a key added
// on the primary reaches the secondaries without a serial change, signed zones are served signed
// (and verifiable) by secondaries that hold no key material, and a signed zone far larger than
// one NATS message propagates.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/integration_helpers.h"
#include "support/cluster.h"

namespace pdnsd::testing {
namespace {

using nlohmann::json;

// `count` A rrsets h<i>.<zone> with addresses <net16>.<i / 256>.<i % 256>, as PATCH/POST rrsets.
json ARecords(const std::string& zone, int count, const std::string& net16) {
  json rrsets = json::array();
  for (int i = 0; i < count; ++i) {
    rrsets.push_back(
        {{"name", "h" + std::to_string(i) + "." + zone},
         {"type", "A"},
         {"ttl", 300},
         {"changetype", "REPLACE"},
         {"records",
          {{{"content", net16 + "." + std::to_string(i / 256) + "." + std::to_string(i % 256)},
            {"disabled", false}}}}});
  }
  return rrsets;
}

class DnssecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ClusterOptions options;
    // PowerDNS's default already allows loopback; spelled out because the test takes AXFRs
    // from the secondaries.
    options.secondary_config = {"allow-axfr-ips=127.0.0.0/8,::1"};
    PDNSD_ASSERT_OK(cluster_.Start(options));
  }

  // The zone as `dig AXFR` shows it from `server`: records only (no comments), without the
  // closing SOA. Empty when the transfer failed.
  static std::vector<std::string> Axfr(const HostPort& server, const std::string& zone) {
    const std::string out = RunCommand("dig +nocmd +nostats +nocomments +time=10 +tries=1 -p " +
                                       std::to_string(server.port) + " @" + server.host + " " +
                                       ShellQuote(zone) + " AXFR");
    std::vector<std::string> records;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == ';') continue;
      records.push_back(line);
    }
    if (records.size() < 2) return {};
    records.pop_back();  // an AXFR ends with the SOA again
    return records;
  }

  // The records of `records` whose type is not `type`, sorted (dig's columns: name ttl class type).
  static std::vector<std::string> WithoutType(const std::vector<std::string>& records,
                                              const std::string& type) {
    std::string kept;
    for (const auto& record : records) {
      std::istringstream fields(record);
      std::string name, ttl, klass, rtype;
      fields >> name >> ttl >> klass >> rtype;
      if (rtype != type) kept += record + "\n";
    }
    return SortedLines(kept);
  }

  // Creates signed `zone` with `records` A records, changes its keys twice within one
  // wall-clock second and PATCHes it right after: the PATCH reaches both secondaries.
  void PatchRightAfterKeyChange(const std::string& zone, int records);

  // Successful reconciles of each syncer so far.
  std::vector<double> SuccessfulReconciles() {
    std::vector<double> counts;
    for (size_t i = 0; i < cluster_.syncers.size(); ++i) {
      counts.push_back(Reconciles(cluster_, i, "successful"));
    }
    return counts;
  }

  // Waits until syncer `i` finished a successful reconcile after `before[i]` (it then reports
  // the zone in sync), then asks secondary `i` at once for `name` A with DNSSEC records: the
  // first answer after the sync. Returns the answers, one per secondary ("" if the syncer
  // never reported).
  std::vector<std::string> FirstSignedAnswersAfterSync(const std::vector<double>& before,
                                                       const std::string& name) {
    std::vector<std::string> answers(cluster_.secondaries.size());
    std::vector<bool> done(answers.size(), false);
    WaitFor(
        [&] {
          bool all = true;
          for (size_t i = 0; i < answers.size(); ++i) {
            if (done[i]) continue;
            if (Reconciles(cluster_, i, "successful") > before[i]) {
              answers[i] = DigShort(cluster_.secondaries[i]->dns_address(), name, "A", "+dnssec");
              done[i] = true;
            } else {
              all = false;
            }
          }
          return all;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(1));
    return answers;
  }

  // Lists the zones of every secondary through its API, over and over, until destroyed: what
  // zone-state requests (the health-checker's) make the syncers do. Each listing reads every
  // zone's metadata through PowerDNS's zone-metadata cache, so one that falls inside a
  // transfer's transaction caches the old PRESIGNED flag.
  class ZoneListReaders {
   public:
    explicit ZoneListReaders(const Cluster& cluster) {
      for (const auto& secondary : cluster.secondaries) {
        threads_.emplace_back([this, server = secondary.get()] {
          while (!stop_) {
            server->Api("GET", Cluster::ZonesPath());
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
        });
      }
    }
    ~ZoneListReaders() {
      stop_ = true;
      for (auto& thread : threads_) thread.join();
    }

   private:
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
  };

  // Whether the secondary's PowerDNS takes `zone` for signed: its API's `dnssec` flag, read
  // through the same zone-metadata cache (PRESIGNED) as its answers.
  static bool SecondaryTakesSigned(const PdnsServer& secondary, const std::string& zone) {
    const HttpResponse r = secondary.Api("GET", Cluster::ZonesPath(zone) + "?rrsets=false");
    const auto doc = json::parse(r.body, nullptr, false);
    return doc.is_object() && doc.value("dnssec", false);
  }

  Cluster cluster_;
};

TEST_F(DnssecTest, MetadataAndCryptokeyChangesPublishChangeEvents) {
  EventCounter events;
  PDNSD_ASSERT_OK(events.Start(cluster_.nats, "zone.modified"));
  const std::string zone = "meta.example.";
  const std::string sentinel = "sentinel.example.";
  ASSERT_EQ(cluster_.CreateZone(zone, 1).status, 201);
  ASSERT_EQ(cluster_.CreateZone(sentinel, 1).status, 201);
  const std::string path = Cluster::ZonesPath(zone);

  int expected = 0;
  auto expect_event = [&](const char* what, const HttpResponse& response) {
    ASSERT_GE(response.status, 200) << what << ": " << response.body;
    ASSERT_LT(response.status, 300) << what << ": " << response.body;
    ++expected;
    EXPECT_TRUE(WaitFor([&] { return events.Count(zone) >= expected; }, std::chrono::seconds(10)))
        << what << " published no change event (" << events.Count(zone) << " of " << expected
        << ")";
  };

  expect_event("POST metadata", cluster_.Proxy("POST", path + "/metadata",
                                               R"({"kind":"X-PDNSD-TEST","metadata":["one"]})"));
  expect_event("PUT metadata/X-PDNSD-TEST",
               cluster_.Proxy("PUT", path + "/metadata/X-PDNSD-TEST",
                              R"({"kind":"X-PDNSD-TEST","metadata":["two"]})"));
  expect_event("DELETE metadata/X-PDNSD-TEST",
               cluster_.Proxy("DELETE", path + "/metadata/X-PDNSD-TEST"));

  const HttpResponse added =
      cluster_.Proxy("POST", path + "/cryptokeys",
                     R"({"keytype":"csk","active":true,"algorithm":"ECDSAP256SHA256"})");
  expect_event("POST cryptokeys", added);
  const auto key = json::parse(added.body, nullptr, false);
  ASSERT_TRUE(key.is_object() && key.contains("id")) << added.body;
  const std::string key_path = path + "/cryptokeys/" + std::to_string(key["id"].get<int>());
  expect_event("PUT cryptokeys/{id}", cluster_.Proxy("PUT", key_path, R"({"active":false})"));
  expect_event("DELETE cryptokeys/{id}", cluster_.Proxy("DELETE", key_path));

  // Reads change nothing and announce nothing. The proxy publishes in request order on one
  // connection, so once the sentinel's event is here, any event for `zone` would be too.
  EXPECT_EQ(cluster_.Proxy("GET", path + "/metadata").status, 200);
  EXPECT_EQ(cluster_.Proxy("GET", path + "/cryptokeys").status, 200);
  EXPECT_EQ(cluster_.Proxy("GET", path).status, 200);
  // A failed change (no such key) announces nothing either.
  EXPECT_EQ(cluster_.Proxy("DELETE", path + "/cryptokeys/999999").status / 100, 4);
  ASSERT_EQ(cluster_.SetARecord(sentinel, "www." + sentinel, "192.0.2.1").status, 204);
  ASSERT_TRUE(WaitFor([&] { return events.Count(sentinel) >= 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(events.Count(zone), expected);
}

TEST_F(DnssecTest, KeyAddedThroughProxyIsServedBySecondaries) {
  const std::string zone = "keys.example.";
  ASSERT_EQ(cluster_
                .CreateZone(zone, 2026010101,
                            R"([{"name":"www.keys.example.","type":"A","ttl":60,
                                     "changetype":"REPLACE",
                                     "records":[{"content":"192.0.2.20","disabled":false}]}])",
                            /*dnssec=*/true)
                .status,
            201);
  const uint32_t serial = cluster_.ServedSerial(-1, zone);
  ASSERT_NE(serial, 0u);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, serial));
  const std::vector<std::string> old_keys = ServedDnskeys(cluster_.primary.dns_address(), zone);
  ASSERT_FALSE(old_keys.empty());
  for (auto& secondary : cluster_.secondaries) {
    // Also puts the old set into the secondaries' packet caches, as resolvers would.
    EXPECT_EQ(ServedDnskeys(secondary->dns_address(), zone), old_keys);
  }

  const auto added_at = std::chrono::steady_clock::now();
  const HttpResponse added =
      cluster_.Proxy("POST", Cluster::ZonesPath(zone) + "/cryptokeys",
                     R"({"keytype":"zsk","active":true,"algorithm":"ECDSAP256SHA256"})");
  ASSERT_EQ(added.status, 201) << added.body;
  const auto key = json::parse(added.body, nullptr, false);
  ASSERT_TRUE(key.is_object() && key.contains("dnskey")) << added.body;
  const std::string new_dnskey = key["dnskey"].get<std::string>();

  // The primary's new set as its API lists it: every published key.
  const HttpResponse listed = cluster_.Proxy("GET", Cluster::ZonesPath(zone) + "/cryptokeys");
  ASSERT_EQ(listed.status, 200) << listed.body;
  std::string published;
  for (const auto& k : json::parse(listed.body)) {
    if (k.value("published", true)) published += k.value("dnskey", "") + "\n";
  }
  const std::vector<std::string> new_keys = SortedLines(published);
  ASSERT_EQ(new_keys.size(), old_keys.size() + 1) << listed.body;
  EXPECT_NE(std::find(new_keys.begin(), new_keys.end(), new_dnskey), new_keys.end());

  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    std::vector<std::string> seen;
    EXPECT_TRUE(WaitFor(
        [&] {
          seen = ServedDnskeys(cluster_.secondaries[i]->dns_address(), zone);
          return seen == new_keys;
        },
        std::chrono::seconds(30)))
        << "secondary" << i << " serves " << ::testing::PrintToString(seen) << " instead of "
        << ::testing::PrintToString(new_keys);
    EXPECT_EQ(cluster_.ServedSerial(static_cast<int>(i), zone), serial);
  }
  std::cout << "new DNSKEY set served by both secondaries "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - added_at)
                   .count()
            << " ms after the POST" << std::endl;

  // The primary serves the same set (once its own packet cache lets it: flush it) and the
  // serial has not moved.
  const HttpResponse flushed =
      cluster_.Proxy("PUT", "/api/v1/servers/localhost/cache/flush?domain=" + zone);
  EXPECT_EQ(flushed.status, 200) << flushed.body;
  std::vector<std::string> primary_keys;
  EXPECT_TRUE(WaitFor(
      [&] {
        primary_keys = ServedDnskeys(cluster_.primary.dns_address(), zone);
        return primary_keys == new_keys;
      },
      std::chrono::seconds(30)))
      << "the primary serves " << ::testing::PrintToString(primary_keys);
  EXPECT_EQ(cluster_.ServedSerial(-1, zone), serial) << "a key change should not move the serial";
}

TEST_F(DnssecTest, SignedZoneIsServedSignedWithoutKeyMaterial) {
  const std::string zone = "signed.example.";
  ASSERT_EQ(cluster_
                .CreateZone(zone, 7,
                            R"([{"name":"www.signed.example.","type":"A","ttl":60,
                                     "changetype":"REPLACE",
                                     "records":[{"content":"192.0.2.30","disabled":false}]},
                                    {"name":"mail.signed.example.","type":"MX","ttl":60,
                                     "changetype":"REPLACE",
                                     "records":[{"content":"10 mx.signed.example.","disabled":false}]},
                                    {"name":"mx.signed.example.","type":"AAAA","ttl":60,
                                     "changetype":"REPLACE",
                                     "records":[{"content":"2001:db8::30","disabled":false}]},
                                    {"name":"txt.signed.example.","type":"TXT","ttl":60,
                                     "changetype":"REPLACE",
                                     "records":[{"content":"\"hello\"","disabled":false}]}])",
                            /*dnssec=*/true)
                .status,
            201);
  const uint32_t serial = cluster_.ServedSerial(-1, zone);
  ASSERT_NE(serial, 0u);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, serial));

  const std::vector<std::string> primary_axfr = Axfr(cluster_.primary.dns_address(), zone);
  ASSERT_FALSE(primary_axfr.empty());
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    PdnsServer& secondary = *cluster_.secondaries[i];
    SCOPED_TRACE("secondary" + std::to_string(i));
    const std::vector<std::string> axfr = Axfr(secondary.dns_address(), zone);
    ASSERT_FALSE(axfr.empty()) << "no AXFR from the secondary";
    // The same data as the primary's (signatures aside: ECDSA signatures differ per signing).
    EXPECT_EQ(WithoutType(axfr, "RRSIG"), WithoutType(primary_axfr, "RRSIG"));
    EXPECT_LT(WithoutType(axfr, "RRSIG").size(), axfr.size()) << "the transfer has no RRSIG";

    // The signatures verify and the NSEC chain is complete.
    std::string file_text;
    for (const auto& record : axfr) file_text += record + "\n";
    const std::string file = cluster_.state_dir.File("axfr-" + std::to_string(i) + ".zone");
    PDNSD_ASSERT_OK(WriteFile(file, file_text));
    int code = -1;
    const std::string verified =
        RunCommand("ldns-verify-zone " + ShellQuote(file) + " 2>&1", &code);
    EXPECT_EQ(code, 0) << verified << "\n" << file_text;

    // Answers are signed.
    const std::string answer =
        DigShort(secondary.dns_address(), "www.signed.example.", "A", "+dnssec");
    EXPECT_NE(answer.find("192.0.2.30"), std::string::npos) << answer;
    EXPECT_NE(answer.find("A 13 3 60"), std::string::npos) << "no RRSIG in the answer: " << answer;

    // No key material on the secondary: not through its API, not in its database.
    const HttpResponse keys = secondary.Api("GET", Cluster::ZonesPath(zone) + "/cryptokeys");
    EXPECT_EQ(keys.status, 200) << keys.body;
    const auto doc = json::parse(keys.body, nullptr, false);
    EXPECT_TRUE(doc.is_array() && doc.empty()) << keys.body;
    int sql_code = -1;
    EXPECT_EQ(secondary.Sql("select count(*) from cryptokeys", &sql_code), "0\n");
    EXPECT_EQ(sql_code, 0);
  }
}

// PowerDNS's stock zone-metadata-cache-ttl (60 s) caches a zone's PRESIGNED flag: a secondary
// that learnt of it only from the transfer served the zone unsigned for up to a minute. The
// API cannot set the flag before the transfer, so the syncer purges the zone-metadata cache
// after a commit that changed the zone's DNSSEC state: the first answer after it reports the
// zone in sync is signed (this fixture runs PowerDNS with stock settings).
TEST_F(DnssecTest, NewSignedZoneIsSignedFromTheFirstAnswerAfterSync) {
  const std::string zone = "fresh.example.";
  const std::vector<double> before = SuccessfulReconciles();
  ZoneListReaders readers(cluster_);
  ASSERT_EQ(cluster_
                .CreateZone(zone, 1,
                            R"([{"name":"www.fresh.example.","type":"A","ttl":60,
                                 "changetype":"REPLACE",
                                 "records":[{"content":"192.0.2.40","disabled":false}]}])",
                            /*dnssec=*/true)
                .status,
            201);
  const std::vector<std::string> answers = FirstSignedAnswersAfterSync(before, "www." + zone);
  for (size_t i = 0; i < answers.size(); ++i) {
    SCOPED_TRACE("secondary" + std::to_string(i));
    EXPECT_NE(answers[i].find("192.0.2.40"), std::string::npos) << answers[i];
    EXPECT_NE(answers[i].find("A 13 3 60"), std::string::npos)
        << "first answer after the sync has no RRSIG: " << answers[i];
    EXPECT_TRUE(SecondaryTakesSigned(*cluster_.secondaries[i], zone));
  }
}

// A zone that turns DNSSEC on (a key added) is signed from the first answer after the sync,
// and unsigned again from the first answer after its keys are removed.
TEST_F(DnssecTest, ZoneTurningDnssecOnAndOffIsServedAccordinglyFromTheFirstAnswer) {
  const std::string zone = "toggle.example.";
  const std::string name = "www." + zone;
  ASSERT_EQ(cluster_
                .CreateZone(zone, 1,
                            R"([{"name":"www.toggle.example.","type":"A","ttl":60,
                                 "changetype":"REPLACE",
                                 "records":[{"content":"192.0.2.50","disabled":false}]}])")
                .status,
            201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  for (auto& secondary : cluster_.secondaries) {
    // Resolvers ask meanwhile: the unsigned answer and the zone's metadata are cached.
    const std::string answer = DigShort(secondary->dns_address(), name, "A", "+dnssec");
    EXPECT_EQ(answer, "192.0.2.50");
    EXPECT_FALSE(SecondaryTakesSigned(*secondary, zone));
  }

  ZoneListReaders readers(cluster_);
  std::vector<double> before = SuccessfulReconciles();
  const HttpResponse added =
      cluster_.Proxy("POST", Cluster::ZonesPath(zone) + "/cryptokeys",
                     R"({"keytype":"csk","active":true,"algorithm":"ECDSAP256SHA256"})");
  ASSERT_EQ(added.status, 201) << added.body;
  const auto key = json::parse(added.body, nullptr, false);
  ASSERT_TRUE(key.is_object() && key.contains("id")) << added.body;
  std::vector<std::string> answers = FirstSignedAnswersAfterSync(before, name);
  for (size_t i = 0; i < answers.size(); ++i) {
    SCOPED_TRACE("signed, secondary" + std::to_string(i));
    EXPECT_NE(answers[i].find("192.0.2.50"), std::string::npos) << answers[i];
    EXPECT_NE(answers[i].find("A 13 3 60"), std::string::npos)
        << "first answer after the sync has no RRSIG: " << answers[i];
    EXPECT_TRUE(SecondaryTakesSigned(*cluster_.secondaries[i], zone));
  }
  ASSERT_TRUE(WaitSyncersIdle(cluster_));

  before = SuccessfulReconciles();
  const HttpResponse removed = cluster_.Proxy(
      "DELETE", Cluster::ZonesPath(zone) + "/cryptokeys/" + std::to_string(key["id"].get<int>()));
  ASSERT_EQ(removed.status, 204) << removed.body;
  answers = FirstSignedAnswersAfterSync(before, name);
  for (size_t i = 0; i < answers.size(); ++i) {
    SCOPED_TRACE("unsigned again, secondary" + std::to_string(i));
    EXPECT_EQ(answers[i], "192.0.2.50") << "first answer after the sync still signed";
    EXPECT_EQ(DigShort(cluster_.secondaries[i]->dns_address(), zone, "DNSKEY"), "");
    EXPECT_FALSE(SecondaryTakesSigned(*cluster_.secondaries[i], zone));
  }
}

// A key change does not move the serial, so the syncer learns of its commit only from the
// zone's last_check, which has one-second resolution: a second transfer within the same second
// leaves it unchanged and the reconcile had to wait out 1.1 s, holding back the zone's next
// change. Now a zone marked again ends that wait (the next reconcile transfers and flushes
// after its own commit), so a PATCH right after a key change is not held back.
TEST_F(DnssecTest, PatchRightAfterKeyChangeIsNotHeldBack) {
  PatchRightAfterKeyChange("quick.example.", 0);
}

// The same for a zone whose commit takes long enough that the next reconcile's axfr-retrieve
// arrives while PowerDNS still commits the key change's transfer, and is dropped: it is asked
// again, instead of waiting out AXFRTimeout and failing.
TEST_F(DnssecTest, PatchRightAfterKeyChangeOfLargeZoneIsNotHeldBack) {
  PatchRightAfterKeyChange("large.example.", 800);
}

void DnssecTest::PatchRightAfterKeyChange(const std::string& zone, int records) {
  const json rrsets = ARecords(zone, records, "10.1");
  ASSERT_EQ(cluster_.CreateZone(zone, 1, rrsets.dump(), /*dnssec=*/true).status, 201);
  PDNSD_ASSERT_OK(cluster_.WaitAllServe(zone, cluster_.PrimarySerial(zone)));
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  const auto commit_waits = [&](size_t i, const char* outcome) {
    return CounterValue(*cluster_.syncer_registries[i], "secondarysyncer_commit_waits_total",
                        {{"outcome", outcome}});
  };
  std::vector<double> assumed_before, superseded_before, failed_before;
  for (size_t i = 0; i < cluster_.syncers.size(); ++i) {
    failed_before.push_back(Reconciles(cluster_, i, "failed"));
    assumed_before.push_back(commit_waits(i, "assumed"));
    superseded_before.push_back(commit_waits(i, "superseded"));
  }
  const auto add_key = [&] {
    const HttpResponse added =
        cluster_.Proxy("POST", Cluster::ZonesPath(zone) + "/cryptokeys",
                       R"({"keytype":"zsk","active":true,"algorithm":"ECDSAP256SHA256"})");
    ASSERT_EQ(added.status, 201) << added.body;
  };
  // Two key changes in one wall-clock second: the second one's transfer leaves last_check as
  // the first one's commit set it.
  const auto now = std::chrono::system_clock::now();
  std::this_thread::sleep_until(std::chrono::ceil<std::chrono::seconds>(now) +
                                std::chrono::milliseconds(20));
  std::vector<double> before = SuccessfulReconciles();
  add_key();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (size_t i = 0; i < before.size(); ++i) {
          if (Reconciles(cluster_, i, "successful") <= before[i]) return false;
        }
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(2)));
  add_key();
  const auto patched_at = std::chrono::steady_clock::now();
  ASSERT_EQ(cluster_.SetARecord(zone, "www." + zone, "192.0.2.60").status, 204);
  const uint32_t serial = cluster_.PrimarySerial(zone);
  PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, serial));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - patched_at);
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    SCOPED_TRACE("secondary" + std::to_string(i));
    EXPECT_EQ(DigShort(cluster_.secondaries[i]->dns_address(), "www." + zone, "A"), "192.0.2.60");
    // The key change's reconcile ended as committed or superseded, never by running out,
    // and no reconcile failed (a dropped retrieve would have timed out).
    EXPECT_EQ(commit_waits(i, "assumed"), assumed_before[i]);
    EXPECT_EQ(Reconciles(cluster_, i, "failed"), failed_before[i]);
  }
  ASSERT_TRUE(WaitSyncersIdle(cluster_));
  std::cout << zone << " (" << records
            << " extra records): PATCH after a key change served by both secondaries after "
            << took.count() << " ms; key-change waits superseded: "
            << commit_waits(0, "superseded") - superseded_before[0] << " + "
            << commit_waits(1, "superseded") - superseded_before[1] << ", retrieves repeated: "
            << CounterValue(*cluster_.syncer_registries[0],
                            "secondarysyncer_retrieves_repeated_total")
            << " + "
            << CounterValue(*cluster_.syncer_registries[1],
                            "secondarysyncer_retrieves_repeated_total")
            << std::endl;
}

TEST_F(DnssecTest, LargeSignedZonePropagates) {
  const std::string zone = "big.example.";
  constexpr int kRecords = 5000;
  const json rrsets = ARecords(zone, kRecords, "10.0");
  const HttpResponse created = cluster_.CreateZone(zone, 1, rrsets.dump(), /*dnssec=*/true);
  ASSERT_EQ(created.status, 201) << created.body.substr(0, 500);
  const uint32_t serial = cluster_.ServedSerial(-1, zone);
  ASSERT_NE(serial, 0u);

  const std::vector<std::string> primary_axfr = Axfr(cluster_.primary.dns_address(), zone);
  size_t bytes = 0;
  for (const auto& record : primary_axfr) bytes += record.size() + 1;
  std::cout << zone << ": " << primary_axfr.size() << " records, " << bytes << " bytes as text"
            << std::endl;
  EXPECT_GT(bytes, 1024u * 1024u) << "the zone should exceed one NATS message";

  const auto start = std::chrono::steady_clock::now();
  PDNSD_EXPECT_OK(cluster_.WaitAllServe(zone, serial, std::chrono::seconds(120)));
  std::cout << "served by both secondaries after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
                   .count()
            << " ms" << std::endl;
  for (size_t i = 0; i < cluster_.secondaries.size(); ++i) {
    PdnsServer& secondary = *cluster_.secondaries[i];
    SCOPED_TRACE("secondary" + std::to_string(i));
    EXPECT_EQ(DigShort(secondary.dns_address(), "h4321.big.example.", "A"), "10.0.16.225");
    EXPECT_EQ(DigShort(secondary.dns_address(), "h0.big.example.", "A"), "10.0.0.0");
    EXPECT_EQ(DigShort(secondary.dns_address(), "h4999.big.example.", "A"), "10.0.19.135");
    // Every record arrived, not just the first chunks.
    const HttpResponse full = secondary.Api("GET", Cluster::ZonesPath(zone));
    ASSERT_EQ(full.status, 200);
    const auto doc = json::parse(full.body, nullptr, false);
    ASSERT_TRUE(doc.is_object() && doc.contains("rrsets"));
    int a_rrsets = 0;
    for (const auto& rrset : doc["rrsets"]) {
      if (rrset.value("type", "") == "A") ++a_rrsets;
    }
    EXPECT_EQ(a_rrsets, kRecords);
  }
}

}  // namespace
}  // namespace pdnsd::testing
