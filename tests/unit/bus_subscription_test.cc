// The shutdown contract of Subscription (src/bus/bus.h), against a real nats-server: its
// destructor never frees what a nats.c callback can still touch. Run under ASan, a handler that
// outlives the destruction of its Subscription's state is a heap-use-after-free report.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus.h"
#include "core/logging.h"
#include "support/processes.h"

namespace pdnsd {
namespace {

using std::chrono::milliseconds;

class SubscriptionLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.Start(testing::NatsOptions()).ok());
    BusOptions options;
    options.url = nats_.url();
    options.name = "lifetime";
    options.reconnect_wait = milliseconds(100);
    auto bus = Bus::Connect(options, MakeTestLogger("lifetime"));
    ASSERT_TRUE(bus.ok()) << bus.status().ToString();
    bus_ = std::move(*bus);
    ASSERT_TRUE(testing::WaitFor([&] { return bus_->IsConnected(); }, std::chrono::seconds(20)));
  }

  testing::NatsServer nats_;
  std::unique_ptr<Bus> bus_;
};

// A handler still running when its Subscription is destroyed — a slow PowerDNS during SIGTERM —
// and running longer than the destructor once waited (2 s): the destructor returns only after
// the handler has returned, and the handler's own state (its captures, kept in the
// subscription's state) is intact until then.
TEST_F(SubscriptionLifetimeTest, DestructorWaitsForARunningHandler) {
  std::atomic<bool> entered{false};
  std::atomic<bool> finished{false};
  std::atomic<size_t> seen{0};
  const std::string captured(1000, 'z');  // copied into the handler, freed with its state
  auto subscription = bus_->Subscribe("slow.handler", "", [&, captured](const BusMessage&) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::seconds(3));
    seen = captured.size() + static_cast<size_t>(captured.back() == 'z');
    finished = true;
  });
  ASSERT_TRUE(subscription.ok()) << subscription.status().ToString();
  ASSERT_TRUE(bus_->Flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(bus_->Publish("slow.handler", "x").ok());
  ASSERT_TRUE(testing::WaitFor([&] { return entered.load(); }, std::chrono::seconds(20)));
  subscription->reset();
  EXPECT_TRUE(finished) << "the destructor returned while the handler was still running";
  // Had it returned early, the handler would now read freed memory (ASan) before finishing.
  ASSERT_TRUE(testing::WaitFor([&] { return finished.load(); }, std::chrono::seconds(20)));
  EXPECT_EQ(seen, 1001u);
}

// A handler may destroy its own Subscription (nats.c allows closing a subscription from its
// handler): that must neither deadlock nor free the state under the running handler.
TEST_F(SubscriptionLifetimeTest, HandlerMayDestroyItsOwnSubscription) {
  std::unique_ptr<Subscription> own;
  std::atomic<bool> ready{false};
  std::atomic<bool> finished{false};
  const std::string captured(1000, 'q');
  auto subscription = bus_->Subscribe("self.destroy", "", [&, captured](const BusMessage&) {
    while (!ready) std::this_thread::sleep_for(milliseconds(1));
    own.reset();  // destroys the Subscription whose handler this is
    EXPECT_EQ(captured.size(), 1000u);
    finished = true;
  });
  ASSERT_TRUE(subscription.ok()) << subscription.status().ToString();
  own = std::move(*subscription);
  ready = true;
  ASSERT_TRUE(bus_->Flush(std::chrono::seconds(5)).ok());
  ASSERT_TRUE(bus_->Publish("self.destroy", "x").ok());
  ASSERT_TRUE(testing::WaitFor([&] { return finished.load(); }, std::chrono::seconds(20)));
  // The on-complete callback runs after the handler on the same delivery thread: give it the
  // chance to touch the state (ASan watches) before the Bus closes the connection.
  ASSERT_TRUE(bus_->Flush(std::chrono::seconds(5)).ok());
  std::this_thread::sleep_for(milliseconds(200));
}

// Requests on a subject with several responders: each request ends at the first reply, while
// nats.c's read thread is still taking in the others for the same reply inbox. nats.c 3.4 (the
// Debian package) looks a message's subscription up, lets go of its lock, copies the message
// and only then locks the subscription; a reply inbox destroyed in between had its mutex freed
// under the read thread (TSan: "use of an invalid mutex" in natsMutex_Lock, seen in CI's
// jetstream_cluster_test). Replies of 256 KB make that copy long enough to hit it.
TEST_F(SubscriptionLifetimeTest, RequestsAnsweredByManyNeverFreeWhatTheReadThreadUses) {
  const std::string reply(256 * 1024, 'r');
  std::vector<std::unique_ptr<Subscription>> responders;
  for (int i = 0; i < 4; ++i) {
    auto responder = bus_->Subscribe(
        "many.answer", "", [&](const BusMessage& request) { (void)bus_->Respond(request, reply); });
    ASSERT_TRUE(responder.ok()) << responder.status().ToString();
    responders.push_back(std::move(*responder));
  }
  ASSERT_TRUE(bus_->Flush(std::chrono::seconds(5)).ok());
  for (int i = 0; i < 400; ++i) {
    auto answer = bus_->Request("many.answer", "q", std::chrono::seconds(10));
    ASSERT_TRUE(answer.ok()) << i << ": " << answer.status().ToString();
    ASSERT_EQ(answer->size(), reply.size());
  }
  responders.clear();
}

// Subscriptions destroyed while messages for them keep arriving (a service stopping under
// load): the same race as above on the subscriptions of Subscribe(), whose memory the Bus frees
// only after a flush or the close (bus.cc, RetiredSubscriptions) — 200 of them, so that some
// are freed after a flush and the rest at the close.
TEST_F(SubscriptionLifetimeTest, SubscriptionsDestroyedUnderAFloodAreFreedSafely) {
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    const std::string payload(32 * 1024, 'f');
    while (!stop) {
      (void)bus_->Publish("flood", payload);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  int destroyed = 0;
  for (; destroyed < 200; ++destroyed) {
    std::atomic<bool> got{false};
    auto subscription = bus_->Subscribe("flood", "", [&](const BusMessage&) { got = true; });
    if (!subscription.ok()) break;
    if (!testing::WaitFor([&] { return got.load(); }, std::chrono::seconds(20))) break;
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(destroyed, 200) << "a subscription did not get its first message";
}

// A Bus closed while large messages for it are still arriving (a service stopping under load):
// nats.c 3.4 keeps a split message larger than its scratch buffer in a buffer it frees only when
// the message completes, so a close in the middle of one leaked it (LeakSanitizer, seen in CI).
// ~Bus flushes once every subscription is gone, so the close never comes mid-message; under
// ASan the leak check at exit of this test is the assertion.
TEST_F(SubscriptionLifetimeTest, ABusClosedWhileLargeMessagesArriveLeavesNoneHalfRead) {
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    const std::string payload(256 * 1024, 'b');
    while (!stop) {
      (void)bus_->Publish("big", payload);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  int closed = 0;
  for (; closed < 20; ++closed) {
    BusOptions options;
    options.url = nats_.url();
    options.name = "closing";
    auto bus = Bus::Connect(options, MakeTestLogger("closing"));
    if (!bus.ok()) break;
    if (!testing::WaitFor([&] { return (*bus)->IsConnected(); }, std::chrono::seconds(20))) break;
    std::atomic<int> got{0};
    auto subscription = (*bus)->Subscribe("big", "", [&](const BusMessage&) { ++got; });
    if (!subscription.ok()) break;
    if (!testing::WaitFor([&] { return got.load() >= 3; }, std::chrono::seconds(20))) break;
    subscription->reset();
    bus->reset();
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(closed, 20) << "a connection did not get its messages";
}

}  // namespace
}  // namespace pdnsd
