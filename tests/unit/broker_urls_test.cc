// SplitBrokerUrls (src/bus/bus.h): the [MessageBroker] URL list as nats.c gets it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus/bus.h"

namespace pdnsd {
namespace {

TEST(SplitBrokerUrls, ListsAreSplitAndTrimmed) {
  const struct {
    std::string input;
    std::vector<std::string> urls;
  } cases[] = {
      {"nats://127.0.0.1:4222", {"nats://127.0.0.1:4222"}},
      {"nats://a:4222,nats://b:4222,nats://c:4222",
       {"nats://a:4222", "nats://b:4222", "nats://c:4222"}},
      {" nats://a:4222 ,\tnats://b:4222 ", {"nats://a:4222", "nats://b:4222"}},
      {"nats://user:pw@[::1]:4222,tls://b:4222", {"nats://user:pw@[::1]:4222", "tls://b:4222"}},
  };
  for (const auto& c : cases) {
    auto urls = SplitBrokerUrls(c.input);
    ASSERT_TRUE(urls.ok()) << c.input << ": " << urls.status().ToString();
    EXPECT_EQ(*urls, c.urls) << c.input;
  }
}

TEST(SplitBrokerUrls, EmptyListsAndEntriesAreRefused) {
  for (const std::string input : {"", "  ", "nats://a:4222,", ",nats://a:4222", "a,,b", "a, ,b"}) {
    auto urls = SplitBrokerUrls(input);
    ASSERT_FALSE(urls.ok()) << "\"" << input << "\"";
    EXPECT_EQ(urls.status().code(), StatusCode::kInvalidArgument) << input;
  }
}

}  // namespace
}  // namespace pdnsd
