// The shipped broker permissions (config/nats-server.conf) with JetStream: the provider's user
// creates and writes the catalog; the syncer's and the health-checker's users read chunks but
// cannot write an entry or a chunk, purge, or change a stream (docs/architecture.md, "Broker
// permissions per role"; docs/operations.md). Binding and watching as the syncer does are in
// the syncer's own tests.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bus.h"
#include "bus/jetstream.h"
#include "distribution/catalog.h"
#include "distribution/zone_version.h"
#include "support/cluster.h"
#include "support/processes.h"
#include "support/shipped_broker.h"
#include "support/status_assertions.h"

namespace pdnsd::testing {
namespace {

using std::chrono::seconds;

class JetStreamPermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = ShippedBrokerConfig({"secondary-0"}, "");
    PDNSD_ASSERT_OK(config.status());
    PDNSD_ASSERT_OK(nats_.Start(NatsOptions().WithJetStream().WithConfig(*config)));
    options_.chunk_bytes = 4096;
    options_.timeout = std::chrono::milliseconds(2000);  // a denied request ends in a timeout
  }

  std::unique_ptr<Bus> As(const std::string& user) {
    auto bus = Bus::Connect(ShippedBrokerUser(nats_, user, ""), MakeTestLogger(user));
    EXPECT_TRUE(bus.ok()) << bus.status().ToString();
    if (!bus.ok()) return nullptr;
    EXPECT_TRUE(WaitFor([&] { return (*bus)->IsConnected(); }));
    return std::move(bus).value();
  }

  distribution::ZoneVersion Version(uint32_t serial) {
    std::string text = "example.org.\t3600\tIN\tSOA\tns1.example.net. h.example.net. " +
                       std::to_string(serial) + " 1 1 1 1\n";
    for (int i = 0; i < 500; ++i) {
      text += "h" + std::to_string(i) + ".example.org.\t60\tIN\tA\t192.0.2." +
              std::to_string(i % 250) + "\n";
    }
    texts_[serial] = text;
    auto version =
        distribution::BuildZoneVersion({.zone = "example.org.",
                                        .serial = serial,
                                        .version = distribution::ZoneCatalog::NewVersionId(),
                                        .text = texts_[serial]},
                                       options_.chunk_bytes);
    EXPECT_TRUE(version.ok()) << version.status().ToString();
    return std::move(version).value();
  }

  NatsServer nats_;
  distribution::CatalogOptions options_;
  std::map<uint32_t, std::string> texts_;
};

TEST_F(JetStreamPermissionsTest, ProviderWritesSyncerAndCheckerOnlyRead) {
  std::unique_ptr<Bus> provider_bus = As("provider");
  ASSERT_TRUE(provider_bus);
  auto provider = distribution::ZoneCatalog::Open(*provider_bus, options_);
  PDNSD_ASSERT_OK(StatusOf(provider));
  const distribution::ZoneVersion v1 = Version(1);
  auto r1 = (*provider)->Publish(v1, 0, "");
  PDNSD_ASSERT_OK(StatusOf(r1));

  for (const std::string user : {"syncer-secondary-0", "checker"}) {
    SCOPED_TRACE(user);
    std::unique_ptr<Bus> bus = As(user);
    ASSERT_TRUE(bus);
    auto jetstream = JetStream::Open(*bus, std::chrono::milliseconds(2000));
    PDNSD_ASSERT_OK(StatusOf(jetstream));
    // Reads: the chunk of the provider's version.
    auto chunk = (*jetstream)
                     ->GetLast(options_.stream, distribution::ChunkSubject(options_.chunk_prefix,
                                                                           v1.entry.version, 1));
    PDNSD_ASSERT_OK(StatusOf(chunk));
    EXPECT_EQ(chunk->data, v1.chunk(1));
    // No writes: neither a chunk nor a catalog entry, no purge, no change of a stream.
    EXPECT_FALSE((*jetstream)
                     ->Publish(distribution::ChunkSubject(options_.chunk_prefix, "forged", 1), "x")
                     .ok());
    EXPECT_FALSE((*jetstream)->Publish("$KV." + options_.bucket + ".example.org", "{}", *r1).ok());
    EXPECT_FALSE((*jetstream)->Purge(options_.stream, options_.chunk_prefix + ".>").ok());
    EXPECT_FALSE((*jetstream)
                     ->EnsureStream(StreamSpec{.name = options_.stream,
                                               .subjects = {options_.chunk_prefix + ".>"},
                                               .max_bytes = 1024})
                     .ok());
  }
  // The provider's version is intact.
  auto record = (*provider)->Get("example.org.");
  PDNSD_ASSERT_OK(StatusOf(record));
  EXPECT_EQ(record->revision, *r1);
  auto text = (*provider)->ReadText(record->entry);
  PDNSD_ASSERT_OK(StatusOf(text));
  EXPECT_EQ(*text, texts_[1]);
}

// The provider takes the broadcast zone events the proxy publishes (its catalog's input), and
// not the targeted ones meant for one syncer.
TEST_F(JetStreamPermissionsTest, ProviderReceivesTheProxysBroadcastEvents) {
  std::unique_ptr<Bus> provider_bus = As("provider");
  std::unique_ptr<Bus> proxy_bus = As("proxy");
  ASSERT_TRUE(provider_bus && proxy_bus);
  std::mutex mutex;
  std::vector<std::string> received;
  std::vector<std::unique_ptr<Subscription>> subscriptions;
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete"}) {
    auto subscription =
        provider_bus->Subscribe(subject, "zone-provider-catalog", [&](const BusMessage& message) {
          std::lock_guard lock(mutex);
          received.push_back(message.subject);
        });
    PDNSD_ASSERT_OK(StatusOf(subscription));
    subscriptions.push_back(std::move(subscription).value());
  }
  PDNSD_ASSERT_OK(provider_bus->Flush(seconds(5)));
  for (const char* subject : {"zone.add", "zone.modified", "zone.delete"}) {
    PDNSD_ASSERT_OK(proxy_bus->Publish(subject, R"({"zone":"example.org."})"));
  }
  PDNSD_ASSERT_OK(proxy_bus->Flush(seconds(5)));
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex);
    return received.size() == 3;
  })) << "the provider's user may not subscribe to the broadcast event subjects";
}

}  // namespace
}  // namespace pdnsd::testing
