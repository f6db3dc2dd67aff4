// Batch catalogs as tables (src/services/secondary_syncer/batch_catalog.h): their names, the
// zone text our endpoint serves (parsed back with ldns as PowerDNS reads it) and when a
// bootstrap takes the batch path.
#include "services/secondary_syncer/batch_catalog.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dns/wire.h"

namespace pdnsd {
namespace {

TEST(IsBatchCatalog, OnlyNamesUnderTheSuffix) {
  const struct {
    const char* zone;
    bool batch;
  } rows[] = {
      {"b1-0123456789abcdef.batch.pdns-distribute.invalid.", true},
      {"x.batch.pdns-distribute.invalid.", true},
      {"batch.pdns-distribute.invalid.", false},  // the suffix alone is no batch
      {".batch.pdns-distribute.invalid.", false},
      {"b1.batch.pdns-distribute.invalid", false},  // not normalised: never a batch
      {"example.org.", false},
      {"batch.pdns-distribute.invalid.example.", false},
      {"pdns-distribute.invalid.", false},
  };
  for (const auto& row : rows) EXPECT_EQ(IsBatchCatalog(row.zone), row.batch) << row.zone;
  EXPECT_TRUE(IsBatchCatalog(BatchCatalogName(7, "00ff00ff00ff00ff")));
  EXPECT_EQ(BatchCatalogName(7, "00ff00ff00ff00ff"),
            "b7-00ff00ff00ff00ff.batch.pdns-distribute.invalid.");
}

TEST(BatchCatalogText, IsAVersionTwoCatalogWithOnePtrPerMemberUnderAStableLabel) {
  const std::string catalog = BatchCatalogName(1, "abc");
  const std::vector<std::string> members = {"a.test.", "b.test.", "0/25.2.0.192.in-addr.arpa.",
                                            "xn--bcher-kva.example."};
  const std::string text = BatchCatalogText(catalog, members);
  std::istringstream lines(text);
  std::vector<dnswire::RrPtr> records;
  for (std::string line; std::getline(lines, line);) {
    ldns_rr* parsed = nullptr;
    ASSERT_EQ(ldns_rr_new_frm_str(&parsed, line.c_str(), 0, nullptr, nullptr), LDNS_STATUS_OK)
        << line;
    records.emplace_back(parsed);
  }
  ASSERT_EQ(records.size(), 3 + members.size()) << text;
  EXPECT_EQ(ldns_rr_get_type(records[0].get()), LDNS_RR_TYPE_SOA);  // first: the endpoint's rule
  EXPECT_EQ(dnswire::DnameToString(ldns_rr_owner(records[0].get())), catalog);
  EXPECT_EQ(ldns_rr_get_type(records[1].get()), LDNS_RR_TYPE_NS);
  EXPECT_EQ(dnswire::RrToString(records[2].get()), "version." + catalog + "\t0\tIN\tTXT\t\"2\"");
  std::set<std::string> labels;
  for (size_t i = 0; i < members.size(); ++i) {
    const ldns_rr* ptr = records[3 + i].get();
    ASSERT_EQ(ldns_rr_get_type(ptr), LDNS_RR_TYPE_PTR);
    EXPECT_EQ(dnswire::DnameToString(ldns_rr_rdf(ptr, 0)), members[i]);
    const std::string owner = dnswire::DnameToString(ldns_rr_owner(ptr));
    EXPECT_TRUE(owner.ends_with(".zones." + catalog)) << owner;
    labels.insert(owner.substr(0, owner.find('.')));
  }
  EXPECT_EQ(labels.size(), members.size()) << "unique labels";
  // A member has the same label in any batch (a digest of its name alone).
  const auto label_of = [](const std::string& catalog_text, const std::string& member) {
    const size_t ptr = catalog_text.find(" PTR " + member + "\n");
    const size_t line = catalog_text.rfind('\n', ptr) + 1;
    return catalog_text.substr(line, catalog_text.find('.', line) - line);
  };
  const std::string other = BatchCatalogText(BatchCatalogName(2, "def"), {"b.test.", "a.test."});
  EXPECT_EQ(label_of(other, "a.test."), label_of(text, "a.test."));
  EXPECT_NE(label_of(other, "a.test."), label_of(other, "b.test."));
  EXPECT_EQ(label_of(text, "a.test.").size(), 16u);
}

TEST(CreateAsBatch, ManyZonesWithoutTsigOnly) {
  const struct {
    size_t new_zones;
    size_t threshold;
    bool tsig;
    bool batch;
  } rows[] = {
      {0, 50, false, false},    {1, 50, false, false},    {49, 50, false, false},
      {50, 50, false, true},    {10000, 50, false, true}, {10000, 50, true, false},
      {10000, 0, false, false}, {1, 1, false, true},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(CreateAsBatch(row.new_zones, row.threshold, row.tsig), row.batch)
        << row.new_zones << " new, from " << row.threshold << ", tsig " << row.tsig;
  }
}

TEST(BatchTransferDeadline, GrowsWithTheBatch) {
  EXPECT_EQ(BatchTransferDeadline(0), std::chrono::seconds(10));
  EXPECT_EQ(BatchTransferDeadline(1000), std::chrono::seconds(20));
  EXPECT_EQ(BatchTransferDeadline(100000), std::chrono::seconds(1010));
}

}  // namespace
}  // namespace pdnsd
