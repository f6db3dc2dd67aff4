#include <gtest/gtest.h>

#include "services/api_proxy/routes.h"

namespace pdnsd {
namespace {

std::optional<ZoneEventType> EventOf(const char* method, const char* target) {
  auto match = ClassifyRoute(method, target);
  EXPECT_TRUE(match.ok()) << method << " " << target << ": " << match.status().ToString();
  return match.ok() ? match->event : std::nullopt;
}

TEST(ApiProxyRoutes, ZoneMutationsCauseEvents) {
  const char* zones = "/api/v1/servers/localhost/zones";
  EXPECT_EQ(EventOf("POST", zones), ZoneEventType::kAdd);
  EXPECT_EQ(EventOf("GET", zones), std::nullopt);
  const std::string z = std::string(zones) + "/example.org.";
  EXPECT_EQ(EventOf("PATCH", z.c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("PUT", z.c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("DELETE", z.c_str()), ZoneEventType::kDelete);
  EXPECT_EQ(EventOf("GET", z.c_str()), std::nullopt);
  EXPECT_EQ(EventOf("PUT", (z + "/rectify").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("POST", (z + "/metadata").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("PUT", (z + "/metadata/ALLOW-AXFR-FROM").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("DELETE", (z + "/metadata/ALLOW-AXFR-FROM").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("GET", (z + "/metadata").c_str()), std::nullopt);
  EXPECT_EQ(EventOf("POST", (z + "/cryptokeys").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("PUT", (z + "/cryptokeys/3").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("DELETE", (z + "/cryptokeys/3").c_str()), ZoneEventType::kChange);
  EXPECT_EQ(EventOf("PUT", (z + "/notify").c_str()), std::nullopt);
  EXPECT_EQ(EventOf("GET", "/api/v1/servers/localhost/statistics"), std::nullopt);
  EXPECT_EQ(EventOf("POST", "/api/v1/servers/localhost/zones?rrsets=false"), ZoneEventType::kAdd);
}

// Every route of docs/architecture.md's event table, and the API routes next to them that cause
// no event (PowerDNS 4.7's pdns/ws-auth.cc registers them all).
TEST(ApiProxyRoutes, EveryDocumentedRoute) {
  struct Row {
    const char* method;
    const char* path;  // after /api/v1/servers/localhost
    std::optional<ZoneEventType> event;
    const char* zone;  // "" when the route names none in its path
  };
  const std::optional<ZoneEventType> none;
  const Row rows[] = {
      {"POST", "/zones", ZoneEventType::kAdd, ""},
      {"GET", "/zones", none, ""},
      {"PUT", "/zones/example.org.", ZoneEventType::kChange, "example.org."},
      {"PATCH", "/zones/example.org.", ZoneEventType::kChange, "example.org."},
      {"DELETE", "/zones/example.org.", ZoneEventType::kDelete, "example.org."},
      {"GET", "/zones/example.org.", none, "example.org."},
      {"POST", "/zones/example.org.", none, "example.org."},
      {"PUT", "/zones/example.org./rectify", ZoneEventType::kChange, "example.org."},
      {"PATCH", "/zones/example.org./rectify", none, "example.org."},
      {"PUT", "/zones/example.org./rectify/x", none, "example.org."},
      {"POST", "/zones/example.org./metadata", ZoneEventType::kChange, "example.org."},
      {"GET", "/zones/example.org./metadata", none, "example.org."},
      {"DELETE", "/zones/example.org./metadata", none, "example.org."},
      {"PUT", "/zones/example.org./metadata/X-A", ZoneEventType::kChange, "example.org."},
      {"DELETE", "/zones/example.org./metadata/X-A", ZoneEventType::kChange, "example.org."},
      {"GET", "/zones/example.org./metadata/X-A", none, "example.org."},
      {"POST", "/zones/example.org./metadata/X-A", none, "example.org."},
      {"PUT", "/zones/example.org./metadata/X-A/more", none, "example.org."},
      {"POST", "/zones/example.org./cryptokeys", ZoneEventType::kChange, "example.org."},
      {"GET", "/zones/example.org./cryptokeys", none, "example.org."},
      {"PUT", "/zones/example.org./cryptokeys/3", ZoneEventType::kChange, "example.org."},
      {"DELETE", "/zones/example.org./cryptokeys/3", ZoneEventType::kChange, "example.org."},
      {"GET", "/zones/example.org./cryptokeys/3", none, "example.org."},
      {"PUT", "/zones/example.org./notify", none, "example.org."},
      {"PUT", "/zones/example.org./axfr-retrieve", none, "example.org."},
      {"GET", "/zones/example.org./export", none, "example.org."},
      {"DELETE", "/zones/example.org.//", ZoneEventType::kDelete, "example.org."},
      {"PUT", "/zones/example.org./cache/flush", none, "example.org."},
      {"PUT", "/cache/flush?domain=example.org.", none, ""},
      {"GET", "/config", none, ""},
      {"POST", "/tsigkeys", none, ""},
  };
  for (const Row& row : rows) {
    const std::string target = std::string("/api/v1/servers/localhost") + row.path;
    auto match = ClassifyRoute(row.method, target);
    ASSERT_TRUE(match.ok()) << row.method << " " << target << ": " << match.status().ToString();
    EXPECT_EQ(match->event, row.event) << row.method << " " << target;
    EXPECT_EQ(match->zone, row.zone) << row.method << " " << target;
    EXPECT_EQ(match->zone_from_body,
              std::string_view(row.path) == "/zones" && std::string_view(row.method) == "POST")
        << row.method << " " << target;
  }
  // Another server id and a query string change nothing.
  EXPECT_EQ(EventOf("DELETE", "/api/v1/servers/other/zones/example.org.?x=1"),
            ZoneEventType::kDelete);
  EXPECT_EQ(EventOf("DELETE", "/api/v2/servers/localhost/zones/example.org."), std::nullopt);
}

TEST(ApiProxyRoutes, ZoneIdIsDecodedAndNormalised) {
  auto match =
      ClassifyRoute("PATCH", "/api/v1/servers/localhost/zones/0=2F25.2.0.192.IN-addr.arpa.");
  ASSERT_TRUE(match.ok());
  EXPECT_EQ(match->zone, "0/25.2.0.192.in-addr.arpa.");
  auto no_dot = ClassifyRoute("DELETE", "/api/v1/servers/localhost/zones/Example.org");
  EXPECT_EQ(no_dot->zone, "example.org.");
}

TEST(ApiProxyRoutes, InvalidZoneInPathIsRejected) {
  EXPECT_FALSE(ClassifyRoute("PATCH", "/api/v1/servers/localhost/zones/a..b.").ok());
  EXPECT_FALSE(ClassifyRoute("GET", "/api/v1/servers/localhost/zones/a%0Ab.org.").ok());
  EXPECT_FALSE(
      ClassifyRoute("DELETE",
                    ("/api/v1/servers/localhost/zones/" + std::string(64, 'x') + ".org.").c_str())
          .ok());
  EXPECT_FALSE(ClassifyRoute("PUT", "/api/v1/servers/localhost/zones/bad=Z1.org.").ok());
}

TEST(ApiProxyRoutes, ZoneNameFromBody) {
  EXPECT_EQ(*ZoneNameFromBody(R"({"name":"New.Example.","kind":"Native"})"), "new.example.");
  EXPECT_FALSE(ZoneNameFromBody("{").ok());
  EXPECT_FALSE(ZoneNameFromBody(R"({"kind":"Native"})").ok());
  EXPECT_FALSE(ZoneNameFromBody(R"({"name":"a..b."})").ok());
  EXPECT_FALSE(ZoneNameFromBody(R"({"name":7})").ok());
}

TEST(ApiProxyRoutes, QueryParametersOfTheChangesRoutes) {
  struct Row {
    const char* target;
    const char* name;
    std::optional<std::string> value;  // nullopt: absent
    bool ok;
  };
  const Row rows[] = {
      {"/changes/abc", "wait", std::nullopt, true},
      {"/changes/abc?wait=5", "wait", "5", true},
      {"/changes?zone=example.org.&limit=3", "zone", "example.org.", true},
      {"/changes?zone=example.org.&limit=3", "limit", "3", true},
      {"/changes?zone=ex%41mple%2eorg", "zone", "exAmple.org", true},
      {"/changes?zone", "zone", "", true},
      {"/changes?zonex=1", "zone", std::nullopt, true},
      {"/changes?a=1&zone=b&zone=c", "zone", "b", true},  // the first wins
      {"/changes?zone=a%2", "zone", std::nullopt, false},
      {"/changes?zone=a%zz", "zone", std::nullopt, false},
  };
  for (const Row& row : rows) {
    auto value = QueryParameter(row.target, row.name);
    ASSERT_EQ(value.ok(), row.ok) << row.target;
    if (row.ok) {
      EXPECT_EQ(*value, row.value) << row.target;
    }
  }
}

TEST(ApiProxyRoutes, ChangeWaitIsSecondsUpToTenMinutes) {
  using std::chrono::milliseconds;
  EXPECT_EQ(*ParseChangeWait("0"), milliseconds(0));
  EXPECT_EQ(*ParseChangeWait("30"), milliseconds(30000));
  EXPECT_EQ(*ParseChangeWait("0.5"), milliseconds(500));
  EXPECT_EQ(*ParseChangeWait("1.25"), milliseconds(1250));
  EXPECT_EQ(*ParseChangeWait("600"), milliseconds(600000));
  for (const char* bad : {"", "601", "-1", "1e3", "abc", ".5", "1.", "5s", "99999999999999"}) {
    EXPECT_FALSE(ParseChangeWait(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pdnsd
